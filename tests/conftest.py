import os
import sys
from pathlib import Path

# One torch thread for the whole run, before torch is first imported. The app switches the process to one
# thread on its first run (attnrec.app.session.use_one_torch_thread) and training toggles it (device.single_cpu_thread);
# float32 sums round differently with the thread count, so without this a number computed here and the same
# number computed by an AppTest page would agree or not depending on which tests ran earlier. Subprocesses
# (CLI, the browser tests' server) inherit it. OMP_NUM_THREADS set by the caller is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Never the repository's workspace/ (tests must not write inside the checkout): a temporary one for the run,
# inherited by subprocesses, and a fresh one per test below for what runs in this process (AppTest pages).
import tempfile  # noqa: E402

os.environ["ATTNREC_WORKSPACE"] = tempfile.mkdtemp(prefix="attnrec-test-workspace-")
os.environ["ATTNREC_CACHE_DIR"] = tempfile.mkdtemp(prefix="attnrec-test-cache-")  # attnrec.quality_store's cache

import pytest  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# AppTest does not put the app's folder on sys.path; pages import attnrec from here.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# A download button in an AppTest run stores its bytes in a MemoryMediaFileStorage of the run's mock runtime, which
# nothing references once the run ends; tests read them back through gc.get_objects() (test_injection.csv_download,
# test_page_data.downloaded). The latest few are kept alive here, so whether one is still found does not depend on
# when the garbage collector last ran (or on what a page's own functions happen to keep referenced).
from collections import deque  # noqa: E402

from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage  # noqa: E402

_RECENT_MEDIA_STORAGES: deque = deque(maxlen=8)
_media_storage_init = MemoryMediaFileStorage.__init__


def _kept_media_storage_init(self, *args, **kwargs):
    _media_storage_init(self, *args, **kwargs)
    _RECENT_MEDIA_STORAGES.append(self)


MemoryMediaFileStorage.__init__ = _kept_media_storage_init  # type: ignore[method-assign]

THREADS = torch.get_num_threads()  # OMP_NUM_THREADS's count (any form torch reads), kept for every test


@pytest.fixture(autouse=True, scope="module")
def _module_workspace(tmp_path_factory):
    """Module-scoped fixtures (an AppTest kept across a file's tests) save into a workspace of their module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ATTNREC_WORKSPACE", str(tmp_path_factory.mktemp("module-workspace")))
        yield


@pytest.fixture(autouse=True)
def _own_workspace(tmp_path, monkeypatch):
    """Each test saves datasets and models in a workspace of its own (attnrec.workspace)."""
    monkeypatch.setenv("ATTNREC_WORKSPACE", str(tmp_path / "workspace"))


@pytest.fixture(autouse=True)
def _same_torch_state_for_every_test():
    """Each test starts from the same torch state whatever ran before it: the global generator seeded
    (pytest-randomly reseeds `random` and numpy, not torch) and the thread count a test may have changed put back."""
    torch.manual_seed(0)
    yield
    if torch.get_num_threads() != THREADS:
        torch.set_num_threads(THREADS)

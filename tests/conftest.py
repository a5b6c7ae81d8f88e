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

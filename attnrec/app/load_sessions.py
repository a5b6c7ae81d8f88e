"""Many Explore sessions at once on one shared (st.cache_resource) model, as AppTests in one process: the
harness of benchmarks/load.py (the timings) and tests/test_concurrency.py (that no session sees another's pair).

Each session is its own Streamlit AppTest (its own session state and URL), all in one process, so they share
the cached dataset and model exactly as browser sessions served by one `streamlit run` do. Each reruns Explore,
alternating a new pair (a link asking for another user/item: cache miss) and a plain rerun (cache hit).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXPLORE = str(ROOT / "app_pages" / "explore.py")


@dataclass
class SessionResult:
    session: int
    rerun_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mixups: list[str] = field(default_factory=list)  # pairs shown that this session did not ask for


def _shown_pair(at) -> tuple[str | None, str | None]:
    def first(key):  # AppTest keeps each URL parameter as a list of values
        values = at.query_params[key] if key in at.query_params else None
        return values[0] if isinstance(values, list) and values else values

    return first("user"), first("item")


def _score_shown(at) -> float | None:
    value = next((m.value for m in at.metric if m.label == "S (score)"), None)
    return None if value is None else float(value)


def run_session(
    index: int,
    pairs: list[tuple[str, str]],
    reruns: int,
    method: str,
    start: threading.Barrier,
    expected_s: dict | None = None,
    setup: Callable[[Any], None] | None = None,
) -> SessionResult:
    """One session: open Explore, then rerun it `reruns` times; record times, errors and mix-ups."""
    from streamlit.testing.v1 import AppTest

    result = SessionResult(index)
    at = AppTest.from_file(EXPLORE, default_timeout=300)
    if setup is not None:
        setup(at)
    at.query_params["method"] = method
    user, item = pairs[index % len(pairs)]
    at.query_params["user"], at.query_params["item"] = user, item
    start.wait()
    for rerun in range(reruns + 1):
        if rerun and rerun % 2 == 1:  # every other rerun asks for a new pair, like a clicked row
            user, item = pairs[(index + rerun * 7) % len(pairs)]
            at.query_params["user"], at.query_params["item"] = user, item
        tick = time.perf_counter()
        try:
            at.run()
        except Exception as error:  # a timeout or a crash of the runner itself
            where = traceback.extract_tb(error.__traceback__)[-3:]
            result.errors.append(
                f"rerun {rerun}: {type(error).__name__}: {error} at "
                + " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(where))
            )
            continue
        elapsed = time.perf_counter() - tick
        if rerun:  # the first run is the session's cold open, not a rerun
            result.rerun_seconds.append(elapsed)
        result.errors += [f"rerun {rerun}: {e.message}" for e in at.exception]
        result.errors += [f"rerun {rerun}: {e.value}" for e in at.error]
        if _shown_pair(at) != (user, item):
            result.mixups.append(f"rerun {rerun}: asked for {(user, item)}, URL shows {_shown_pair(at)}")
        if expected_s is not None:
            shown = _score_shown(at)
            if shown is None or abs(shown - expected_s[(user, item)]) > 6e-5:
                result.mixups.append(
                    f"rerun {rerun}: S shown {shown} but {(user, item)} scores {expected_s[(user, item)]:.4f}"
                )
    return result


@contextmanager
def one_server_runtime() -> Iterator[None]:
    """Make concurrent AppTests behave like sessions of one server, for the duration of the block.

    AppTest was built for one session at a time: every run installs its own mock Runtime in a global
    (and sets it back to None when done, under any other session still running), switches the global
    config option "global.appTest" on and back off around each run (so widgets of a session still
    running stop registering what AppTest needs), and compiles the page afresh (CPython 3.11's compiler
    is not safe to run from several threads at once). A `streamlit run` server has one Runtime, one
    config and one script cache for all sessions; this gives the AppTests the same, and puts
    everything back afterwards.
    """
    from contextlib import nullcontext
    from unittest.mock import MagicMock

    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
    from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.runtime.runtime import Runtime
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test as app_test_module

    shared = MagicMock(spec=Runtime)
    shared.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    shared.dataframe_source_mgr = DataframeSourceManager()
    shared.cache_storage_manager = MemoryCacheStorageManager()
    # One registry of Streamlit v2 components for all sessions, as a server has (Explore's charts are one:
    # attnrec.app.plotly_view); a MagicMock registry would hand the page a mock component definition.
    shared.bidi_component_registry = BidiComponentManager()
    one_cache, lock = ScriptCache(), threading.Lock()
    original_bytecode = ScriptCache.get_bytecode
    saved = {name: Runtime.__dict__[name] for name in ("instance", "exists")}

    def shared_bytecode(self, script_path):
        with lock:
            return original_bytecode(one_cache, script_path)

    patch_config = app_test_module.patch_config_options
    # Patched for the block and put back after (mypy: assigning to methods is the point here).
    Runtime.instance = classmethod(lambda cls: shared)  # type: ignore[method-assign,assignment]
    Runtime.exists = classmethod(lambda cls: True)  # type: ignore[method-assign,assignment]
    ScriptCache.get_bytecode = shared_bytecode  # type: ignore[method-assign,assignment]
    # Config set once, for the whole block.
    app_test_module.patch_config_options = lambda options: nullcontext()  # type: ignore[assignment,return-value]
    try:
        with patch_config({"global.appTest": True}):
            yield
    finally:
        for name, value in saved.items():
            setattr(Runtime, name, value)
        ScriptCache.get_bytecode = original_bytecode  # type: ignore[method-assign,assignment]
        app_test_module.patch_config_options = patch_config


def run_load(
    sessions: int,
    reruns: int,
    method: str,
    pairs: list[tuple[str, str]],
    expected_s: dict | None = None,
    setup: Callable[[Any], None] | None = None,
) -> list[SessionResult]:
    start = threading.Barrier(sessions)
    with one_server_runtime(), ThreadPoolExecutor(sessions) as pool:
        futures = [
            pool.submit(run_session, i, pairs, reruns, method, start, expected_s, setup) for i in range(sessions)
        ]
        return [f.result() for f in futures]


def default_pairs(count: int = 40) -> tuple[list[tuple[str, str]], dict]:
    """Pairs of the sidebar's default model (the first shipped checkpoint), and the S of each."""
    from attnrec.data import load_dataset
    from attnrec.model import Recommender

    folder = sorted(p for p in (ROOT / "sample_data" / "models").iterdir() if (p / "config.json").exists())[0]
    dataset = load_dataset("restaurants")
    model = Recommender.load(folder, device="cpu", dataset=dataset)
    positives = dataset.positives.drop_duplicates(["user_id", "item_id"]).head(count)
    pairs = list(zip(positives["user_id"].astype(str), positives["item_id"].astype(str)))
    scores = model.score([u for u, _ in pairs], [i for _, i in pairs])
    return pairs, {(u, i): float(s) for u, i, s in zip(scores.user_id, scores.item_id, scores.s)}

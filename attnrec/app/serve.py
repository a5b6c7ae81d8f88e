"""`attnrec app`: serve the Streamlit app with its heavy libraries already imported.

`streamlit run app.py` imports nothing of the app until the first browser connects, so the first visitor waits
for torch, pandas, Plotly's figure classes and attnrec itself (~1.3 s of CPU on an idle 2-core machine, several
seconds under load) and for the default dataset and model to load before the first number can appear.
`attnrec app [streamlit options] [-- --workspace DIR]` does that work once, before the server starts listening,
then hands over to Streamlit's own `streamlit run` (the same server, options and config). Every visitor after the
first gains nothing from it: the modules stay imported and the dataset and model cached in the server process
either way. The warm-up changes no result: it imports modules, builds one throw-away figure of each kind the
first page draws (Plotly validates its template once per process; `attnrec.figures.style`), marks Streamlit's
once-per-process "is this `streamlit run`?" check done (it is), and loads the sidebar's default dataset and its
first shipped model through the app's own `st.cache_resource` loaders, which are shared by the whole process (a
broken sample is left for the page to report).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["APP_SCRIPT", "WARM_MODULES", "warm_up", "warm_default_view", "main"]

APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"

# What a first page view imports, heaviest first (torch alone is ~70 % of it). Captum and scipy are left out on
# purpose: the first view does not need them (they are imported when an attribution is first asked for).
WARM_MODULES = (
    "torch",
    "pandas",
    "pyarrow",
    "plotly.graph_objects",
    "attnrec.model",
    "attnrec.data",
    "attnrec.figures",
    "attnrec.figures.pair",
    "attnrec.app.sidebar",
    "attnrec.app.caches",
    "attnrec.app.explore_views",
    "attnrec.app.plotly_view",
    "attnrec.app.pickers",
    "attnrec.app.widgets",
    "attnrec.exports",
    "attnrec.health",
)


def warm_up() -> float:
    """Import WARM_MODULES, draw one small figure of each kind Explore shows and find the plotly.js chunk its
    charts load (`plotly_view.plotly_chunk` reads the 4.7 MB file once: ~60 ms of the first visitor's first run);
    returns the seconds taken."""
    start = time.perf_counter()
    with _quiet():
        for name in WARM_MODULES:
            importlib.import_module(name)
    import numpy as np

    from attnrec.figures import attention_heatmap, contribution_heatmap, entropy_bars
    from attnrec.figures.pair import readable_heatmap

    readable_heatmap(attention_heatmap(np.full((1, 2), 0.5), ["a", "b"]))
    readable_heatmap(contribution_heatmap(np.ones((1, 2)), ["a", "b"], 2.0))
    entropy_bars(np.full((1, 2), 0.5))
    from attnrec.app import plotly_view

    plotly_view.plotly_chunk()
    _streamlit_run_checked()
    warm_default_view()
    return time.perf_counter() - start


def _streamlit_run_checked() -> None:
    """Streamlit checks, when a process draws its first element, whether it runs outside `streamlit run` (to print
    a hint). The check is `inspect.stack()`, which resolves the source file of every frame's module: ~100 ms of the
    first visitor's first run once torch is loaded. `attnrec app` is `streamlit run`, so the check can only answer
    no: it is marked done here (on a Streamlit without that flag nothing changes)."""
    from streamlit import delta_generator

    if isinstance(getattr(delta_generator, "_use_warning_has_been_displayed", None), bool):
        delta_generator._use_warning_has_been_displayed = True


def warm_default_view() -> str | None:
    """Load the first built-in dataset on disk and its first checkpoint (what the sidebar opens with, from the same
    `session` lists) on the default device into the app's process-wide caches; returns "dataset/model", or None
    when there is none or it does not load (the page then loads it, and reports a problem, as without it)."""
    from attnrec.app import session
    from attnrec.device import resolve_device

    builtins = session.builtin_datasets()
    if not builtins:
        return None
    name = builtins[0]
    try:
        with _quiet():
            session.load_builtin_dataset(name)
            models = session.checkpoint_names(name)  # the sidebar's list for the dataset, without session models
            if not models:
                return name
            session.load_model(session.all_checkpoints()[models[0]]["path"], str(resolve_device("auto")))
        return f"{name}/{models[0]}"
    except Exception:  # noqa: BLE001 — a broken sample is the page's to report, with its own message
        return None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No warnings logged meanwhile: Streamlit's caches warn that no browser session is running (none is yet)."""
    previous = logging.root.manager.disable
    logging.disable(max(previous, logging.WARNING))
    try:
        yield
    finally:
        logging.disable(previous)


def main(argv: list[str] | None = None) -> int:
    """Warm up, then run `streamlit run app.py` with `argv` (Streamlit's options, then `--` and the app's)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not APP_SCRIPT.is_file():
        print(
            f"attnrec app: error: {APP_SCRIPT} not found; run the app from a checkout of attnrec (pip install -e .)",
            file=sys.stderr,
        )
        return 2
    if "-h" in args or "--help" in args:  # Streamlit's own help for its options; nothing to warm up for that
        print(
            "usage: attnrec app [streamlit run options] [-- --workspace DIR]\n"
            "Serves app.py with its libraries, default dataset and model loaded first. Streamlit's options:\n",
            file=sys.stderr,
        )
    else:
        seconds = warm_up()
        # Everything warmed up stays for the server's life: leave it out of Python's full collections, which would
        # otherwise scan it (~350,000 objects) now and then during a click (~280 ms each; after this ~50 ms).
        gc.freeze()
        print(f"attnrec app: ready in {seconds:.1f} s; starting Streamlit", file=sys.stderr, flush=True)
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", "run", str(APP_SCRIPT), *args]
    try:
        streamlit_cli.main(prog_name="streamlit")  # Streamlit's click command: exits the process itself
    except SystemExit as done:
        return int(done.code or 0) if isinstance(done.code, int | None) else 1
    return 0

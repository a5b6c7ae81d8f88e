"""`attnrec app`: serve the Streamlit app with its heavy libraries already imported.

`streamlit run app.py` imports nothing of the app until the first browser connects, so the first visitor waits
for torch, pandas, Plotly's figure classes and attnrec itself (~1.3 s of CPU on an idle 2-core machine, several
seconds under load) before the first number can appear. `attnrec app [streamlit options] [-- --workspace DIR]`
does that work once, before the server starts listening, then hands over to Streamlit's own `streamlit run`
(the same server, options and config). Every visitor after the first gains nothing from it: the modules stay
imported in the server process either way. What the warm-up imports changes no result: it only imports modules
and builds one throw-away figure of each kind the first page draws (Plotly validates its template once per
process; `attnrec.figures.style`).
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

__all__ = ["APP_SCRIPT", "WARM_MODULES", "warm_up", "main"]

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
    "attnrec.app.pickers",
    "attnrec.app.widgets",
    "attnrec.exports",
    "attnrec.health",
)


def warm_up() -> float:
    """Import WARM_MODULES and draw one small figure of each kind Explore shows; returns the seconds taken."""
    start = time.perf_counter()
    for name in WARM_MODULES:
        importlib.import_module(name)
    import numpy as np

    from attnrec.figures import attention_heatmap, contribution_heatmap, entropy_bars
    from attnrec.figures.pair import readable_heatmap

    readable_heatmap(attention_heatmap(np.full((1, 2), 0.5), ["a", "b"]))
    readable_heatmap(contribution_heatmap(np.ones((1, 2)), ["a", "b"], 2.0))
    entropy_bars(np.full((1, 2), 0.5))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Warm up, then run `streamlit run app.py` with `argv` (Streamlit's options, then `--` and the app's)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not APP_SCRIPT.is_file():
        print(
            f"attnrec app: error: {APP_SCRIPT} not found; run the app from a checkout of attnrec (pip install -e .)",
            file=sys.stderr,
        )
        return 2
    seconds = warm_up()
    print(f"attnrec app: libraries imported in {seconds:.1f} s; starting Streamlit", file=sys.stderr, flush=True)
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", "run", str(APP_SCRIPT), *args]
    try:
        streamlit_cli.main()  # Streamlit's click command: exits the process itself
    except SystemExit as done:
        return int(done.code or 0) if isinstance(done.code, int | None) else 1
    return 0

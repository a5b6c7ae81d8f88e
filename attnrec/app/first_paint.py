"""The answer first on a fresh browser (app layer): a session's first view of Explore is S, P(like) and the rank,
and the tables and charts follow once the browser has drawn them.

Streamlit's frontend puts a view on screen only when it has loaded the code of every kind of element in the view.
On a fresh browser that is most of a first visit's downloads (the data grid's ~1.6 MB and the chart component's),
and they arrive while the server runs the first script: the answer waited ~0.4 s for code it does not use
(`benchmarks/cold_start.py`). `answer_first` ends a session's first view after the answer, with a small
component (`first_paint.js`) whose script runs once that view is on screen and then asks for the rest: the
rerun it starts draws the whole page, and the component starts loading the charts' plotly.js meanwhile. Nothing
of the page's numbers or state changes; the whole view is drawn no later than before (sooner, by that prefetch).

Only a browser draws, so only a session opened by one (its request named a User-Agent) waits for the signal;
AppTest and the load harness get the whole view at once. If the signal never came (a script blocked), the next
rerun of any kind draws everything: a session waits at most once.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import streamlit as st

from attnrec.app import plotly_view

__all__ = ["answer_first"]

COMPONENT = "attnrec_first_paint"
_JS = Path(__file__).with_name("first_paint.js")
_STATE = "attnrec_first_paint_done"  # set on a session's first view: later runs draw everything


@functools.cache
def _component() -> Any:
    return st.components.v2.component(COMPONENT, js=_JS.read_text(encoding="utf-8"), isolate_styles=False)


def _browser() -> bool:
    """Whether this session was opened by a browser (one that will paint the view and run the component)."""
    try:
        return bool(st.context.headers.get("User-Agent"))
    except Exception:  # noqa: BLE001 — no request behind this session (bare mode): nothing will paint
        return False


def answer_first(container: Any) -> bool:
    """Call right after the answer is drawn. True on a browser session's first view: the caller stops there (the
    component in `container` asks for the rest once the answer is on screen); False on every other run."""
    if st.session_state.get(_STATE) or not _browser():
        return False
    st.session_state[_STATE] = True
    with container:
        _component()(key=COMPONENT, data={"chunk": plotly_view.plotly_chunk()}, on_painted_change=lambda: None)
        st.caption("Drawing the tables and charts…")
    return True

"""The answer first on a fresh browser (app layer): a session's first view of Explore is S, P(like) and the rank,
and the tables and charts follow once the browser has drawn them.

Streamlit's frontend puts a view on screen only when it has loaded the code of every kind of element in the view.
On a fresh browser that is most of a first visit's downloads (the data grid's ~1.6 MB and the chart component's),
and they arrive while the server runs the first script: the answer waited ~0.4 s for code it does not use
(`benchmarks/cold_start.py`). `answer_first` makes a session's first view the answer alone, and
`ask_for_the_rest` adds a small component (`first_paint.js`) whose script runs once that view is on screen and
then asks for the rest: the run it starts draws the whole page, and the component starts loading the charts'
plotly.js meanwhile. Nothing of the page's numbers or state changes; the whole view is drawn no later than before
(sooner, by that prefetch).

Only a browser draws, so only a session opened by one (its request named a User-Agent) waits for the signal;
AppTest and the load harness get the whole view at once. The component sits outside Explore's fragment, so its
request is a run of the whole page: a fragment's request can interrupt another page's run and leave it half drawn
(seen in Chromium under load when a menu link was clicked meanwhile). It is never sent once a key or button has been
pressed, nor if a script is blocked: then the next run of any kind draws everything, so a session waits at most
once.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import streamlit as st

from attnrec.app import plotly_view

__all__ = ["answer_first", "ask_for_the_rest", "waiting"]

COMPONENT = "attnrec_first_paint"
_JS = Path(__file__).with_name("first_paint.js")
# This session's first view: absent (not yet), "waiting" (this run shows the answer alone), "done".
_STATE = "attnrec_first_paint_view"  # not the component's key: Streamlit drops a widget's key with it


@functools.cache
def _component() -> Any:
    return st.components.v2.component(COMPONENT, js=_JS.read_text(encoding="utf-8"), isolate_styles=False)


def _browser() -> bool:
    """Whether this session was opened by a browser (one that will paint the view and run the component)."""
    try:
        return bool(st.context.headers.get("User-Agent"))
    except Exception:  # noqa: BLE001 — no request behind this session (bare mode): nothing will paint
        return False


def answer_first() -> None:
    """Call once per run of the page, outside its fragments, before the answer is drawn. On a browser session's
    first view, `waiting()` is then true for this run: draw the answer alone, then call `ask_for_the_rest()`."""
    state = st.session_state.get(_STATE)
    if state is None and _browser():
        st.session_state[_STATE] = "waiting"
    elif state == "waiting":
        st.session_state[_STATE] = "done"


def waiting() -> bool:
    """Whether this run shows the answer alone (`answer_first` said so)."""
    return st.session_state.get(_STATE) == "waiting"


def ask_for_the_rest() -> None:
    """Mount the component that asks for the whole view once the answer is painted, with a note saying it comes.
    Call outside any fragment: its request is then a run of the whole page, which Streamlit never lets cut another
    page's run short (a fragment's request can: first_paint.js)."""
    _component()(key=COMPONENT, data={"chunk": plotly_view.plotly_chunk()}, on_painted_change=lambda: None)
    st.caption("Drawing the tables and charts…")

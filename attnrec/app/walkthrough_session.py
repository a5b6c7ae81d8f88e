"""The Walkthrough page's session (app layer): its state keys, loading an example from a link or the document,
the step mode, and the small widgets its steps share (number tables with moved cells shaded, downloadable
charts, click-to-follow a cell)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attnrec.app import url, widgets
from attnrec.safety import escape_markdown
from attnrec.walkthrough_math import STEPS
from attnrec.walkthrough_state import URL_KEYS, StateError, WalkthroughState, decode, has_state, parse_cell

STATE = "walkthrough_inputs"  # last good ExampleInputs
GENERATION = "walkthrough_generation"  # bumped by "Reset" and by a link, so the editors forget their edits
SNAPSHOT = "walkthrough_snapshot"  # the numbers of the last different example, to show what an edit moved
CHANGES = "walkthrough_changes"  # (table, note) of the last edit
BEFORE = "walkthrough_before"  # the snapshot before the last edit
STEP_MODE, STEP = "walkthrough_step_mode", "walkthrough_step"
CELL_HEAD, CELL_DIM = "walkthrough_cell_head", "walkthrough_cell_dim"
FIGURE_FORMAT = "walkthrough_figure_format"
STEP_COUNT = len(STEPS)


def apply_state(state: WalkthroughState) -> None:
    """Load an example: the inputs, the controls, and fresh editors (a new generation)."""
    st.session_state[STATE] = state.inputs
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1
    for key, value in {
        "walkthrough_d": state.inputs.d,
        "walkthrough_heads": state.inputs.heads,
        "walkthrough_tau": float(state.tau),
        "walkthrough_tied": state.tied,
    }.items():
        st.session_state[key] = value


def reset_to_document() -> None:
    apply_state(WalkthroughState.document())


def read_link() -> None:
    """A link with Walkthrough parameters (pasted, or the first run of this session) loads its example whole,
    or, when any part of it is bad, says what and loads the document's example instead."""
    texts = {k: url.url_text(k) for k in URL_KEYS}
    params = {k: v for k, v in texts.items() if v is not None}
    first = STATE not in st.session_state
    requested = has_state(params) and (first or any(url.url_request(k) is not None for k in URL_KEYS))
    if requested:
        try:
            apply_state(decode(params))
        except StateError as error:
            st.warning(
                f"This link's Walkthrough example cannot be used: {escape_markdown(error)}. Showing the "
                "document's example (§4.3) instead.",
                icon="⚠️",
            )
            reset_to_document()
        for key in (SNAPSHOT, CHANGES, BEFORE):
            st.session_state.pop(key, None)
    elif first:
        reset_to_document()
    step = url.url_request("step")
    if step is not None:
        if step.isdigit() and 1 <= int(step) <= STEP_COUNT:
            st.session_state[STEP_MODE], st.session_state[STEP] = True, int(step)
        else:
            st.warning(
                f"The link asks for step “{escape_markdown(step[:20])}”; there are steps 1 to {STEP_COUNT}. "
                "Showing all steps.",
                icon="⚠️",
            )
            st.session_state[STEP_MODE] = False
    cell = url.url_request("cell")
    if cell is not None:
        current = st.session_state[STATE]
        try:
            st.session_state[CELL_HEAD], st.session_state[CELL_DIM] = parse_cell(cell, current.heads, current.d)
        except StateError as error:
            st.warning(f"The link's {escape_markdown(error)}. Following the first cell instead.", icon="⚠️")
            st.session_state[CELL_HEAD], st.session_state[CELL_DIM] = 0, 0


HIGHLIGHT = "background-color: rgba(255, 196, 0, 0.35)"  # a cell the last edit moved


def numbers_table(rows: dict[str, np.ndarray], names: list[str], marks: dict[str, np.ndarray] | None = None) -> None:
    """Named rows of numbers over the dimensions, as a compact table; cells whose `marks` are True (moved by the
    last edit) are shaded. The numbers stay numbers: only the cell style changes."""
    frame = pd.DataFrame(np.stack([np.asarray(v, dtype=float) for v in rows.values()]), index=list(rows), columns=names)
    mask = None if marks is None else np.stack([np.asarray(m, dtype=bool).reshape(-1) for m in marks.values()])
    if mask is None or not mask.any():
        config = {n: st.column_config.NumberColumn(n, format="%.4g") for n in names}
        st.dataframe(frame, column_config=config, width="content")
        return
    css = pd.DataFrame(np.where(mask, HIGHLIGHT, ""), index=frame.index, columns=frame.columns)
    st.dataframe(frame.style.format("{:.4g}").apply(lambda _: css, axis=None), width="content")


def per_head(label: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """(H, d) → {"label": row} for one head, {"label, head h": row} for several."""
    if values.shape[0] == 1:
        return {label: values[0]}
    return {f"{label}, head {h + 1}": row for h, row in enumerate(values)}


def chart_config(name: str) -> dict:
    """Plotly's toolbar, always shown; its camera button downloads the figure in the chosen format."""
    fmt = st.session_state.get(FIGURE_FORMAT, "png")
    return {
        "displayModeBar": True,
        "displaylogo": False,
        "toImageButtonOptions": {
            "format": fmt,
            "filename": f"walkthrough-{name}",
            **({"scale": 2} if fmt == "png" else {}),
        },
    }


def chart(container, figure, name: str, **kwargs):
    return container.plotly_chart(figure, key=f"walkthrough_{name}", config=chart_config(name), **kwargs)


def follow_click(chart_key: str) -> None:
    """A click on a heatmap cell chooses the cell whose arithmetic is shown."""
    points = widgets.selected_points(st.session_state.get(chart_key))
    if points:
        head, dim = (int(v) for v in points[-1])
        st.session_state[CELL_HEAD], st.session_state[CELL_DIM] = head, dim


def move_step(by: int) -> None:
    st.session_state[STEP] = min(STEP_COUNT, max(1, st.session_state.get(STEP, 1) + by))

"""Charts that are redrawn in place when their figure changes (app layer): Explore's charts, which change on every
click of a row.

`st.plotly_chart` derives a chart's element id from its figure, so a new figure is a new element: the browser
removes the old chart and builds a new one (a React remount and `Plotly.newPlot`), ~60 ms per chart on this
machine, four charts per new pair on Explore. `show` mounts a small Streamlit v2 component (`plotly_view.js`)
under a fixed key instead; it draws each new figure into the same element with `Plotly.react`, using the copy of
plotly.js that Streamlit itself serves (its PlotlyChart chunk). Clicks on points with customdata, or on heatmap
cells ([row, column]: Explore's heatmaps need no click markers), come back like `st.plotly_chart`'s point
selections (`widgets.selected_points`), tied to the figure they were made on.

If this Streamlit does not serve that chunk (or its chunk no longer sets window.Plotly), `show` falls back to
`st.plotly_chart` with the same figure.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import plotly.io as pio
import streamlit as st

from attnrec.app.widgets import selected_points

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from streamlit.delta_generator import DeltaGenerator

__all__ = ["in_place", "plotly_chunk", "show"]

COMPONENT = "attnrec_plotly_view"
_JS = Path(__file__).with_name("plotly_view.js")


def plotly_chunk(static: Path | None = None) -> str | None:
    """The file name of the script chunk in which Streamlit's frontend serves plotly.js and sets window.Plotly
    when loaded (what plotly_view.js needs), or None if this Streamlit has no such chunk."""
    return _find_chunk(static or Path(st.__file__).parent / "static" / "static" / "js")


def in_place() -> bool:
    """Whether `show` draws in place (and reports heatmap clicks itself: its heatmaps need no click markers)."""
    return plotly_chunk() is not None


@functools.cache
def _find_chunk(folder: Path) -> str | None:
    found = sorted(folder.glob("PlotlyChart.*.js"))
    if len(found) != 1 or "window.Plotly=" not in found[0].read_text(encoding="utf-8", errors="replace"):
        return None
    return found[0].name


@functools.cache
def _component() -> Any:
    return st.components.v2.component(COMPONENT, js=_JS.read_text(encoding="utf-8"), isolate_styles=False)


def show(container: DeltaGenerator | Any, figure: go.Figure, *, key: str, clickable: bool = False) -> list[list]:
    """Draw `figure` in `container` (full width) under `key`; returns the customdata of the points clicked on this
    figure (empty when none, or when the last click was on an earlier figure under the same key)."""
    chunk = plotly_chunk()
    if chunk is None:
        selection: dict[str, Any] = {"on_select": "rerun", "selection_mode": "points"} if clickable else {}
        event = container.plotly_chart(figure, key=key, width="stretch", **selection)
        return selected_points(event) if clickable else []
    spec = pio.to_json(figure, validate=False, remove_uids=False)
    # The view token ties a click to the figure it was made on: a click on the previous pair's heatmap names a
    # cell of that pair, not of this one.
    view = hashlib.blake2b(spec.encode(), digest_size=8).hexdigest()
    with contextlib.nullcontext() if container is st else container:
        result = _component()(
            key=key,
            data={"figure": spec, "chunk": chunk, "view": view, "clickable": clickable},
            default={"click": None},
            on_click_change=lambda: None,
        )
    click = getattr(result, "click", None)
    if not clickable or not isinstance(click, dict) or click.get("view") != view:
        return []
    return selected_points({"selection": {"points": [{"customdata": c} for c in click.get("points") or []]}})

"""One look for every attnrec chart: the user side is blue, the item side orange, signed values diverge at 0.

Sizes are chosen for a 1280×800 window, where a chart is about 600–1200 px wide.
"""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go

from attnrec.safety import plotly_text

USER_COLOR = "#1f6fb4"  # user side: X, A_U, Z_U
ITEM_COLOR = "#e07b1a"  # item side: Y, A_V, Z_V
POSITIVE_COLOR = "#1b7837"  # signed values (contributions, logits): green up, purple down
NEGATIVE_COLOR = "#762a83"
TOTAL_COLOR = "#404040"
# Sequential scales per side for non-negative values (attention weights); the diverging scale uses
# purple–green so it is never confused with the blue/orange sides.
USER_SCALE = "Blues"
ITEM_SCALE = "Oranges"
DIVERGING_SCALE = "PRGn"

FONT_FAMILY = "Source Sans Pro, Helvetica, Arial, sans-serif"
FONT_SIZE = 13
TITLE_SIZE = 15


def side_color(side: str) -> str:
    return {"user": USER_COLOR, "item": ITEM_COLOR}[_check_side(side)]


def side_scale(side: str) -> str:
    return {"user": USER_SCALE, "item": ITEM_SCALE}[_check_side(side)]


BELOW_UNIFORM_COLOR = "#bdbdbd"  # attention weights under the uniform level 1/d: grey, fading to white at 1/d


def uniform_centred_scale(side: str, uniform_fraction: float) -> list[list]:
    """A colour scale for attention weights on [0, zmax] that is white at the uniform level (at
    `uniform_fraction` of the range): grey below it, the side's sequential colours above it. A flat head is
    then white, so near-uniform attention no longer fills the colour range."""
    import plotly.colors as pc

    mid = float(min(max(uniform_fraction, 0.0), 0.999))
    ramp = getattr(pc.sequential, side_scale(side))[1:]  # drop the near-white first step: white is the middle
    above = [[mid + (1 - mid) * (k + 1) / len(ramp), colour] for k, colour in enumerate(ramp)]
    return [[0.0, BELOW_UNIFORM_COLOR], [mid, "#ffffff"]] + above


def _check_side(side: str) -> str:
    if side not in ("user", "item"):
        raise ValueError(f"side must be 'user' or 'item', got {side!r}")
    return side


def tick_font_size(label_count: int) -> int:
    """Smaller tick labels as dimensions multiply, so ~40 labels still fit without overlapping."""
    if label_count <= 12:
        return FONT_SIZE
    return 11 if label_count <= 24 else 9


def tick_angle(label_count: int, longest_label: int) -> int:
    # About 120 characters fit side by side across a ~900 px axis; beyond that, tilt the labels.
    return 0 if label_count * max(longest_label, 1) <= 120 else -45


TEMPLATE = "plotly_white"
_template_json: str | None = None


def _set_template(fig: go.Figure) -> None:
    """layout.template = TEMPLATE, with Plotly's validation of its ~300 properties done once per process.

    Validating the template again for every figure was ~13 of the ~30 ms a heatmap took to build (Explore builds
    four per pair). The validated template's JSON is handed to each figure as its own copy, so no two figures
    share it; the figure's JSON is the one `update_layout(template=TEMPLATE)` gives (tests/test_fast_paths.py).
    """
    global _template_json
    props = getattr(fig.layout, "_props", None)
    if not isinstance(props, dict):  # another Plotly's internals: the ordinary (slower) way
        fig.update_layout(template=TEMPLATE)
        return
    if _template_json is None:
        _template_json = go.Figure().update_layout(template=TEMPLATE).layout.template.to_plotly_json()
        _template_json = json.dumps(_template_json)
    props["template"] = json.loads(_template_json)


def base_layout(title: str, height: int) -> dict:
    """The shared look as a layout dict, and the title: pages build titles from ids and names, so it is escaped
    here (`safety.plotly_text`) and shows "<b>" or "<a href>" as typed; no figure puts markup in a title."""
    return {
        "title": {
            "text": "" if title is None else plotly_text(title),
            "font": {"size": TITLE_SIZE},
            "x": 0,
            "xanchor": "left",
        },
        "font": {"family": FONT_FAMILY, "size": FONT_SIZE},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        "xaxis": {"automargin": True},
        "yaxis": {"automargin": True},
    }


def figure(data: list, layout: dict) -> go.Figure:
    """A figure built in one pass from its traces and a whole layout (`base_layout` plus the figure's own keys),
    with the shared template: the JSON `apply_layout` and the `update_*` calls give, at a fraction of their cost
    (each `update_*` walks Plotly's property tree again; a heatmap took ~10 ms that way, Explore builds four per
    pair)."""
    # A template key keeps go.Figure from deep-copying Plotly's default template into the layout (~6 ms a figure),
    # only for `_set_template` to replace it.
    fig = go.Figure(data=data, layout={**layout, "template": {}})
    _set_template(fig)
    return fig


def apply_layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    """`base_layout` applied to an existing figure, with the template, and automargins on every axis (subplots
    have more than the first)."""
    fig.update_layout(**base_layout(title, height))
    _set_template(fig)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def room_for_value_labels(values, margin: float = 0.35) -> list[float] | None:
    """An axis range for bars whose value labels may sit outside the bar ends: `margin` × the longest bar of room
    on each side that has bars, so no label runs off the figure (None: no bars, let Plotly choose)."""
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    reach = float(np.abs(array).max()) if array.size else 0.0
    if reach == 0:
        return None
    return [
        -(1 + margin) * reach if (array < 0).any() else -0.05 * reach,
        (1 + margin) * reach if (array > 0).any() else 0.05 * reach,
    ]

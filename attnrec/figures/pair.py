"""Figures for one pair and for two pairs side by side: numbers in, Plotly figure out.

- `side_attribution_bars`: signed attributions to raw attributes, coloured by side (user blue, item orange).
- `difference_heatmap`: heads × dimensions of first − second, diverging scale centred on 0.
- `paired_contributions`: per-dimension contributions to S of two pairs, next to each other.
- `score_difference_waterfall`: S(second) + Σ_i ΔC_i = S(first) — the score difference split over
  dimensions (ΔC_i = Σ_h C_first[h, i] − C_second[h, i]), ending exactly at S(first).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from attnrec.figures.attention import unique_names
from attnrec.figures.style import (
    DIVERGING_SCALE,
    FONT_SIZE,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    TOTAL_COLOR,
    apply_layout,
    side_color,
    tick_angle,
    tick_font_size,
)
from attnrec.safety import plotly_text

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "readable_heatmap",
    "side_attribution_bars",
    "difference_heatmap",
    "paired_contributions",
    "score_difference_waterfall",
    "shorten",
]

MAX_LABEL = 42  # characters; longer labels are cut with "…" so bars keep their room at 1280 px


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """`text` cut to `limit` characters with "…"; a cut never splits an entity such as "&lt;"."""
    text = str(text)
    return text if len(text) <= limit else re.sub(r"&#?\w*$", "", text[: limit - 1]) + "…"


def _label(text, limit: int = MAX_LABEL) -> str:
    """A data string (id, name, attribute value) as a Plotly label: shortened, then `plotly_text`."""
    return plotly_text(shorten(text, limit))


def readable_heatmap(fig: go.Figure, max_columns: int = 10, min_height: int = 250) -> go.Figure:
    """A heatmap that reads at 1280 px.

    Cell numbers are dropped beyond `max_columns` columns (they no longer fit and overlap; hover still
    shows every value), and the figure grows by the room its slanted dimension names take, which
    Plotly's automargin would otherwise take from the cells (two heads shrank to a 15 px strip).
    """
    heatmaps = [t for t in fig.data if t.type == "heatmap" and t.z is not None]
    extra = 0
    for trace in heatmaps:
        if len(trace.z[0]) > max_columns:
            trace.texttemplate = None
        if fig.layout.xaxis.tickangle not in (None, 0) and trace.x is not None:
            font = (fig.layout.xaxis.tickfont.size if fig.layout.xaxis.tickfont else None) or FONT_SIZE
            extra = max(extra, int(0.5 * font * max(len(str(x)) for x in trace.x)))  # ≈ length · sin 45°
    fig.update_layout(height=max(int(fig.layout.height or 0) + extra, min_height))
    return fig


def _as_matrix(name: str, values) -> np.ndarray:
    m = np.asarray(values, dtype=np.float64)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2:
        raise ValueError(f"{name} must be (heads, d) or (d,), got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError(f"{name} contains NaN or ±inf")
    return m


def _check_names(names: Sequence[str], d: int) -> list[str]:
    # Categorical axes merge equal labels, so repeated names get a suffix (as in the attention figures).
    return unique_names(names, d)


def side_attribution_bars(
    table: pd.DataFrame, title: str, max_bars: int = 16, x_range: tuple[float, float] | None = None
) -> go.Figure:
    """Horizontal signed bars, largest |attribution| on top, one trace per side.

    `x_range` fixes the value axis, so two charts meant to be compared share one scale.

    `table` columns: `label` (what the bar is, e.g. "cuisine = Mexican"), `side` ("user" | "item"),
    `attribution` (float). Labels are prefixed with their side so equal names on both sides stay apart.
    """
    missing = {"label", "side", "attribution"} - set(table.columns)
    if missing:
        raise ValueError(f"attribution table lacks column(s) {sorted(missing)}")
    values = table["attribution"].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("attributions contain NaN or ±inf")
    order = np.argsort(-np.abs(values), kind="stable")[:max_bars]
    shown = table.iloc[order]
    # Labels are data (attribute values from uploads): escaped, since Plotly reads "<b>", "<a>" in text
    # as markup; it shows the entities as the original characters.
    labels = [_label(f"{side} · {label}") for side, label in zip(shown["side"], shown["label"])]
    fig = go.Figure()
    for side in ("user", "item"):
        mask = (shown["side"] == side).to_numpy()
        if not mask.any():
            continue
        fig.add_trace(
            go.Bar(
                x=shown["attribution"].to_numpy(dtype=np.float64)[mask],
                y=np.asarray(labels, dtype=object)[mask],
                orientation="h",
                name=side,
                marker_color=side_color(side),
                customdata=np.asarray([plotly_text(v) for v in shown["label"].astype(str)], dtype=object)[mask],
                hovertemplate="%{customdata}<br>attribution %{x:.4f}<extra>" + side + "</extra>",
            )
        )
    # Category order = the sorted order, largest at the top (Plotly draws the first category at the bottom).
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1], tickfont={"size": tick_font_size(len(labels))})
    fig.add_vline(x=0, line_color=TOTAL_COLOR, line_width=1)
    fig.update_xaxes(
        title_text="attribution to S (signed)", zeroline=False, range=list(x_range) if x_range is not None else None
    )
    hidden = len(table) - len(shown)
    if hidden > 0:
        title = f"{title} — top {len(shown)} of {len(table)}"
    apply_layout(fig, title, height=max(250, 100 + 24 * len(shown)))
    # Legend on its own line under the title, so a long title never runs into it.
    fig.update_layout(
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"},
        barmode="overlay",
        margin={"t": 80},
    )
    return fig


def difference_heatmap(
    first: ArrayLike,
    second: ArrayLike,
    dimension_names: Sequence[str],
    title: str,
    labels: tuple[str, str] = ("first", "second"),
) -> go.Figure:
    """Heatmap of first − second (heads × d) on a diverging scale whose midpoint is exactly 0."""
    a, b = _as_matrix("first", first), _as_matrix("second", second)
    if a.shape != b.shape:
        raise ValueError(f"first {a.shape} and second {b.shape} must have the same shape")
    names = _check_names(dimension_names, a.shape[1])
    labels = (_label(labels[0], 30), _label(labels[1], 30))
    diff = a - b
    bound = float(np.abs(diff).max()) or 1e-12  # symmetric range: 0 sits in the middle of the scale
    heads = [f"head {h + 1}" for h in range(a.shape[0])]
    custom = np.stack([a, b], axis=-1)
    fig = go.Figure(
        go.Heatmap(
            z=diff,
            x=names,
            y=heads,
            colorscale=DIVERGING_SCALE,
            zmid=0.0,
            zmin=-bound,
            zmax=bound,
            customdata=custom,
            colorbar={"title": {"text": "Δ"}, "thickness": 12},
            hovertemplate=(
                f"%{{y}} · %{{x}}<br>{labels[0]} %{{customdata[0]:.4f}}<br>{labels[1]} "
                "%{customdata[1]:.4f}<br>Δ %{z:.4f}<extra></extra>"
            ),
        )
    )
    longest = max((len(n) for n in names), default=1)
    fig.update_xaxes(tickangle=tick_angle(len(names), longest), tickfont={"size": tick_font_size(len(names))})
    fig.update_yaxes(autorange="reversed")
    return apply_layout(fig, title, height=max(260, 150 + 40 * a.shape[0]))


def _per_dimension(contributions) -> np.ndarray:
    """(heads, d) → (d,): a dimension's contribution summed over heads."""
    return _as_matrix("contributions", contributions).sum(axis=0)


def paired_contributions(
    first: ArrayLike, second: ArrayLike, dimension_names: Sequence[str], labels: tuple[str, str], side: str, title: str
) -> go.Figure:
    """Grouped bars: each dimension's contribution to S (summed over heads) for the two pairs.

    `side` is the side that differs between the pairs ("item" when comparing two items for one user):
    both bars take its colour, the second one hatched, so hue keeps meaning user vs item.
    """
    c1, c2 = _per_dimension(first), _per_dimension(second)
    if c1.shape != c2.shape:
        raise ValueError(f"the two pairs have {c1.shape[0]} and {c2.shape[0]} dimensions")
    names = _check_names(dimension_names, c1.shape[0])
    name_a, name_b = _label(labels[0], 30), _label(labels[1], 30)
    colour = side_color(side)
    fig = go.Figure(
        [
            go.Bar(
                x=names,
                y=c1,
                name=name_a,
                marker_color=colour,
                hovertemplate="%{x}<br>C = %{y:.4f}<extra>" + name_a + "</extra>",
            ),
            go.Bar(
                x=names,
                y=c2,
                name=name_b,
                marker={
                    "color": "white",
                    "line": {"color": colour, "width": 1.5},
                    "pattern": {"shape": "/", "fgcolor": colour},
                },
                hovertemplate="%{x}<br>C = %{y:.4f}<extra>" + name_b + "</extra>",
            ),
        ]
    )
    longest = max((len(n) for n in names), default=1)
    fig.update_xaxes(tickangle=tick_angle(len(names), longest), tickfont={"size": tick_font_size(len(names))})
    fig.update_yaxes(title_text="Σ_h Z_U·Z_V")
    apply_layout(fig, title, height=400)
    # Legend on its own line under the title, so long item names never run into it.
    fig.update_layout(
        barmode="group",
        margin={"t": 90},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "xanchor": "left"},
    )
    return fig


def score_difference_waterfall(
    first: ArrayLike,
    second: ArrayLike,
    dimension_names: Sequence[str],
    labels: tuple[str, str],
    title: str,
    max_steps: int = 14,
) -> go.Figure:
    """Waterfall from S(second) through ΔC_i per dimension to S(first).

    S is the sum of the H×d contributions, so the steps add up exactly; the figure still states the
    float residual S(first) − (S(second) + Σ steps) so a reader can see it is ~0. When there are more
    than `max_steps` dimensions the smallest |ΔC_i| are pooled into one "other" step.
    """
    c1, c2 = _as_matrix("first", first), _as_matrix("second", second)
    if c1.shape != c2.shape:
        raise ValueError(f"first {c1.shape} and second {c2.shape} must have the same shape")
    names = _check_names(dimension_names, c1.shape[1])
    s1, s2 = float(c1.sum()), float(c2.sum())
    delta = c1.sum(axis=0) - c2.sum(axis=0)
    order = np.argsort(-np.abs(delta), kind="stable")
    keep, rest = order[:max_steps], order[max_steps:]
    steps = [(names[i], float(delta[i])) for i in keep]
    if len(rest):
        steps.append((f"other {len(rest)} dims", float(delta[rest].sum())))
    residual = s1 - (s2 + sum(v for _, v in steps))
    start, end = f"S({_label(labels[1], 18)})", f"S({_label(labels[0], 18)})"
    x = [start] + [shorten(n, 24) for n, _ in steps] + [end]  # names: already escaped by unique_names
    y = [s2] + [v for _, v in steps] + [s1]
    fig = go.Figure(
        go.Waterfall(
            x=x,
            y=y,
            measure=["absolute"] + ["relative"] * len(steps) + ["total"],
            increasing={"marker": {"color": POSITIVE_COLOR}},
            decreasing={"marker": {"color": NEGATIVE_COLOR}},
            totals={"marker": {"color": TOTAL_COLOR}},
            connector={"line": {"color": "#bbbbbb", "width": 1}},
            hovertemplate="%{x}<br>%{y:+.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(tickangle=tick_angle(len(x), max(len(v) for v in x)), tickfont={"size": tick_font_size(len(x))})
    fig.update_yaxes(title_text="S")
    fig.add_annotation(
        text=f"ΔS = {s1 - s2:+.4f} · residual {residual:+.1e}",
        xref="paper",
        yref="paper",
        x=1,
        y=1.0,
        xanchor="right",
        yanchor="bottom",
        showarrow=False,
        font={"size": 12},
    )
    return apply_layout(fig, title, height=380)

"""Figures of the dataset-wide view (Insights page): numbers in, Plotly figure out.

Every data-derived label (feature names, slice values, model names, ids) goes through `safety.plotly_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from attnrec.figures.style import NEGATIVE_COLOR, POSITIVE_COLOR, TOTAL_COLOR, USER_COLOR, apply_layout, tick_font_size
from attnrec.safety import plotly_text

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike

__all__ = [
    "importance_summary",
    "importance_bars",
    "dependence_scatter",
    "attribute_strip",
    "slice_bars",
    "rank_scatter",
    "summary_order",
    "WORST_COLOR",
    "SLICE_COLOR",
]

WORST_COLOR = "#c0392b"
SLICE_COLOR = "#7f8c8d"
VALUE_SCALE = [[0.0, "#1f6fb4"], [0.5, "#b7a6c9"], [1.0, "#d6336c"]]  # low feature value blue → high pink


def summary_order(values: np.ndarray, max_features: int) -> np.ndarray:
    """Column indices by mean |value|, largest first (stable), at most `max_features`."""
    mean_abs = np.abs(np.asarray(values, dtype=np.float64)).mean(axis=0)
    return np.argsort(-mean_abs, kind="stable")[:max_features]


def _scaled(column: np.ndarray) -> np.ndarray:
    """A feature's values over the sample mapped to [0, 1] (min → 0, max → 1; constant → 0.5)."""
    low, high = float(np.min(column)), float(np.max(column))
    return np.full(len(column), 0.5) if high - low <= 1e-12 else (column - low) / (high - low)


def importance_summary(
    values: ArrayLike,
    features: ArrayLike,
    names: Sequence[str],
    title: str = "What drives S over the sample",
    value_label: str = "contribution to S",
    max_features: int = 20,
    seed: int = 0,
) -> go.Figure:
    """A SHAP-style summary: one row per feature (largest mean |value| on top), one point per pair at its
    value, coloured by the feature's value over the sample (low → blue, high → pink, scaled per feature).
    One trace per feature, in row order; each point's customdata is (pair index, raw feature value)."""
    values = np.asarray(values, dtype=np.float64)
    features = np.asarray(features, dtype=np.float64)
    order = summary_order(values, max_features)
    rng = np.random.default_rng(seed)
    fig = go.Figure()
    rows = len(order)
    for position, j in enumerate(order):
        row = rows - 1 - position  # first feature at the top
        jitter = rng.uniform(-0.3, 0.3, size=len(values))
        fig.add_trace(
            go.Scatter(
                x=values[:, j],
                y=row + jitter,
                mode="markers",
                name=plotly_text(names[j]),
                showlegend=False,
                marker={"size": 5, "color": _scaled(features[:, j]), "coloraxis": "coloraxis", "opacity": 0.8},
                customdata=np.column_stack([np.arange(len(values)), features[:, j]]),
                hovertemplate=plotly_text(names[j])
                + "<br>"
                + plotly_text(value_label)
                + " %{x:.4g}<br>feature value %{customdata[1]:.4g}<extra></extra>",
            )
        )
    fig.add_vline(x=0, line_color=TOTAL_COLOR, line_width=1)
    fig.update_layout(
        coloraxis={
            "colorscale": VALUE_SCALE,
            "cmin": 0,
            "cmax": 1,
            "colorbar": {
                "title": {"text": "feature value"},
                "tickvals": [0, 1],
                "ticktext": ["low", "high"],
                "len": 0.6,
            },
        }
    )
    fig.update_yaxes(
        tickvals=list(range(rows - 1, -1, -1)),
        ticktext=[plotly_text(names[j]) for j in order],
        range=[-0.6, rows - 0.4],
        tickfont={"size": tick_font_size(rows)},
        showgrid=False,
    )
    fig.update_xaxes(title_text=plotly_text(value_label), zeroline=False)
    return apply_layout(fig, title, height=max(260, 60 + 24 * rows))


def importance_bars(
    summary: pd.DataFrame,
    title: str = "Mean |contribution| per feature",
    value_label: str = "mean |value|",
    max_features: int = 20,
) -> go.Figure:
    """Horizontal bars of mean |value| from `Importance.summary()` (largest on top); colour: the sign of the
    mean value."""
    top = summary.head(max_features)
    fig = go.Figure(
        go.Bar(
            x=top["mean_abs"][::-1],
            y=[plotly_text(n) for n in top["feature"][::-1]],
            orientation="h",
            marker_color=[POSITIVE_COLOR if m >= 0 else NEGATIVE_COLOR for m in top["mean"][::-1]],
            customdata=np.column_stack([top["mean"][::-1], top["share_positive"][::-1]]),
            hovertemplate="%{y}<br>" + plotly_text(value_label) + " %{x:.4g}<br>mean %{customdata[0]:+.4g}"
            "<br>pushes S up in %{customdata[1]:.0%} of pairs<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=plotly_text(value_label))
    fig.update_yaxes(tickfont={"size": tick_font_size(len(top))}, type="category")
    return apply_layout(fig, title, height=max(240, 60 + 22 * len(top)))


def dependence_scatter(
    x: ArrayLike,
    y: ArrayLike,
    x_label: str,
    y_label: str,
    colour: ArrayLike | None = None,
    colour_label: str = "",
    hover: Sequence[str] | None = None,
    title: str = "",
) -> go.Figure:
    """One point per pair: a feature's value (x) against its contribution or S (y), optionally coloured."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    marker = {"size": 7, "opacity": 0.75, "color": USER_COLOR}
    if colour is not None:
        marker.update(
            color=np.asarray(colour, dtype=np.float64),
            colorscale="Viridis",
            colorbar={"title": {"text": plotly_text(colour_label)}},
        )
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            marker=marker,
            showlegend=False,
            text=None if hover is None else [plotly_text(h) for h in hover],
            hovertemplate=("%{text}<br>" if hover is not None else "")
            + plotly_text(x_label)
            + " %{x:.4g}<br>"
            + plotly_text(y_label)
            + " %{y:.4g}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=plotly_text(x_label))
    fig.update_yaxes(title_text=plotly_text(y_label))
    return apply_layout(fig, title, height=380)


def attribute_strip(
    categories: Sequence, y: ArrayLike, y_label: str, x_label: str, title: str = "", seed: int = 0
) -> go.Figure:
    """S (or a contribution) per value of a categorical attribute: one box per category with its points.
    Categories in the order given by their first appearance after sorting by median (highest first)."""
    import pandas as pd

    frame = pd.DataFrame({"category": [str(c) for c in categories], "y": np.asarray(y, dtype=np.float64)})
    medians = frame.groupby("category")["y"].median().sort_values(ascending=False, kind="stable")
    fig = go.Figure()
    for name in medians.index:
        part = frame[frame["category"] == name]
        fig.add_trace(
            go.Box(
                y=part["y"],
                name=plotly_text(name),
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker={"size": 4, "color": USER_COLOR},
                line={"color": TOTAL_COLOR},
                showlegend=False,
                hovertemplate=plotly_text(name) + "<br>" + plotly_text(y_label) + " %{y:.4g}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text=plotly_text(y_label))
    fig.update_xaxes(title_text=plotly_text(x_label), type="category")
    return apply_layout(fig, title, height=400)


def slice_bars(table: pd.DataFrame, metric: str, title: str = "", overall: float | None = None) -> go.Figure:
    """One bar per slice (in table order) of `metric`, the worst slice in red; hover: users, every metric;
    `overall` (all held-out users) as a dotted line."""
    colours = [WORST_COLOR if worst else SLICE_COLOR for worst in table["worst"]]
    extra = [c for c in table.columns if c not in ("slice", "worst", metric)]
    custom = table[extra].to_numpy(dtype=np.float64)
    hover = "".join(f"<br>{plotly_text(c)} %{{customdata[{i}]:.3g}}" for i, c in enumerate(extra))
    fig = go.Figure(
        go.Bar(
            x=[plotly_text(s) for s in table["slice"]],
            y=table[metric],
            marker_color=colours,
            customdata=custom,
            text=[f"{v:.2f}" for v in table[metric]],
            textposition="outside",
            hovertemplate="%{x}<br>" + plotly_text(metric) + " %{y:.3f}" + hover + "<extra></extra>",
        )
    )
    fig.update_xaxes(type="category", tickfont={"size": tick_font_size(len(table))})
    if overall is not None:
        fig.add_hline(
            y=overall,
            line_dash="dot",
            line_color=TOTAL_COLOR,
            annotation_text=f"all users {overall:.3f}",
            annotation_position="top left",
        )
    fig.update_yaxes(title_text=plotly_text(metric), rangemode="tozero")
    return apply_layout(fig, title, height=360)


def rank_scatter(
    rank_a: ArrayLike, rank_b: ArrayLike, name_a: str, name_b: str, hover: Sequence[str] | None = None, title: str = ""
) -> go.Figure:
    """Each held-out user's rank of their held-out item under model A (x) and B (y), log axes; below the
    diagonal B ranks it better. The diagonal is the second trace."""
    a, b = np.asarray(rank_a, dtype=np.float64), np.asarray(rank_b, dtype=np.float64)
    top = float(max(a.max(initial=1), b.max(initial=1))) * 1.1
    fig = go.Figure(
        go.Scatter(
            x=a,
            y=b,
            mode="markers",
            marker={"size": 7, "opacity": 0.7, "color": USER_COLOR},
            showlegend=False,
            text=None if hover is None else [plotly_text(h) for h in hover],
            hovertemplate=("%{text}<br>" if hover is not None else "")
            + "rank "
            + plotly_text(name_a)
            + " %{x:g}<br>rank "
            + plotly_text(name_b)
            + " %{y:g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0.9, top],
            y=[0.9, top],
            mode="lines",
            line={"color": TOTAL_COLOR, "dash": "dot"},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000) if t <= top] or [1]
    fig.update_xaxes(type="log", title_text="rank under " + plotly_text(name_a), tickvals=ticks)
    fig.update_yaxes(type="log", title_text="rank under " + plotly_text(name_b), tickvals=ticks)
    return apply_layout(fig, title, height=420)

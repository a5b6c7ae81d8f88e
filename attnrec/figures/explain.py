"""Figures for attributions, trust checks and model health: numbers in, Plotly figure out.

Signed values always use a diverging scale centred on 0 (so "no effect" is the neutral colour);
user-side and item-side quantities use the shared user/item hues from `attnrec.figures.style`.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnrec.figures import style
from attnrec.safety import plotly_text

__all__ = [
    "attribution_bars",
    "attribution_heatmap",
    "rank_agreement_matrix",
    "deletion_insertion_curves",
    "entropy_histograms",
    "mean_attention_heatmap",
    "score_shift_bars",
    "style_report_card",
    "agreement_histograms",
    "sanity_lines",
    "attribution_boxes",
    "TAU_BINS",
]

# Colours only these figures need; the shared ones (sides, signs, scales) come from `style`.
# Method lines avoid the user blue / item orange so a method is never read as a side.
SERIES = (
    "#1b9e77",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#a6761d",
    "#666666",
    "#d95f02",
    "#e6ab02",
    "#17becf",
    "#8c564b",
    "#bcbd22",
    "#000000",
)
WARNING_COLOR = "#c0392b"  # a flagged (collapsed / uniform) head
GOOD_TINT = "#d9f0d3"  # best cell of a report-card column


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    return style.apply_layout(fig, title, height)


def _texts(values) -> list[str]:
    """Data strings (feature, group, dimension, method names, ids) as Plotly labels: Plotly reads "<a href>",
    "<b>" in any label as markup, so each goes through `safety.plotly_text` and shows as typed."""
    return [plotly_text(v) for v in values]


def _sign_colours(values) -> list[str]:
    return [style.POSITIVE_COLOR if v >= 0 else style.NEGATIVE_COLOR for v in values]


def _wrap(label: str, width: int = 12) -> str:
    """Break a long column label over lines (at spaces) so side-by-side labels never overlap."""
    lines, current = [], ""
    for word in label.split(" "):
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return "<br>".join(lines + [current])


def attribution_bars(
    values: pd.Series, title: str = "Attribution per feature", max_features: int = 15, value_label: str = "attribution"
) -> go.Figure:
    """Horizontal bars, largest |value| on top, green/red by sign; `values` is indexed by feature name."""
    series = pd.Series(values, dtype=float).dropna()
    top = series.reindex(series.abs().sort_values(ascending=False).index[:max_features])
    shown = top.iloc[::-1]  # plotly draws the first bar at the bottom
    fig = go.Figure(
        go.Bar(
            x=shown.to_numpy(),
            y=_texts(shown.index),
            orientation="h",
            marker_color=_sign_colours(shown.to_numpy()),
            text=[f"{v:+.3g}" for v in shown.to_numpy()],
            textposition="auto",
            hovertemplate="%{y}: %{x:+.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(
        title=value_label,
        zeroline=True,
        zerolinecolor="#444",
        zerolinewidth=1,
        range=style.room_for_value_labels(shown.to_numpy()),  # labels outside short bars stay on the figure
    )
    fig.update_yaxes(automargin=True)
    if len(series) > max_features:
        title = f"{title} (top {max_features} of {len(series)} by |value|)"
    return _layout(fig, title, height=max(260, 80 + 26 * len(shown)))


def attribution_heatmap(frame: pd.DataFrame, title: str = "Methods side by side", max_features: int = 20) -> go.Figure:
    """Features (rows) × methods (columns). Colour = value / max |value| of that method's column,
    so methods on different scales (Saliency is a gradient, not a share of S) can be compared;
    the cell text keeps the raw number."""
    frame = frame.astype(float)
    order = frame.abs().div(frame.abs().max().replace(0, 1.0)).mean(axis=1).sort_values(ascending=False)
    frame = frame.loc[order.index[:max_features]]
    scale = frame.abs().max().replace(0, 1.0)
    z = frame.div(scale)
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(),
            x=[_wrap(c) for c in _texts(frame.columns)],
            y=_texts(frame.index),
            zmin=-1,
            zmax=1,
            zmid=0,
            colorscale=style.DIVERGING_SCALE,
            text=[[f"{v:+.3g}" for v in row] for row in frame.to_numpy()],
            texttemplate="%{text}",
            customdata=frame.to_numpy(),
            colorbar=dict(title="share of<br>method max"),
            hovertemplate="%{y} · %{x}: %{customdata:+.4f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(side="top", tickangle=0, automargin=True)
    fig = _layout(fig, title, height=max(300, 140 + 28 * len(frame)))
    fig.update_layout(margin={"t": 110})  # room for wrapped method names above the cells
    return fig


def rank_agreement_matrix(tau: pd.DataFrame, title: str = "Rank agreement (Kendall τ)") -> go.Figure:
    """Square method × method matrix of Kendall τ in [-1, 1], centred on 0."""
    values = tau.to_numpy(dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=_texts(tau.columns),
            y=_texts(tau.index),
            zmin=-1,
            zmax=1,
            zmid=0,
            colorscale=style.DIVERGING_SCALE,
            text=[["" if math.isnan(v) else f"{v:.2f}" for v in row] for row in values],
            texttemplate="%{text}",
            colorbar=dict(title="τ"),
            hovertemplate="%{y} vs %{x}: τ = %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(tickangle=-30, automargin=True)
    return _layout(fig, title, height=max(320, 140 + 34 * len(tau)))


def deletion_insertion_curves(curves: pd.DataFrame, title: str = "Deletion and insertion curves") -> go.Figure:
    """Long frame with columns method, fraction (0..1), deletion, insertion: one line per method.

    Curves are on the report card's scale: 1 = S, 0 = S(baseline), x = share of groups moved.
    Deletion: the groups a method ranks first go to the baseline first (a faithful ranking drops fast).
    Insertion: they are restored first, starting from the baseline (a faithful ranking rises fast)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.08,
        subplot_titles=("Deletion (lower area = better)", "Insertion (higher area = better)"),
    )
    for i, (method_name, part) in enumerate(curves.groupby("method", sort=False)):
        name = plotly_text(method_name)
        colour = SERIES[i % len(SERIES)]
        part = part.sort_values("fraction")
        for col, key in ((1, "deletion"), (2, "insertion")):
            fig.add_trace(
                go.Scatter(
                    x=part["fraction"],
                    y=part[key],
                    mode="lines",
                    name=name,
                    legendgroup=str(name),
                    showlegend=col == 1,
                    line=dict(color=colour, width=2),
                    hovertemplate=f"{name}<br>%{{x:.0%}} of groups moved: %{{y:.3f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title="share of groups moved", range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title="(S − S(baseline)) scaled: 1 = S", col=1)
    fig = _layout(fig, title, height=440)
    fig.update_layout(legend=dict(orientation="h", y=-0.22, x=0))
    return fig


TAU_BINS = np.linspace(-1.0, 1.0, 21)  # Kendall τ histogram bins: width 0.1 over [-1, 1]


def agreement_histograms(
    per_pair: pd.DataFrame, title: str = "Attention vs each method: Kendall τ per pair", cols: int = 3
) -> go.Figure:
    """One histogram per method of Kendall τ between attention weights and the method's importances
    (columns method, kendall_tau; NaN τ — constant rows — are left out). Bins: TAU_BINS. A dashed
    line marks each method's median; τ = 0 (no relation) is the thin grey line."""
    names = list(dict.fromkeys(per_pair["method"]))
    cols = max(1, min(cols, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    medians = {n: per_pair.loc[per_pair["method"] == n, "kendall_tau"].median() for n in names}
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_xaxes=True,
        horizontal_spacing=0.06,
        vertical_spacing=0.16,
        subplot_titles=_texts(f"{n}: median {medians[n]:+.2f}" if np.isfinite(medians[n]) else n for n in names),
    )
    centres = (TAU_BINS[:-1] + TAU_BINS[1:]) / 2
    for i, name in enumerate(names):
        taus = per_pair.loc[per_pair["method"] == name, "kendall_tau"].to_numpy(dtype=float)
        counts, _ = np.histogram(taus[np.isfinite(taus)], bins=TAU_BINS)
        row, col = i // cols + 1, i % cols + 1
        label = plotly_text(name)
        fig.add_trace(
            go.Bar(
                x=centres,
                y=counts,
                width=TAU_BINS[1] - TAU_BINS[0],
                name=label,
                showlegend=False,
                marker_color=SERIES[i % len(SERIES)],
                hovertemplate="τ %{x:+.2f}: %{y} pairs<extra>" + label + "</extra>",
            ),
            row=row,
            col=col,
        )
        fig.add_vline(x=0, line=dict(color="#999", width=1), row=row, col=col)
        if np.isfinite(medians[name]):
            fig.add_vline(x=float(medians[name]), line=dict(color="#222", width=1.5, dash="dash"), row=row, col=col)
    fig.update_xaxes(range=[-1, 1])
    for col in range(1, cols + 1):
        fig.update_xaxes(title="Kendall τ", row=rows, col=col)
    fig.update_yaxes(title="pairs", col=1)
    fig.update_annotations(font_size=12)
    return _layout(fig, title, height=120 + 220 * rows)


def sanity_lines(
    results: pd.DataFrame,
    threshold: float = 0.9,
    title: str = "Cascading randomization: how much each explanation changes",
) -> go.Figure:
    """Median Spearman ρ (original vs randomized explanation) per method, from "original" (ρ = 1) through
    each cumulative stage. Columns: stage, name, spearman_median. Above the dashed threshold = the
    explanation barely changed (flagged)."""
    stages = ["original"] + list(dict.fromkeys(results["stage"]))
    fig = go.Figure()
    for i, (method_name, part) in enumerate(results.groupby("name", sort=False)):
        name = plotly_text(method_name)
        fig.add_trace(
            go.Scatter(
                x=_texts(stages),
                y=[1.0] + part["spearman_median"].astype(float).tolist(),
                mode="lines+markers",
                name=name,
                line=dict(color=SERIES[i % len(SERIES)], width=2),
                hovertemplate=f"{name}<br>%{{x}}: ρ = %{{y:.2f}}<extra></extra>",
            )
        )
    fig.add_hline(
        y=threshold,
        line=dict(color=WARNING_COLOR, dash="dash", width=1),
        annotation_text=f"flagged above ρ = {threshold:g}",
        annotation_position="top right",
    )
    fig.update_yaxes(title="median Spearman ρ with the original", range=[-1.05, 1.05])
    fig.update_xaxes(title="parameters randomized (cumulative)")
    fig = _layout(fig, title, height=400)
    fig.update_layout(legend=dict(orientation="h", y=-0.3, x=0))
    return fig


def attribution_boxes(
    frame: pd.DataFrame, title: str = "Attribution per group over the pairs", max_groups: int = 15
) -> go.Figure:
    """Box plots (one per group, largest mean |attribution| on top) of a long frame with columns group,
    attribution — one method's attributions over many pairs."""
    order = (
        frame.assign(m=frame["attribution"].abs())
        .groupby("group", sort=False)["m"]
        .mean()
        .sort_values(ascending=False)
        .index[:max_groups]
    )
    fig = go.Figure()
    for group in list(order)[::-1]:  # plotly stacks categories bottom-up
        values = frame.loc[frame["group"] == group, "attribution"].to_numpy(dtype=float)
        fig.add_trace(
            go.Box(
                x=values,
                name=plotly_text(group),
                orientation="h",
                boxpoints=False,
                showlegend=False,
                marker_color=SERIES[1],
                line=dict(width=1.5),
            )
        )
    fig.update_xaxes(title="attribution", zeroline=True, zerolinecolor="#444", zerolinewidth=1)
    fig.update_yaxes(automargin=True)
    shown = len(order)
    total = frame["group"].nunique()
    if total > shown:
        title = f"{title} (top {shown} of {total})"
    return _layout(fig, title, height=max(280, 90 + 26 * shown))


def entropy_histograms(
    normalized_entropy: np.ndarray, verdicts: pd.DataFrame, side: str = "user", title: str | None = None, bins: int = 20
) -> go.Figure:
    """One histogram per head of normalised attention entropy (0 = one dimension, 1 = uniform);
    flagged heads (collapsed / uniform) are drawn in the warning colour and named in their title."""
    e = np.asarray(normalized_entropy, dtype=float)
    heads = e.shape[1]
    cols = min(heads, 4)
    rows = math.ceil(heads / cols)
    names = [f"head {r.head}: {r.verdict}, mean {r.mean_entropy:.2f}" for r in verdicts.itertuples()]
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=_texts(names),
        shared_yaxes=True,
        horizontal_spacing=0.05,
        vertical_spacing=0.18,
    )
    base = style.side_color(side)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for h in range(heads):
        counts, _ = np.histogram(np.clip(e[:, h], 0.0, 1.0), bins=edges)
        flagged = verdicts["verdict"].iloc[h] != "ok"
        fig.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=counts,
                width=1.0 / bins,
                marker_color=WARNING_COLOR if flagged else base,
                showlegend=False,
                hovertemplate="entropy %{x:.2f}: %{y} pairs<extra></extra>",
            ),
            row=h // cols + 1,
            col=h % cols + 1,
        )
    fig.update_xaxes(range=[0, 1])
    fig.update_xaxes(title="normalised entropy", row=rows, col=1)
    fig.update_yaxes(title="pairs", col=1)
    fig.update_annotations(font_size=12)
    label = "A_U" if side == "user" else "A_V"
    return _layout(
        fig, title or f"{label}: attention entropy per head (0 = one dimension, 1 = uniform)", height=120 + 240 * rows
    )


def mean_attention_heatmap(
    mean: np.ndarray, dimension_names: list[str], side: str = "user", title: str | None = None
) -> go.Figure:
    """Heads (rows) × dimensions (columns) of average attention weight; weights are ≥ 0, so the
    scale is sequential in the side's hue, from 0 to the largest mean."""
    values = np.asarray(mean, dtype=float)
    colourscale = style.side_scale(side)
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=_texts(dimension_names),
            y=[f"head {h + 1}" for h in range(values.shape[0])],
            zmin=0,
            zmax=float(values.max()) if values.size else 1.0,
            colorscale=colourscale,
            colorbar=dict(title="mean<br>weight"),
            hovertemplate="%{y} · %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    longest = max((len(str(n)) for n in dimension_names), default=1)
    fig.update_xaxes(
        tickangle=style.tick_angle(len(dimension_names), longest),
        automargin=True,
        tickfont={"size": style.tick_font_size(len(dimension_names))},
    )
    label = "A_U" if side == "user" else "A_V"
    return _layout(fig, title or f"Mean {label} per head over the sample", height=200 + 40 * values.shape[0])


def score_shift_bars(
    moves: pd.DataFrame, title: str = "How the edit moves each item", label_column: str = "item_id"
) -> go.Figure:
    """What-if: ΔS per item (bars coloured by sign), with the rank change in the hover."""
    shown = moves.iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=shown["delta_s"],
            y=_texts(shown[label_column]),
            orientation="h",
            marker_color=_sign_colours(shown["delta_s"].to_numpy()),
            customdata=np.stack([shown["rank_before"], shown["rank_after"]], axis=1),
            text=[f"{v:+.3g}" for v in shown["delta_s"]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: ΔS %{x:+.4g}, rank %{customdata[0]} → %{customdata[1]}<extra></extra>",
        )
    )
    fig.update_xaxes(
        title="ΔS (after − before)",
        zeroline=True,
        zerolinecolor="#444",
        range=style.room_for_value_labels(shown["delta_s"]),
    )
    fig.update_yaxes(automargin=True)
    return _layout(fig, title, height=max(260, 80 + 26 * len(shown)))


# ---- tables ------------------------------------------------------------------------------------
# Which direction is good for each report-card column: True = higher is better, False = |value| lower is
# better (errors, gaps), "signed" = lower is better as a signed number (deletion area can dip below 0).
_HIGHER_IS_BETTER = {
    "kendall_tau": True,
    "top_k_overlap": True,
    "insertion_auc": True,
    "max_abs_error": False,
    "completeness_gap": False,
    "relative_gap": False,
    "infidelity": False,
    "sensitivity_max": False,
    "deletion_auc": "signed",
    "convergence_delta": False,
}


def style_report_card(
    card: pd.DataFrame, precision: int = 3, formats: dict | None = None, skip_rows: Collection = ()
) -> pd.io.formats.style.Styler:
    """A pandas Styler: numbers rounded, the best method per column in bold with a green tint.

    Error-like columns (gaps, errors, infidelity) compare by |value|, lower is better; the deletion area
    compares signed, lower is better. `formats`: column → format string for columns that need another
    format (tiny infidelities, say). `skip_rows`: index labels never marked best (the reference row,
    which matches itself by construction)."""
    styler = card.style.format(precision=precision, na_rep="—")
    for column, fmt in (formats or {}).items():
        if column in card.columns:
            styler = styler.format(fmt, subset=[column], na_rep="—")
    skip = set(skip_rows)

    def best(column: pd.Series):
        numbers = pd.to_numeric(column, errors="coerce")
        numbers = numbers.where(~column.index.isin(list(skip)))
        if column.name not in _HIGHER_IS_BETTER or numbers.isna().all():
            return [""] * len(column)
        rule = _HIGHER_IS_BETTER[column.name]
        key = numbers if rule is True else (-numbers if rule == "signed" else -numbers.abs())
        top = key.max()
        return [f"font-weight: bold; background-color: {GOOD_TINT}" if v == top else "" for v in key]

    return styler.apply(best, axis=0)

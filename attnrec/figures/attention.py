"""Pure figure functions for one user–item pair: numbers in, Plotly figure out.

Heatmaps carry invisible square markers at the cell centres (customdata = [head, dim]) because
Streamlit's `on_select` reports clicked points of scatter traces, not heatmap cells. A chart that reports heatmap
clicks itself (Explore's, `attnrec.app.plotly_view`) asks for none (`click_markers=False`): the heatmap then
shows the same hover text, and a click's point number is [head, dim].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnrec.figures import style
from attnrec.safety import plotly_text

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "attention_heatmap",
    "signed_heatmap",
    "z_bars",
    "contribution_waterfall",
    "contribution_heatmap",
    "dimensions_that_matter",
    "entropy_bars",
    "unique_names",
    "head_labels",
    "waterfall_terms",
]


def unique_names(names: Sequence[str] | None, count: int, prefix: str = "dim") -> list[str]:
    """Axis labels for `count` dimensions; categorical axes merge equal labels, so repeats get a suffix.

    Names are data (field names, category values), so they come back through `safety.plotly_text`:
    every figure that labels dimensions takes its names from here and never shows "<a href>" as a link."""
    if names is None:
        return [f"{prefix} {i + 1}" for i in range(count)]
    names = [str(n) for n in names]
    if len(names) != count:
        raise ValueError(f"got {len(names)} dimension names for {count} dimensions")
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return [plotly_text(name) for name in out]


def head_labels(heads: int, shown: Sequence[int] | None = None) -> list[str]:
    """Row labels: "head 1" … "head H", or, for a subset of rows, the 0-based head numbers `shown` (+1)."""
    rows = range(heads) if shown is None else list(shown)
    if len(rows) != heads:
        raise ValueError(f"{heads} rows but {len(rows)} head numbers")
    return [f"head {h + 1}" for h in rows]


def _as_heads_by_dims(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"{name} must have shape (d,) or (H, d), got {array.shape}")
    return array


def _cell_marker_size(heads: int, dims: int, height: int, plot_width: int = 900) -> int:
    # Roughly one cell in pixels for a plot `plot_width` px wide; clicks near a cell's centre land on its marker.
    return int(np.clip(min(plot_width / dims, (height - 90) / heads) * 0.8, 6, 60))


def _matrix_figure(
    values: np.ndarray,
    names: list[str],
    heads: list[str],
    title: str,
    heatmap: dict,
    value_label: str,
    plot_width: int = 900,
    click_markers: bool = True,
) -> go.Figure:
    count_h, count_d = values.shape
    height = int(np.clip(130 + 42 * count_h, 210, 520))
    grid_h, grid_d = np.meshgrid(np.arange(count_h), np.arange(count_d), indexing="ij")
    show_text = count_h * count_d <= 160
    hover_text = [f"{v:.6g}" for v in values.ravel()]
    hover = "%{y}, %{x}<br>" + value_label + " = %{text}<extra></extra>"
    heatmap_trace = go.Heatmap(
        z=values,
        x=names,
        y=heads,
        xgap=1,
        ygap=1,
        texttemplate="%{z:.3g}" if show_text else None,
        textfont={"size": style.tick_font_size(count_d)},
        **(
            {"hoverinfo": "skip"}
            if click_markers
            else {"text": np.reshape(hover_text, values.shape).tolist(), "hovertemplate": hover}
        ),
        **heatmap,
    )
    if not click_markers:
        traces = [heatmap_trace]
    else:
        cells = go.Scatter(
            x=[names[i] for i in grid_d.ravel()],
            y=[heads[h] for h in grid_h.ravel()],
            mode="markers",
            marker={
                "symbol": "square",
                "size": _cell_marker_size(count_h, count_d, height, plot_width),
                "opacity": 0,
                "color": "black",
            },
            # Plain lists: a numpy array would reach the browser as a typed array and come back as a dict.
            customdata=np.stack([grid_h.ravel(), grid_d.ravel()], axis=1).tolist(),
            text=hover_text,
            hovertemplate=hover,
            showlegend=False,
            name="cells",
        )
        traces = [heatmap_trace, cells]
    longest = max(len(n) for n in names)
    layout = style.base_layout(title, height)
    layout["xaxis"].update(
        type="category",
        tickangle=style.tick_angle(count_d, longest),
        tickfont={"size": style.tick_font_size(count_d)},
        showgrid=False,
    )
    layout["yaxis"].update(type="category", autorange="reversed", showgrid=False)
    if click_markers:
        layout["clickmode"] = "event+select"
    return style.figure(traces, layout)


def attention_heatmap(
    weights: ArrayLike,
    dimension_names: Sequence[str] | None = None,
    title: str = "Attention weights",
    side: str = "user",
    zmax: float | None = None,
    uniform: float | None = None,
    plot_width: int = 900,
    heads: Sequence[int] | None = None,
    click_markers: bool = True,
) -> go.Figure:
    """Heads × dimensions attention weights (each row sums to 1), coloured against the uniform level.

    `heads`: the 0-based head number of each row when only some heads are shown (default: rows are heads 1…H).

    `plot_width`: about how wide the plot will be drawn (px), so the click markers stay inside their cells.
    `uniform` is the weight of a head that spreads evenly (1/d; default 1 / the number of columns given — pass
    it when only some columns are shown). It is white on the scale, grey below, the side's colour above, and
    marked on the colour bar, so a near-uniform head reads as flat. The range runs to the largest weight
    (`zmax`, shared by A_U and A_V) but at least to min(1, 4 × uniform), so small ripples around 1/d stay pale.
    Click selections report customdata [head index, dimension index]; `click_markers=False`: no markers (the
    module's docstring).
    """
    values = _as_heads_by_dims("weights", weights)
    names = unique_names(dimension_names, values.shape[1])
    level = 1.0 / values.shape[1] if uniform is None else float(uniform)
    top = float(values.max()) if zmax is None else float(zmax)
    top = max(top, min(1.0, 4 * level), 1e-12)
    return _matrix_figure(
        values,
        names,
        head_labels(values.shape[0], heads),
        title,
        value_label="weight",
        plot_width=plot_width,
        click_markers=click_markers,
        heatmap={
            "colorscale": style.uniform_centred_scale(side, level / top),
            "zmin": 0.0,
            "zmax": top,
            "colorbar": {
                "title": {"text": "weight"},
                "thickness": 12,
                # 0 and the uniform level would print over each other when uniform is a sliver of the range.
                "tickvals": [0.0, level, top] if level / top >= 0.08 else [level, top],
                "ticktext": (["0"] if level / top >= 0.08 else []) + [f"uniform {level:.3g}", f"{top:.3g}"],
            },
        },
    )


def signed_heatmap(
    values: ArrayLike,
    dimension_names: Sequence[str] | None = None,
    title: str = "",
    value_label: str = "value",
    heads: Sequence[int] | None = None,
    click_markers: bool = True,
) -> go.Figure:
    """Heads × dimensions signed values (logits, contributions) on a diverging scale centred on 0; `heads` and
    `click_markers` as in `attention_heatmap`."""
    array = _as_heads_by_dims("values", values)
    names = unique_names(dimension_names, array.shape[1])
    bound = float(np.abs(array).max()) or 1.0
    return _matrix_figure(
        array,
        names,
        head_labels(array.shape[0], heads),
        title,
        value_label=value_label,
        click_markers=click_markers,
        heatmap={
            "colorscale": style.DIVERGING_SCALE,
            "zmin": -bound,
            "zmax": bound,
            "zmid": 0.0,
            "colorbar": {"title": {"text": value_label}, "thickness": 12},
        },
    )


def z_bars(
    z_u: ArrayLike,
    z_v: ArrayLike,
    dimension_names: Sequence[str] | None = None,
    title: str = "Z_U = A_U ⊙ Y (user side) and Z_V = A_V ⊙ X (item side)",
) -> go.Figure:
    """Grouped bars of Z_U (blue) and Z_V (orange) per dimension; one row of bars per head."""
    zu, zv = _as_heads_by_dims("z_u", z_u), _as_heads_by_dims("z_v", z_v)
    if zu.shape != zv.shape:
        raise ValueError(f"z_u and z_v must have the same shape, got {zu.shape} and {zv.shape}")
    heads, dims = zu.shape
    names = unique_names(dimension_names, dims)
    labels = head_labels(heads)
    fig = make_subplots(
        rows=heads,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04 if heads > 1 else 0,
        subplot_titles=labels if heads > 1 else None,
    )
    for h in range(heads):
        for side, data, label in (("user", zu, "Z_U"), ("item", zv, "Z_V")):
            fig.add_trace(
                go.Bar(
                    x=names,
                    y=data[h],
                    name=label,
                    legendgroup=label,
                    showlegend=h == 0,
                    marker_color=style.side_color(side),
                    customdata=np.stack([np.full(dims, h), np.arange(dims)], axis=1).tolist(),
                    hovertemplate=f"{labels[h]}, %{{x}}<br>{label} = %{{y:.6g}}<extra></extra>",
                ),
                row=h + 1,
                col=1,
            )
    style.apply_layout(fig, title, int(np.clip(150 + 150 * heads, 280, 900)))
    longest = max(len(n) for n in names)
    fig.update_xaxes(
        type="category", tickangle=style.tick_angle(dims, longest), tickfont={"size": style.tick_font_size(dims)}
    )
    fig.update_yaxes(zeroline=True, zerolinecolor="#888", zerolinewidth=1)
    fig.update_layout(
        barmode="group",
        bargap=0.25,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
    )
    return fig


def waterfall_terms(
    contributions: ArrayLike, dimension_names: Sequence[str] | None, s: float, max_steps: int = 20
) -> tuple[list[str], list[float]]:
    """The waterfall's steps: (labels, values), ending with the residual S − Σ so they add up to S.

    Up to `max_steps` terms are shown in dimension order; beyond that the largest |c| are kept (in
    dimension order) and the rest are lumped into one "other" step.
    """
    values = _as_heads_by_dims("contributions", contributions)
    heads, dims = values.shape
    names = unique_names(dimension_names, dims)
    labels = [f"h{h + 1} · {names[i]}" if heads > 1 else names[i] for h in range(heads) for i in range(dims)]
    flat = values.ravel()
    if flat.size <= max_steps:
        keep = np.arange(flat.size)
    else:
        keep = np.sort(np.argsort(-np.abs(flat), kind="stable")[: max_steps - 1])
    step_labels = [labels[k] for k in keep]
    step_values = [float(flat[k]) for k in keep]
    rest = np.setdiff1d(np.arange(flat.size), keep)
    if rest.size:
        step_labels.append(f"other {rest.size} terms")
        step_values.append(float(flat[rest].sum()))
    step_labels.append("residual S − Σ")
    step_values.append(float(s) - float(np.sum(step_values)))
    return step_labels, step_values


def contribution_waterfall(
    contributions: ArrayLike,
    dimension_names: Sequence[str] | None,
    s: float,
    title: str = "How the contributions Z_U,i·Z_V,i add up to S",
    max_steps: int = 20,
) -> go.Figure:
    """Waterfall of the H×d contributions, then the residual (S minus their sum), ending exactly at S."""
    labels, values = waterfall_terms(contributions, dimension_names, s, max_steps)
    total = float(s)
    fig = go.Figure(
        go.Waterfall(
            x=labels + ["S"],
            y=values + [total],
            measure=["relative"] * len(values) + ["total"],
            text=[f"{v:+.3g}" for v in values] + [f"{total:.4g}"],
            textposition="outside",
            customdata=[[v] for v in values] + [[total]],
            hovertemplate="%{x}<br>%{customdata[0]:.6g}<extra></extra>",
            increasing={"marker": {"color": style.POSITIVE_COLOR}},
            decreasing={"marker": {"color": style.NEGATIVE_COLOR}},
            totals={"marker": {"color": style.TOTAL_COLOR}},
            connector={"line": {"color": "#999", "width": 1}},
        )
    )
    style.apply_layout(fig, title, 380)
    longest = max(len(label) for label in labels)
    fig.update_xaxes(
        type="category",
        tickangle=style.tick_angle(len(labels) + 1, longest),
        tickfont={"size": style.tick_font_size(len(labels) + 1)},
    )
    fig.update_yaxes(zeroline=True, zerolinecolor="#888", title_text="running sum")
    fig.update_layout(showlegend=False, uniformtext={"minsize": 8, "mode": "hide"})
    return fig


def dimensions_that_matter(
    contributions: ArrayLike,
    a_u: ArrayLike,
    a_v: ArrayLike,
    k: int = 12,
    skip: Sequence[int] = (),
    product: ArrayLike | None = None,
) -> list[int]:
    """Indices of at most k columns worth showing, largest first: by |Σ_h contribution|, then by the attention
    they get (mean of A_U and A_V over heads), so a dimension attended but cancelled still shows, then by
    |X_i·Y_i| (`product`, (d,)): what uniform attention would weigh, so the named features a sparse model left
    unattended still give context. `skip` (e.g. a null slot) is never chosen."""
    c = np.abs(_as_heads_by_dims("contributions", contributions).sum(axis=0))
    a = (_as_heads_by_dims("a_u", a_u) + _as_heads_by_dims("a_v", a_v)).mean(axis=0) / 2
    p = np.zeros_like(c) if product is None else np.abs(np.asarray(product, dtype=float).reshape(-1))
    order = np.lexsort((-p, -a, -c))  # primary key last: |contribution|, then attention, then |X·Y|
    return [int(i) for i in order if int(i) not in set(skip)][:k]


def contribution_heatmap(
    contributions: ArrayLike,
    dimension_names: Sequence[str] | None,
    s: float,
    title: str | None = None,
    heads: Sequence[int] | None = None,
    click_markers: bool = True,
) -> go.Figure:
    """The exact why: head h, dimension i holds A_U[h,i]·A_V[h,i]·X_i·Y_i, and all cells of all heads add up
    to S (green pushes S up, purple down; centred on 0). `heads` as in `attention_heatmap`."""
    values = _as_heads_by_dims("contributions", contributions)
    title = title or f"Contributions A_U·A_V·X_i·Y_i per head and dimension (they add up to S = {s:.4g})"
    return signed_heatmap(
        values, dimension_names, title, value_label="contribution", heads=heads, click_markers=click_markers
    )


def entropy_bars(
    normalized_entropy: ArrayLike, title: str = "How peaked is each head? (normalised entropy)"
) -> go.Figure:
    """(H, 2) normalised entropy of A_U and A_V per head: 0 = one dimension, 1 = uniform (dotted line)."""
    values = np.asarray(normalized_entropy, dtype=float).reshape(-1, 2)
    labels = head_labels(values.shape[0])
    bars = [
        go.Bar(
            x=labels,
            y=values[:, column],
            name=label,
            marker_color=style.side_color(side),
            text=[f"{max(v, 0.0) + 0.0:.2f}" for v in values[:, column]],  # + 0.0: never "-0.00"
            textposition="outside",
            hovertemplate=f"%{{x}}, {label}: %{{y:.3f}}<extra></extra>",
        )
        for column, side, label in ((0, "user", "A_U"), (1, "item", "A_V"))
    ]
    layout = style.base_layout(title, 230)
    layout["yaxis"].update(range=[0, 1.15], title={"text": "entropy / log d"})
    layout["barmode"] = "group"
    layout["legend"] = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1}
    # The uniform level, as `fig.add_hline(y=1, …, annotation_text="uniform", annotation_position="top left")` draws
    # it (the same JSON, tests/test_fast_paths.py) without its walk over the figure's axes: 14 → 2 ms a figure.
    layout["shapes"] = [
        {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": 1.0, "y1": 1.0}
        | {"line": {"color": "#888", "dash": "dot"}}
    ]
    layout["annotations"] = [
        {"text": "uniform", "showarrow": False, "xref": "x domain", "x": 0, "xanchor": "left"}
        | {"yref": "y", "y": 1.0, "yanchor": "bottom"}
    ]
    return style.figure(bars, layout)

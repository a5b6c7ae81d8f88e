"""Explore's "why" view for one pair (app layer): the exact contribution heatmap, where each side looks (A_U, A_V),
how peaked each head is, and the story of a clicked cell. One head at a time or all; the 12 attention units that
matter, or every dimension."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from attnrec.app import caches, plotly_view, url, widgets
from attnrec.figures import attention_heatmap, contribution_heatmap, dimensions_that_matter, entropy_bars
from attnrec.figures.pair import readable_heatmap, shorten
from attnrec.health import attention_entropy
from attnrec.pair_explanation import cell_story
from attnrec.safety import escape_markdown, plotly_text

__all__ = ["attention_view"]


def attention_view(model: Any, ex: Any, figure_key: str, normaliser: str) -> None:
    """The "why" view of the explanation `ex` (a pair or typed X and Y) of `model`; figures cached under
    `figure_key`; `normaliser` names the attention's normaliser in the cell story."""
    dataset, names, pair = model.dataset, list(model.dimension_names), ex.pair
    trace = pair.trace
    a_u, a_v = trace.a_u[0].cpu().numpy(), trace.a_v[0].cpu().numpy()
    contributions = trace.contributions[0].cpu().numpy()
    few = len(names) <= 12
    knobs = st.columns([3, 1], vertical_alignment="center")
    scope = (
        "all"
        if few
        else url.choice(
            st.radio,
            "Dimensions",
            ["matter", "all"],
            "explore_dims",
            "dims",
            "matter",
            "dimensions shown",
            container=knobs[0],
            format_func={"matter": "what matters most (12 columns)", "all": f"all {len(names)} dimensions"}.get,
            horizontal=True,
            label_visibility="collapsed",
        )
    )
    url.write_url(dims=None if few else scope)
    # One head at a time, or all (as in BertViz): the heatmaps' rows, and which cells a click can reach.
    heads = a_u.shape[0]
    head = (
        "all"
        if heads == 1
        else url.choice(
            st.selectbox,
            "Heads",
            ["all"] + [str(h + 1) for h in range(heads)],
            "explore_head",
            "head",
            "all",
            "head",
            container=knobs[1],
            format_func=lambda h: "all heads" if h == "all" else f"head {h}",
            label_visibility="collapsed",
        )
    )
    rows = list(range(heads)) if head == "all" else [int(head) - 1]
    url.write_url(head=None if head == "all" else head)
    # Columns are attention units in the short view: a taste block (one shared weight) is one column holding the
    # block's total weight and contribution; the full view shows every dimension.
    units = model.attention_units() if scope == "matter" else [[i] for i in range(len(names))]
    unit_names = model.unit_names() if scope == "matter" else names
    member = np.zeros((len(names), len(units)))
    for j, unit in enumerate(units):
        member[unit, j] = 1.0
    u_a_u, u_a_v, u_contrib = a_u @ member, a_v @ member, contributions @ member
    null = [len(units) - 1] if model.null_slot else []
    shown = (
        list(range(len(units)))
        if scope == "all"
        else sorted(
            dimensions_that_matter(
                u_contrib[rows],
                u_a_u[rows],
                u_a_v[rows],
                k=12,
                skip=null,
                product=np.abs(pair.x.cpu().numpy() * pair.y.cpu().numpy()) @ member,
            )
            + ([] if not model.null_slot or u_a_u[rows, -1].max() + u_a_v[rows, -1].max() == 0 else null)
        )
    )
    shown_names = [unit_names[j] for j in shown]
    pair_name = f"{pair.user_id} × {shorten(dataset.item_label(pair.item_id), 40)}" if not ex.vectors else "X × Y"
    reason = model.null_slot_reason(trace.a_u[0], trace.a_v[0], pair.x, pair.y)
    if reason is not None:
        sides = "this user and this item" if not ex.vectors else "X and Y"
        why = (
            f"{sides} share no attribute it can weigh (its presence mask lets attention fall only where both X_i "
            "and Y_i are non-zero)"
            if reason == "nothing shared"
            else f"its sparse attention gives no weight to anything {sides} share"
        )
        st.info(
            f"S = 0 here: every head, on both sides, puts its whole weight on “{escape_markdown(names[-1])}”, "
            f"which adds nothing to S — the model's way of saying it finds no evidence in this pair: {why}."
            + ("" if ex.vectors else " Every item it reads this way for this user ties at S = 0."),
            icon=":material/info:",
        )
    part = float(u_contrib[rows].sum())
    contrib_title = (
        f"Why {pair_name}: A_U·A_V·X_i·Y_i per head and dimension, adding up to S = {pair.s:.4g}"
        if head == "all"
        else f"Why {pair_name}: head {head}'s A_U·A_V·X_i·Y_i, adding {part:+.4g} of S = {pair.s:.4g}"
    )
    # Markers for clicks only where st.plotly_chart draws the heatmaps (plotly_view reports heatmap cells itself).
    markers = not plotly_view.in_place()
    figure_view = f"{scope}-{head}-{'markers' if markers else 'cells'}"
    plotly_view.show(
        st,
        caches.cached_figure(
            f"contrib-{figure_view}",
            figure_key,
            lambda: readable_heatmap(
                contribution_heatmap(
                    u_contrib[rows][:, shown],
                    shown_names,
                    pair.s,
                    title=plotly_text(contrib_title),
                    heads=rows,
                    click_markers=markers,
                )
            ),
        ),
        key="explore_contrib",
    )
    hidden = float(u_contrib[rows].sum() - u_contrib[rows][:, shown].sum())
    st.caption(
        (
            f"The exact why: every cell is A_U·A_V·X_i·Y_i for one head and dimension, and all cells add up "
            f"to S = {pair.s:.4f}"
            if head == "all"
            else f"The exact why for head {head}: its cells add up to {part:+.4f} of S = {pair.s:.4f}"
        )
        + (f" (the {len(units) - len(shown)} columns not shown add {hidden:+.2g})." if len(shown) < len(units) else ".")
        + (f" “{names[-1]}”: weight given to no feature at all (it adds nothing to S)." if model.null_slot else "")
        + (
            " A taste block's column sums its dimensions, which share one weight."
            if model.taste_block and scope == "matter"
            else ""
        )
        + " Below: where each side looks (rows are heads, each row sums to 1; uniform would be "
        f"1/d = {1 / len(names):.3f} per dimension). Click a cell to see its story."
    )
    top_weight = float(max(u_a_u[rows][:, shown].max(), u_a_v[rows][:, shown].max()))
    # A_U beside A_V on a wide window, one above the other below 1600 px (the app's CSS: side-by-side, 12
    # columns at 1280 px lost every other axis label); always stacked when too many columns to read at half width.
    side_by_side = len(shown) <= 24
    box = st.container(key="explore_side_by_side" if side_by_side else "explore_stacked")
    columns = box.columns(2) if side_by_side else (box.container(), box.container())
    clicked = []
    for column, side, weights, label in ((columns[0], "user", u_a_u, "A_U"), (columns[1], "item", u_a_v, "A_V")):
        title = f"{label}: where the {'user' if side == 'user' else 'item'} side looks"

        def heatmap(w: np.ndarray = weights, t: str = title, s: str = side) -> Any:
            return readable_heatmap(
                attention_heatmap(
                    w[rows][:, shown],
                    shown_names,
                    title=t,
                    side=s,
                    zmax=top_weight,
                    uniform=1 / len(names),
                    plot_width=800,
                    heads=rows,
                    click_markers=markers,
                )
            )

        figure = caches.cached_figure(f"{label}-{figure_view}", figure_key, heatmap)
        clicked += plotly_view.show(column, figure, key=f"explore_heat_{side}", clickable=True)
    peaked = st.columns([2, 1], vertical_alignment="center")
    entropy = np.stack([attention_entropy(u_a_u[None])[0], attention_entropy(u_a_v[None])[0]], axis=1)
    plotly_view.show(
        peaked[0],
        caches.cached_figure(f"entropy-{scope}", figure_key, lambda: entropy_bars(entropy)),
        key="explore_entropy",
    )
    peaked[1].caption(
        f"0 = the head looks at one {'column' if scope == 'matter' else 'dimension'}, 1 = it spreads "
        f"evenly over all {len(units)} (then the heatmaps carry no information and S is a scaled dot "
        f"product). Model health diagnoses every head over many pairs."
    )
    widgets.page_link(peaked[1], "app_pages/health.py", "Head diagnosis in Model health", ":material/monitoring:")
    point = next((c for c in clicked if 0 <= int(c[0]) < len(rows) and 0 <= int(c[1]) < len(shown)), None)
    cell = None if point is None else (rows[int(point[0])], int(point[1]))  # the click's row is a shown head
    if cell is None:
        st.info("Click a heatmap cell to see how its logit, weight and Z values make its share of S.")
    elif len(units[shown[int(cell[1])]]) > 1:
        head_index, unit = int(cell[0]), units[shown[int(cell[1])]]
        share = float(contributions[head_index, unit].sum())
        st.markdown(
            f"**Head {head_index + 1}, the taste block ({len(unit)} dimensions learned from ids, one shared "
            f"weight {a_u[head_index, unit[0]]:.4f} each on the user side, "
            f"{a_v[head_index, unit[0]]:.4f} on the item side)** — "
            f"contributes **{share:+.4f}** to S. Show all dimensions to read each one's part."
        )
    else:
        i = units[shown[int(cell[1])]][0]
        story = cell_story(trace, int(cell[0]), i, names)
        st.markdown(
            f"**Head {story['head']}, dimension “{escape_markdown(story['dimension'])}”** — "
            f"contributes **{story['contributions']:+.4f}** to S "
            f"({story['share_of_s']:.1%} of S = {pair.s:.4f})."
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "user side (U)": [story["logits_u"], story["a_u"], float(pair.y[i]), story["z_u"]],
                    "item side (V)": [story["logits_v"], story["a_v"], float(pair.x[i]), story["z_v"]],
                },
                index=[
                    "logit (W p)_i / τ",
                    f"weight ({normaliser})",
                    "other side's value (Y_i | X_i)",
                    "Z = weight × value",
                ],
            ),
            width="content",
        )
        st.caption("Z_U = A_U·Y_i and Z_V = A_V·X_i; the cell's contribution to S is Z_U·Z_V.")

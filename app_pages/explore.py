"""Explore: why does the model score this user–item pair the way it does?"""

import json

import numpy as np
import pandas as pd
import streamlit as st

from attnrec import number_entry
from attnrec.app import caches, pickers, url, widgets
from attnrec.app.sidebar import require_model, sidebar
from attnrec.explain import method as method_spec
from attnrec.explain.model_targets import BASELINE_LABELS
from attnrec.exports import to_csv_bytes, to_html, to_json_dict
from attnrec.figures import (
    attention_heatmap,
    contribution_heatmap,
    contribution_waterfall,
    dimensions_that_matter,
    entropy_bars,
    z_bars,
)
from attnrec.figures.pair import readable_heatmap, shorten, side_attribution_bars
from attnrec.health import attention_entropy
from attnrec.pair_explanation import cell_story
from attnrec.safety import escape_markdown, markdown_code, plotly_text, safe_filename

MODES = {"pair": "Catalog user × item", "vectors": "Type X and Y"}

selection = sidebar()
model = require_model(selection)
dataset = model.dataset
names = list(model.dimension_names)

st.title("Explore one user–item pair")
normaliser = {"softmax": "softmax", "sparsemax": "sparsemax", "entmax15": "1.5-entmax"}[model.normalizer]
formula = (
    f"S = Σ_h Σ_i Z_U[h,i]·Z_V[h,i] with Z_U = A_U ⊙ Y, Z_V = A_V ⊙ X and "
    f"A_U = {normaliser}(W_U (X ⊙ Y) / τ), A_V = {normaliser}(W_V (X ⊙ Y) / τ) over the d dimensions. "
    f"This model's attention: {model.variant}."
)

top = st.columns([1.2, 1.3, 1], vertical_alignment="bottom")
mode = url.choice(
    st.radio,
    "Input",
    list(MODES),
    "explore_mode",
    "mode",
    "pair",
    "input mode",
    container=top[0],
    format_func=MODES.get,
    horizontal=True,
)
level = "fields" if mode == "pair" else "dimensions"
method_key, params = widgets.method_picker(level, top[1], top[2], "explore")

# ---- the pair --------------------------------------------------------------------------------------
positives = dataset.positives
default_user = str(positives["user_id"].iloc[0]) if len(positives) else str(model.user_ids[0])
default_item = str(positives["item_id"].iloc[0]) if len(positives) else str(model.item_ids[0])
context = {"dataset": selection.dataset_name, "model": selection.model_name, "device": selection.resolved_device}


@st.fragment
def pair_view() -> None:
    """Everything that depends on the pair: a row or heatmap click reruns only this (the sidebar, title and
    method controls stay as they are), and its figures are cached per pair."""
    user_id = url.remembered_choice("explore_user", "user", model.user_ids, default_user, "user")
    item_id = url.remembered_choice("explore_item", "item", model.item_ids, default_item, "item")

    answer = st.container()  # the answer (S, rank, the pair) goes above the pickers: visible without scrolling
    if mode == "pair":
        left, right = st.columns(2)
        with left:
            heading = st.empty()  # filled after the table, which may change the choice
            user_id = pickers.pick_row(dataset.users, "user", "explore_user", user_id, selection.model_key, 143)
            heading.markdown(f"**User** · selected: {markdown_code(user_id)}")
        with right:
            item_name = dataset.schema.get("item_name")
            items = dataset.items
            if item_name in items.columns:  # the name first: it is what people search for
                items = items[[item_name] + [c for c in items.columns if c != item_name]]
            heading = st.empty()
            item_id = pickers.pick_row(items, "item", "explore_item", item_id, selection.model_key, 143, item_name)
            heading.markdown(f"**Item** · selected: {markdown_code(item_id)}")
        st.session_state["explore_user"], st.session_state["explore_item"] = user_id, item_id

        # The trace first; the attributions (the slow part) only when the Attributions view or a download asks.
        def explanation(key: str = "", settings: str = "{}"):
            return caches.cached_explanation(
                selection.model_key, user_id, item_id, key, settings, json.dumps(context), _model=model
            )

        with st.spinner("Computing the trace…"):
            ex = explanation()
        url.write_url(mode=None, user=user_id, item=item_id, method=method_key, x=None, y=None)
    else:
        pair_now = model.trace(user_id, item_id)
        seed = {"x": pair_now.x.cpu().tolist(), "y": pair_now.y.cpu().tolist()}
        for key in ("x", "y"):
            typed = url.url_request(key)
            if typed is not None:
                parsed = number_entry.parse_vector(typed, model.d)
                if parsed is None:
                    st.warning(
                        f"The link's {key.upper()} “{escape_markdown(typed[:60])}” is not {model.d} "
                        "comma-separated numbers; "
                        f"starting from user {user_id} and item {item_id} instead.",
                        icon="⚠️",
                    )
                else:
                    seed[key] = parsed
                    st.session_state.pop("explore_xy_origin", None)
        # Typed values start from the chosen pair's X and Y; a new pair (or a link's X, Y) starts them afresh.
        origin = (selection.model_key, user_id, item_id)
        if st.session_state.get("explore_xy_origin") != origin or "explore_xy" not in st.session_state:
            st.session_state["explore_xy"] = np.column_stack([seed["x"], seed["y"]])
            st.session_state["explore_xy_origin"] = origin
            st.session_state["explore_xy_generation"] = st.session_state.get("explore_xy_generation", 0) + 1
        last = st.session_state["explore_xy"]
        st.markdown(
            f"**X** (user side) and **Y** (item side), one row per dimension; started from user "
            f"{markdown_code(user_id)} and item {markdown_code(item_id)}."
        )
        typed, error = widgets.number_editor(
            "X and Y",
            last,
            names,
            ["X (user)", "Y (item)"],
            key=f"explore_vectors_{st.session_state['explore_xy_generation']}",
        )
        st.session_state["explore_xy"] = typed
        x, y = tuple(typed[:, 0].tolist()), tuple(typed[:, 1].tolist())

        def explanation(key: str = "", settings: str = "{}"):
            return caches.cached_vector_explanation(
                selection.model_key, x, y, key, settings, json.dumps(context), _model=model
            )

        with st.spinner("Computing the trace…"):
            ex = explanation()
        url.write_url(mode="vectors", method=method_key, x=number_entry.vector_text(x), y=number_entry.vector_text(y))

    pair = ex.pair

    def attributed():
        """The explanation with the chosen method's attributions (cached per pair, method and parameters)."""
        return explanation(method_key, json.dumps(params, sort_keys=True))

    trace = pair.trace
    # Figures are cached per view: the pair's (model on device, pair or typed X/Y), and the attributions' (also
    # method and parameters).
    figure_key = json.dumps(
        [
            selection.model_key,
            pair.user_id,
            pair.item_id,
            pair.x.tolist() if ex.vectors else None,
            pair.y.tolist() if ex.vectors else None,
        ],
        default=str,
    )
    attribution_key = json.dumps([figure_key, method_key, params], default=str)

    # ---- the score (drawn above the pickers) -------------------------------------------------------------
    metrics = answer.columns([1, 1, 1, 2.2], vertical_alignment="center")
    metrics[0].metric(
        "S (score)",
        f"{pair.s:.4f}",
        help=f"{formula} The breakdown below adds up to S exactly (S − Σ contributions = {ex.residual:.1e}).",
    )
    metrics[1].metric("P(like)", f"{pair.probability:.3f}", help="Calibrated probability σ(a·S + b)")
    metrics[2].metric(
        "Rank for this user",
        f"{pair.rank} of {ex.n_items}",
        help="Position of this item among all catalog items, by S (1 = best)",
    )
    if ex.vectors:
        metrics[3].caption("Typed X and Y (started from the pair below)")
    else:
        metrics[3].caption(escape_markdown(f"user {pair.user_id} × item {dataset.item_label(pair.item_id)}"))

    # One section at a time: only the figures on screen are built (a Plotly figure costs more than the pair).
    views = {
        "attention": "Why: contributions and attention",
        "breakdown": "Z breakdown",
        "attributions": f"Attributions ({method_spec(method_key).name})",
    }
    view, corner = widgets.view_switch(views, "explore_view")

    if view == "attention":
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
        part = float(u_contrib[rows].sum())
        contrib_title = (
            f"Why {pair_name}: A_U·A_V·X_i·Y_i per head and dimension, adding up to S = {pair.s:.4g}"
            if head == "all"
            else f"Why {pair_name}: head {head}'s A_U·A_V·X_i·Y_i, adding {part:+.4g} of S = {pair.s:.4g}"
        )
        figure_view = f"{scope}-{head}"
        st.plotly_chart(
            caches.cached_figure(
                f"contrib-{figure_view}",
                figure_key,
                lambda: readable_heatmap(
                    contribution_heatmap(
                        u_contrib[rows][:, shown], shown_names, pair.s, title=plotly_text(contrib_title), heads=rows
                    )
                ),
            ),
            width="stretch",
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
            + (
                f" (the {len(units) - len(shown)} columns not shown add {hidden:+.2g})."
                if len(shown) < len(units)
                else "."
            )
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
            figure = caches.cached_figure(
                f"{label}-{figure_view}",
                figure_key,
                lambda w=weights, t=title, s=side: readable_heatmap(
                    attention_heatmap(
                        w[rows][:, shown],
                        shown_names,
                        title=t,
                        side=s,
                        zmax=top_weight,
                        uniform=1 / len(names),
                        plot_width=800,
                        heads=rows,
                    )
                ),
            )
            event = column.plotly_chart(
                figure, key=f"explore_heat_{side}", on_select="rerun", selection_mode="points", width="stretch"
            )
            clicked += widgets.selected_points(event)
        peaked = st.columns([2, 1], vertical_alignment="center")
        entropy = np.stack([attention_entropy(u_a_u[None])[0], attention_entropy(u_a_v[None])[0]], axis=1)
        peaked[0].plotly_chart(
            caches.cached_figure(f"entropy-{scope}", figure_key, lambda: entropy_bars(entropy)),
            width="stretch",
            key="explore_entropy",
        )
        peaked[1].caption(
            f"0 = the head looks at one {'column' if scope == 'matter' else 'dimension'}, 1 = it spreads "
            f"evenly over all {len(units)} (then the heatmaps carry no information and S is a scaled dot "
            f"product). Model health diagnoses every head over many pairs."
        )
        widgets.page_link(peaked[1], "app_pages/health.py", "Head diagnosis in Model health", ":material/monitoring:")
        cell = next((c for c in clicked if 0 <= int(c[0]) < len(rows) and 0 <= int(c[1]) < len(shown)), None)
        if cell is not None:
            cell = (rows[int(cell[0])], int(cell[1]))  # the click's row is a shown head
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

    elif view == "breakdown":
        st.plotly_chart(
            caches.cached_figure(
                "Z", figure_key, lambda: z_bars(trace.z_u[0].cpu().numpy(), trace.z_v[0].cpu().numpy(), names)
            ),
            width="stretch",
            key="explore_z",
        )
        st.plotly_chart(
            caches.cached_figure(
                "waterfall",
                figure_key,
                lambda: contribution_waterfall(trace.contributions[0].cpu().numpy(), names, pair.s),
            ),
            width="stretch",
            key="explore_waterfall",
        )
        st.caption(
            f"Each step is one head × dimension term Z_U·Z_V; the last bar is S = {pair.s:.6f}. "
            f"The residual step (S − Σ terms = {ex.residual:.1e}) is float rounding."
        )

    else:
        with st.spinner("Computing the attributions…"):
            ex = attributed()
        if ex.attribution is None or ex.table.empty:
            st.info("No attributions for this method.")
        else:
            a = ex.attribution
            target = "raw user and item attributes" if not ex.vectors else "each dimension of X and Y"
            title = f"{method_spec(method_key).name}: S attributed to {target}"
            st.plotly_chart(
                caches.cached_figure("attributions", attribution_key, lambda: side_attribution_bars(ex.table, title)),
                width="stretch",
                key="explore_attr",
            )
            change = float(a.s[0] - a.s_baseline[0])
            st.caption(
                f"Baseline: {BASELINE_LABELS[ex.baseline]}, S(baseline) = {a.s_baseline[0]:.4f}. "
                "Σ attributions = "
                f"{ex.table['attribution'].sum():.4f} vs S − S(baseline) = {change:.4f} "
                f"(gap {a.completeness_gap[0]:+.1e}). Blue bars: user side; orange: item side."
            )
            with st.expander("As a table"):
                st.dataframe(ex.table, hide_index=True, width="stretch")

    # Downloads of the whole explanation (files are made only when a button is pressed).
    stem = safe_filename(f"attnrec-{selection.dataset_name}-{pair.user_id}-{pair.item_id}")

    def html_report() -> str:
        figures = {
            "A_U": attention_heatmap(trace.a_u[0].cpu().numpy(), names, "A_U", side="user"),
            "A_V": attention_heatmap(trace.a_v[0].cpu().numpy(), names, "A_V", side="item"),
            "Z_U and Z_V": z_bars(trace.z_u[0].cpu().numpy(), trace.z_v[0].cpu().numpy(), names),
            "Contributions": contribution_waterfall(trace.contributions[0].cpu().numpy(), names, pair.s),
        }
        full = attributed()
        if not full.table.empty:
            figures["Attributions"] = side_attribution_bars(full.table, method_spec(method_key).name)
        return to_html(full, figures, title=f"Why {pair.user_id} × {pair.item_id} scores {pair.s:.4f}")

    widgets.download_menu(
        corner,
        stem,
        "explore",
        {
            "JSON": (lambda: json.dumps(to_json_dict(attributed()), indent=1), "Every number of this explanation"),
            "CSV": (lambda: to_csv_bytes(attributed()), "One row per number; text cells are spreadsheet-safe"),
            "HTML report": (html_report, "A single file with the numbers and figures; works offline"),
        },
    )


pair_view()

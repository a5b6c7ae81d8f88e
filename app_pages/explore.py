"""Explore: why does the model score this user–item pair the way it does?"""

import json
from types import SimpleNamespace

import numpy as np
import streamlit as st

from attnrec import number_entry
from attnrec.app import caches, explore_views, pickers, plotly_view, url, widgets
from attnrec.app.sidebar import Selection, require_model, sidebar
from attnrec.explain import method as method_spec
from attnrec.explain.model_targets import BASELINE_LABELS
from attnrec.exports import to_csv_bytes, to_html, to_json_dict
from attnrec.figures import (
    attention_heatmap,
    contribution_waterfall,
    z_bars,
)
from attnrec.figures.pair import side_attribution_bars
from attnrec.model import NORMALIZER_WORDS
from attnrec.safety import escape_markdown, markdown_code, safe_filename

MODES = {"pair": "Catalog user × item", "vectors": "Type X and Y"}

# Laid out top to bottom as title, controls, then the pair (the answer S first); but drawn pair first, before the
# sidebar and the controls (`sidebar(first=…)`), so the browser gets the answer's elements ahead of theirs: on a
# fresh browser the first number shows sooner (benchmarks/cold_start.py). The choices are made before any of it
# is drawn, and each widget is then drawn showing its choice.
notes = st.container()  # a link's warnings, the dataset's loading spinner: at the top, as on every page
heading = st.container()
top = st.columns([1.2, 1.3, 1], vertical_alignment="bottom")
pair_box = st.container()


def page_view(chosen: Selection) -> SimpleNamespace:
    """What the pair view needs from the page, with every choice made and nothing drawn."""
    model = chosen.model
    dataset = model.dataset
    mode = url.remembered_choice("explore_mode", "mode", list(MODES), "pair", "input mode")
    level = "fields" if mode == "pair" else "dimensions"
    method_key, params = widgets.method_choice(level, "explore")
    normaliser = NORMALIZER_WORDS[model.normalizer]
    positives = dataset.positives
    return SimpleNamespace(
        selection=chosen,
        model=model,
        dataset=dataset,
        names=list(model.dimension_names),
        mode=mode,
        level=level,
        method_key=method_key,
        params=params,
        normaliser=normaliser,
        formula=(
            f"S = Σ_h Σ_i Z_U[h,i]·Z_V[h,i] with Z_U = A_U ⊙ Y, Z_V = A_V ⊙ X and "
            f"A_U = {normaliser}(W_U (X ⊙ Y) / τ), A_V = {normaliser}(W_V (X ⊙ Y) / τ) over the d dimensions. "
            f"This model's attention: {model.variant}."
        ),
        default_user=str(positives["user_id"].iloc[0]) if len(positives) else str(model.user_ids[0]),
        default_item=str(positives["item_id"].iloc[0]) if len(positives) else str(model.item_ids[0]),
        context={"dataset": chosen.dataset_name, "model": chosen.model_name, "device": chosen.resolved_device},
        # Counts the page's whole runs (a fragment run keeps it): a table the browser may have built anew is told
        # the pair.
        page_run=st.session_state.setdefault("explore_page_run", 0) + 1,
    )


view: SimpleNamespace | None = None


def answer_first(chosen: Selection) -> None:
    global view
    if chosen.model is None:  # require_model says so, under the sidebar
        return
    view = page_view(chosen)
    st.session_state["explore_page_run"] = view.page_run
    with pair_box:
        pair_view(view)


@st.fragment
def pair_view(v: SimpleNamespace) -> None:
    """Everything that depends on the pair: a row or heatmap click reruns only this (the sidebar, title and
    method controls stay as they are, and `v` is the page's last full run's), and its figures are cached per
    pair."""
    selection, model, dataset, names, mode = v.selection, v.model, v.dataset, v.names, v.mode
    method_key, params, normaliser, formula, context = v.method_key, v.params, v.normaliser, v.formula, v.context
    default_user, default_item, page_run = v.default_user, v.default_item, v.page_run
    token = caches.object_token(model)
    user_ids, item_ids = caches.id_index(token, "user", model.user_ids), caches.id_index(token, "item", model.item_ids)
    user_id = url.remembered_choice("explore_user", "user", user_ids, default_user, "user")
    item_id = url.remembered_choice("explore_item", "item", item_ids, default_item, "item")

    answer = st.container()  # the answer (S, rank, the pair) goes above the pickers: visible without scrolling
    draw_pickers = None
    if mode == "pair":
        item_name = dataset.schema.get("item_name")
        items = caches.name_first(token, item_name, dataset.items)
        # The pair first (a pick is read from the tables' state), then the answer, then the tables: the answer's
        # element comes before theirs, and the browser can fetch its code sooner.
        user_id = pickers.peek_row(dataset.users, "explore_user", user_id)
        item_id = pickers.peek_row(items, "explore_item", item_id)
        left, right = st.columns(2)

        def draw_pickers() -> None:
            for column, frame, what, chosen, name in (
                (left, dataset.users, "user", user_id, None),
                (right, items, "item", item_id, item_name),
            ):
                with column:
                    st.markdown(f"**{what.capitalize()}** · selected: {markdown_code(chosen)}")
                    pickers.pick_row(frame, what, f"explore_{what}", chosen, selection.model_key, 143, name, page_run)

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
        pair.rank_span() if pair.ties else pair.rank_text(ex.n_items),  # a range is long: its "of N" goes below
        delta=f"of {ex.n_items} · {pair.ties + 1} tied" if pair.ties else None,
        delta_color="off",
        delta_arrow="off",
        help="Position of this item among all catalog items, by S (1 = best)"
        + (
            f". A range: {pair.ties} other items score exactly the same S, so the pair holds all these places"
            if pair.ties
            else ""
        ),
    )
    if ex.vectors:
        metrics[3].caption("Typed X and Y (started from the pair below)")
    else:
        metrics[3].caption(escape_markdown(f"user {pair.user_id} × item {dataset.item_label(pair.item_id)}"))

    if draw_pickers is not None:
        draw_pickers()

    # One section at a time: only the figures on screen are built (a Plotly figure costs more than the pair).
    views = {
        "attention": "Why: contributions and attention",
        "breakdown": "Z breakdown",
        "attributions": f"Attributions ({method_spec(method_key).name})",
    }
    view, corner = widgets.view_switch(views, "explore_view")

    if view == "attention":
        explore_views.attention_view(model, ex, figure_key, normaliser)

    elif view == "breakdown":
        plotly_view.show(
            st,
            caches.cached_figure(
                "Z", figure_key, lambda: z_bars(trace.z_u[0].cpu().numpy(), trace.z_v[0].cpu().numpy(), names)
            ),
            key="explore_z",
        )
        plotly_view.show(
            st,
            caches.cached_figure(
                "waterfall",
                figure_key,
                lambda: contribution_waterfall(trace.contributions[0].cpu().numpy(), names, pair.s),
            ),
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
            plotly_view.show(
                st,
                caches.cached_figure("attributions", attribution_key, lambda: side_attribution_bars(ex.table, title)),
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


with notes:
    selection = sidebar(first=answer_first)
model = require_model(selection)
assert view is not None  # answer_first drew the pair view: the selection has a model
heading.title("Explore one user–item pair")
url.choice(
    st.radio,
    "Input",
    list(MODES),
    "explore_mode",
    "mode",
    "pair",
    "input mode",
    container=top[0],
    value=view.mode,
    format_func=MODES.get,
    horizontal=True,
)
if widgets.method_picker(view.level, top[1], top[2], "explore", value=view.method_key) != (
    view.method_key,
    view.params,
):
    st.rerun()  # a setting read before its widget was drawn differs from the widget's value: draw it again

"""Compare: two items for one user (or two users for one item) side by side, and why their scores differ."""

import json

import streamlit as st

from attnrec.app import caches, pickers, url, widgets
from attnrec.app.sidebar import require_model, sidebar
from attnrec.explain import method as method_spec
from attnrec.explain.model_targets import default_baseline
from attnrec.exports import comparison_csv_bytes, comparison_html, comparison_json
from attnrec.figures import attention_heatmap
from attnrec.figures.pair import (
    difference_heatmap,
    paired_contributions,
    readable_heatmap,
    score_difference_waterfall,
    side_attribution_bars,
)
from attnrec.safety import safe_filename

MODES = {"items": "Two items for one user", "users": "Two users for one item"}

selection = sidebar()
model = require_model(selection)
dataset = model.dataset
names = list(model.dimension_names)

st.title("Compare two pairs")
st.caption(
    "Two pairs that share one side. S = Σ_h Σ_i C[h,i] with C = Z_U·Z_V, so their difference "
    "ΔS = S(A) − S(B) splits exactly into per-dimension differences ΔC_i = Σ_h C_A[h,i] − C_B[h,i]."
)

top = st.columns([1.7, 1.2, 0.8], vertical_alignment="bottom")
mode = url.choice(
    st.radio,
    "Compare",
    list(MODES),
    "compare_mode",
    "compare",
    "items",
    "comparison",
    container=top[0],
    format_func=MODES.get,
    horizontal=True,
)
method_key, params = widgets.method_picker("fields", top[1], top[2], "compare")

item_label = dataset.item_label


# The shared pair (user, item) is the one Explore shows; B defaults to the user's best other item, or the next user.
positives = dataset.positives
default_user = str(positives["user_id"].iloc[0]) if len(positives) else str(model.user_ids[0])
default_item = str(positives["item_id"].iloc[0]) if len(positives) else str(model.item_ids[0])
picks = st.columns(3)
cache = selection.model_key  # the search index of a large side is built once per model
item_search = {"table": dataset.items, "name_column": dataset.schema.get("item_name")}
if mode == "items":
    user_id = pickers.search_choice(
        "User", model.user_ids, "explore_user", "user", default_user, "user", cache_key=cache, container=picks[0]
    )
    item_a = pickers.search_choice(
        "Item A",
        model.item_ids,
        "explore_item",
        "item",
        default_item,
        "item",
        cache_key=cache,
        container=picks[1],
        format_func=item_label,
        **item_search,
    )
    best = [i for i in model.top_k(user_id, k=2, exclude_seen=False)["item_id"] if i != item_a]
    item_b = pickers.search_choice(
        "Item B",
        model.item_ids,
        "compare_item_b",
        "item_b",
        best[0] if best else model.item_ids[0],
        "item",
        cache_key=cache,
        container=picks[2],
        format_func=item_label,
        **item_search,
    )
    pairs = ((user_id, item_a), (user_id, item_b))
    labels = (f"A: {item_label(item_a)}", f"B: {item_label(item_b)}")
    differing_side = "item"
    url.write_url(compare="items", user=user_id, item=item_a, item_b=item_b, user_b=None, method=method_key)
else:
    item_id = pickers.search_choice(
        "Item",
        model.item_ids,
        "explore_item",
        "item",
        default_item,
        "item",
        cache_key=cache,
        container=picks[0],
        format_func=item_label,
        **item_search,
    )
    user_a = pickers.search_choice(
        "User A", model.user_ids, "explore_user", "user", default_user, "user", cache_key=cache, container=picks[1]
    )
    others = [u for u in model.user_ids[:2] if u != user_a]  # the first other user (not a scan of them all)
    user_b = pickers.search_choice(
        "User B",
        model.user_ids,
        "compare_user_b",
        "user_b",
        others[0] if others else user_a,
        "user",
        cache_key=cache,
        container=picks[2],
    )
    pairs = ((user_a, item_id), (user_b, item_id))
    labels = (f"A: user {user_a}", f"B: user {user_b}")
    differing_side = "user"
    url.write_url(compare="users", user=user_a, item=item_id, user_b=user_b, item_b=None, method=method_key)

context = {"dataset": selection.dataset_name, "model": selection.model_name, "device": selection.resolved_device}
with st.spinner("Computing both explanations…"):
    first, second = (
        caches.cached_explanation(
            selection.model_key, u, i, method_key, json.dumps(params, sort_keys=True), json.dumps(context), _model=model
        )
        for u, i in pairs
    )
a, b = first.pair, second.pair
figure_key = json.dumps([selection.model_key, pairs, method_key, params], default=str)  # figures cached per view

metrics = st.columns(4)
metrics[0].metric("S(A)", f"{a.s:.4f}", help=f"Score of pair A; calibrated P(like) = σ(a·S + b) = {a.probability:.3f}")
metrics[1].metric("S(B)", f"{b.s:.4f}", help=f"Score of pair B; calibrated P(like) = σ(a·S + b) = {b.probability:.3f}")
metrics[2].metric("ΔS = S(A) − S(B)", f"{a.s - b.s:+.4f}")
metrics[3].metric(
    "Rank A / B",
    f"{a.rank_span()} / {b.rank_span()}",
    help=f"Rank of each item among all {first.n_items} items for its user (1 = best; a range: tied with other "
    "items at exactly the same S)",
)
st.caption(f"Calibrated probability P(like) = σ(a·S + b): A {a.probability:.3f}, B {b.probability:.3f}.")

# One section at a time: only the figures on screen are built (a Plotly figure costs more than the pair).
views = {
    "attention": "Attention and its difference",
    "delta": "Where ΔS comes from",
    "attributions": f"Attributions ({method_spec(method_key).name})",
}
view, corner = widgets.view_switch(views, "compare_view")

if view == "attention":
    side = st.radio(
        "Attention",
        ["A_U (user side, weights on Y)", "A_V (item side, weights on X)"],
        horizontal=True,
        key="compare_attention_side",
        label_visibility="collapsed",
    )
    field, hue = ("a_u", "user") if side.startswith("A_U") else ("a_v", "item")
    label = "A_U" if hue == "user" else "A_V"
    weights_a, weights_b = getattr(a.trace, field)[0].cpu().numpy(), getattr(b.trace, field)[0].cpu().numpy()
    top_weight = float(max(weights_a.max(), weights_b.max()))
    # Side by side while the dimensions fit in half the width; one above the other beyond that.
    columns = st.columns(2) if len(names) <= 6 else (st.container(), st.container())
    for column, weights, text, key in (
        (columns[0], weights_a, labels[0], "a"),
        (columns[1], weights_b, labels[1], "b"),
    ):
        column.plotly_chart(
            caches.cached_figure(
                f"{label} {key}",
                figure_key,
                lambda w=weights, t=text: readable_heatmap(
                    attention_heatmap(w, names, f"{label} · {t}", side=hue, zmax=top_weight)
                ),
            ),
            width="stretch",
            key=f"compare_heat_{key}",
        )
    st.plotly_chart(
        caches.cached_figure(
            f"Δ{label}",
            figure_key,
            lambda: difference_heatmap(weights_a, weights_b, names, f"{label}(A) − {label}(B)", labels=("A", "B")),
        ),
        width="stretch",
        key="compare_heat_diff",
    )
    st.caption(
        "Both heatmaps share one colour range. The difference uses a purple–green scale centred on 0: "
        "green where A attends more, purple where B does."
    )

elif view == "delta":
    contributions = (a.trace.contributions[0].cpu().numpy(), b.trace.contributions[0].cpu().numpy())
    st.plotly_chart(
        caches.cached_figure(
            "contributions",
            figure_key,
            lambda: paired_contributions(
                *contributions, names, labels, differing_side, "Contribution of each dimension (Σ over heads)"
            ),
        ),
        width="stretch",
        key="compare_contributions",
    )
    st.plotly_chart(
        caches.cached_figure(
            "ΔS",
            figure_key,
            lambda: score_difference_waterfall(
                *contributions, names, ("A", "B"), "ΔS decomposed: S(B) + Σ_i ΔC_i = S(A)"
            ),
        ),
        width="stretch",
        key="compare_delta",
    )
    st.caption(
        "Each step is one dimension's ΔC_i = Σ_h (Z_U·Z_V)_A − (Z_U·Z_V)_B; the steps start at S(B) and "
        "end exactly at S(A)."
    )

else:
    # One value axis for both charts, so bar lengths compare across the two pairs.
    values = [v for ex in (first, second) for v in ex.table["attribution"]]
    pad = 0.05 * (max(values + [0.0]) - min(values + [0.0]) or 1.0)
    shared = (min(values + [0.0]) - pad, max(values + [0.0]) + pad)
    for ex, text, key in ((first, labels[0], "a"), (second, labels[1], "b")):
        if ex.table.empty:
            st.info(f"No attributions for {text} with this method.")
        else:
            st.plotly_chart(
                caches.cached_figure(
                    f"attributions {key}",
                    figure_key,
                    lambda e=ex, t=text: side_attribution_bars(e.table, t, max_bars=12, x_range=shared),
                ),
                width="stretch",
                key=f"compare_attr_{key}",
            )
    st.caption(
        f"Signed attributions of each S to the raw attributes ({default_baseline(model)} baseline), on one "
        "shared scale; blue: user side, orange: item side."
    )

# Downloads of both explanations (files are made only when a button is pressed).
stem = safe_filename(f"attnrec-compare-{selection.dataset_name}-{'-'.join(p for pair in pairs for p in pair)}")


def html_report() -> str:
    contributions = (a.trace.contributions[0].cpu().numpy(), b.trace.contributions[0].cpu().numpy())
    figures = {
        "ΔA_U": difference_heatmap(
            a.trace.a_u[0].cpu().numpy(), b.trace.a_u[0].cpu().numpy(), names, "A_U(A) − A_U(B)"
        ),
        "ΔA_V": difference_heatmap(
            a.trace.a_v[0].cpu().numpy(), b.trace.a_v[0].cpu().numpy(), names, "A_V(A) − A_V(B)"
        ),
        "Contributions": paired_contributions(*contributions, names, labels, differing_side, "Contributions"),
        "ΔS decomposed": score_difference_waterfall(*contributions, names, ("A", "B"), "ΔS decomposed"),
    }
    for ex, text in ((first, labels[0]), (second, labels[1])):
        if not ex.table.empty:
            figures[f"Attributions {text}"] = side_attribution_bars(ex.table, text)
    return comparison_html(first, second, figures, labels, title=f"{labels[0]} vs {labels[1]}")


widgets.download_menu(
    corner,
    stem,
    "compare",
    {
        "JSON": (
            lambda: json.dumps(comparison_json(first, second), indent=1),
            "Both explanations and ΔS per dimension",
        ),
        "CSV": (
            lambda: comparison_csv_bytes(first, second),
            "One row per number, a column says which pair; text cells are spreadsheet-safe",
        ),
        "HTML report": (html_report, "A single file with the numbers and figures; works offline"),
    },
)

"""Two views of the Dataset-wide page (app_pages/insights.py), each drawn by one function: Slices (held-out
quality per slice of users or items, the worst slice's pairs) and Compare two models. `selection`, `model` and
`dataset` are the page's sidebar selection, its model and the model's dataset."""

from __future__ import annotations

import streamlit as st

from attnrec.app import caches, session, url
from attnrec.explain.model_targets import default_baseline
from attnrec.figures.insights import rank_scatter, slice_bars
from attnrec.health import held_out_split
from attnrec.insight_slices import slice_columns, slice_metrics
from attnrec.model_comparison import (
    compare_held_out,
    compare_pair,
    held_out_ranks,
    pair_attention_top,
    pair_field_attributions,
)
from attnrec.safety import escape_markdown, safe_csv_bytes, safe_filename

SIDES = {"user": "users (by the user's attribute)", "item": "held-out items (by the item's attribute)"}


# ---- slices --------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32)
def cached_slices(model_key: str, side: str, column: str, bins: int, min_users: int, k: int, _model, _dataset):
    return slice_metrics(_model, held_out_split(_model, _dataset), side, column, k=k, bins=bins, min_users=min_users)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_held_out_ranks(model_key: str, _model, _dataset):
    return held_out_ranks(_model, held_out_split(_model, _dataset))


def worst_pairs_list(selection, model, dataset, name: str, members: list[int], shown: int = 5) -> None:
    """The worst slice's held-out pairs the model ranks lowest, each one click from Explore."""
    ranks = cached_held_out_ranks(selection.model_key, model, dataset).iloc[members]
    ranks = ranks.sort_values("rank", ascending=False, kind="stable").head(shown)
    with st.expander(f"Its {len(ranks)} lowest-ranked held-out pairs"):
        for row in ranks.itertuples():
            cols = st.columns([5, 2], vertical_alignment="center")
            cols[0].write(
                f"user {escape_markdown(row.user_id)} · item {escape_markdown(row.item_id)} — held-out "
                f"item ranked {row.rank:g} of {row.candidates} candidates"
            )
            if cols[1].button("Explore", key=f"insights_worst_{row.Index}", help="Open this pair on Explore"):
                st.session_state["explore_user"], st.session_state["explore_item"] = row.user_id, row.item_id
                st.switch_page("app_pages/explore.py", query_params={"user": row.user_id, "item": row.item_id})


def slices_view(selection, model, dataset) -> None:
    """Slices: held-out quality per slice of users or items by one attribute, the worst slice's pairs."""
    url.write_url(user=None, item=None, model_a=None, model_b=None)
    controls = st.columns([2, 2, 1, 1])
    side = url.choice(
        st.radio,
        "Slice the held-out",
        list(SIDES),
        "insights_slice_side",
        "slice_side",
        "user",
        "slice side",
        container=controls[0],
        format_func=SIDES.get,
    )
    options = slice_columns(dataset, side)
    if not options:
        st.info(f"The {side} table has no column to slice by.")
        url.write_url(slice_side=side, slice_by=None)
        return
    default = next((c for c in ("city", "price", "budget", "area") if c in options), options[0])
    column = url.choice(
        st.selectbox,
        "Attribute",
        options,
        f"insights_slice_column_{side}",
        "slice_by",
        default,
        f"{side} attribute",
        container=controls[1],
    )
    url.write_url(slice_side=side, slice_by=column)
    bins = controls[2].number_input(
        "Bins (numbers)",
        2,
        10,
        4,
        key="insights_slice_bins",
        help="Numeric attributes are cut into this many quantile bins.",
    )
    min_users = controls[3].number_input(
        "Min users",
        1,
        100,
        5,
        key="insights_slice_min",
        help="The worst slice is picked among slices with at least this many users.",
    )
    with st.status("Evaluating each slice on held-out data…") as status:
        table, overall = cached_slices(selection.model_key, side, column, int(bins), int(min_users), 10, model, dataset)
        status.update(label=f"{len(table)} slices of the held-out users by {column}", state="complete", expanded=False)
    if not len(table):
        st.info("No held-out users: leave-one-out needs users with at least two positives.")
        return
    worst = table[table["worst"]]
    if len(worst):
        row = worst.iloc[0]
        st.warning(
            f"Worst slice: {escape_markdown(column)} = “{escape_markdown(row['slice'])}” — HR@10 "
            f"{row['HR@10']:.3f}, NDCG@10 {row['NDCG@10']:.3f} over {int(row['users'])} users "
            f"(all held-out users: HR@10 {overall['HR@10']:.3f}).",
            icon=":material/warning:",
        )
        worst_pairs_list(selection, model, dataset, row["slice"], overall["members"][row["slice"]])
    metric = st.radio(
        "Bars show", ["HR@10", "NDCG@10", "attention entropy"], horizontal=True, key="insights_slice_metric"
    )
    st.plotly_chart(
        slice_bars(table, metric, title=f"{metric} per slice of {column}", overall=overall[metric]),
        width="stretch",
        key="insights_slices",
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "slice": st.column_config.TextColumn("slice", width="large"),
            "HR@10": st.column_config.NumberColumn(format="%.3f"),
            "NDCG@10": st.column_config.NumberColumn(format="%.3f"),
            "attention entropy": st.column_config.NumberColumn(
                "mean attention entropy",
                format="%.3f",
                help="Normalised entropy of A_U and A_V over attention units (0 = one unit, "
                "1 = uniform), averaged over heads, sides and the slice's held-out pairs.",
            ),
            "worst": st.column_config.CheckboxColumn("worst"),
        },
    )
    st.download_button(
        "Download the slices (CSV)",
        safe_csv_bytes(table),
        safe_filename(f"slices-{selection.model_name}-{side}-{column}.csv"),
        mime="text/csv",
        key="insights_slices_csv",
        icon=":material/download:",
    )
    st.caption(
        "Leave-one-out held-out pairs (the split Model health uses), ranked against every item the user never "
        "interacted with; a user slice uses the user's attribute, an item slice the held-out item's. "
        + (
            "This attribute has several values per row, so a user is in the slice of each of them (slices overlap). "
            if overall["overlapping"]
            else ""
        )
        + "Small slices are noisy."
    )


# ---- two models ----------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def cached_comparison(keys: tuple, seed: int, k: int, _models, _dataset):
    from attnrec.evaluation import leave_one_out

    return compare_held_out(_models, leave_one_out(_dataset, seed=seed), k=k)


def model_key(selection, name: str, the_model) -> str:
    return f"{selection.dataset_name}/{name}@{selection.resolved_device}#{caches.object_token(the_model)}"


def models_view(selection, dataset) -> None:
    """Compare two models: one pair under both, then the same held-out users ranked by both."""
    names = session.model_names(selection.dataset_name)
    if len(names) < 2:
        st.info(
            f"Dataset “{escape_markdown(selection.dataset_name)}” has one model; train or upload another "
            "on the Data page to compare."
        )
        url.write_url(user=None, item=None, model_a=None, model_b=None, slice_side=None, slice_by=None)
        return
    url.write_url(slice_side=None, slice_by=None)
    picks = st.columns(2)
    name_a = url.choice(
        st.selectbox, "Model A", names, "insights_model_a", "model_a", selection.model_name, "model", container=picks[0]
    )
    others = [n for n in names if n != name_a]
    name_b = url.choice(
        st.selectbox, "Model B", others, "insights_model_b", "model_b", others[0], "model", container=picks[1]
    )
    url.write_url(model_a=name_a, model_b=name_b)
    model_a = session.get_model(selection.dataset_name, name_a, selection.resolved_device)
    model_b = session.get_model(selection.dataset_name, name_b, selection.resolved_device)
    models = {name_a: model_a, name_b: model_b}
    if set(model_a.item_ids) != set(model_b.item_ids) or set(model_a.user_ids) != set(model_b.user_ids):
        st.warning("These two models do not know the same users and items; compare models of one catalog.")
        return

    st.subheader("One pair under both models")
    item_name = dataset.schema.get("item_name")

    def item_label(item_id: str) -> str:
        if item_name in dataset.items.columns:
            return f"{item_id} · {dataset.items.at[item_id, item_name]}"
        return item_id

    positives = dataset.positives
    default_user = str(positives["user_id"].iloc[0]) if len(positives) else model_a.user_ids[0]
    default_item = str(positives["item_id"].iloc[0]) if len(positives) else model_a.item_ids[0]
    pair_cols = st.columns(2)
    user_id = url.choice(
        st.selectbox, "User", model_a.user_ids, "explore_user", "user", default_user, "user", container=pair_cols[0]
    )
    item_id = url.choice(
        st.selectbox,
        "Item",
        model_a.item_ids,
        "explore_item",
        "item",
        default_item,
        "item",
        container=pair_cols[1],
        format_func=item_label,
    )
    url.write_url(user=user_id, item=item_id)
    summary, tops = compare_pair(models, user_id, item_id)
    st.dataframe(
        summary,
        hide_index=True,
        width="stretch",
        column_config={
            "S": st.column_config.NumberColumn(format="%.4g"),
            "P(like)": st.column_config.NumberColumn(format="%.3f"),
            "rank": st.column_config.NumberColumn("rank", help="Among all catalog items."),
            "entropy A_U": st.column_config.NumberColumn(
                format="%.3f",
                help="Normalised entropy over attention units (a taste block is "
                "one unit), mean over heads: 0 = one unit, 1 = uniform.",
            ),
            "entropy A_V": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    columns = st.columns(2)
    for column, (name, top) in zip(columns, tops.items()):
        the_model = models[name]
        column.markdown(f"**{escape_markdown(name)}**")
        column.caption("Largest exact contributions to S (Σ over heads of A_U·A_V·X_i·Y_i)")
        column.dataframe(
            top,
            hide_index=True,
            width="stretch",
            column_config={
                "dimension": st.column_config.TextColumn(width="medium"),
                "contribution": st.column_config.NumberColumn(format="%+.4g"),
                "share of S": st.column_config.NumberColumn(format="percent"),
            },
        )
        column.caption("Most attended (mean over heads of (A_U + A_V) / 2)")
        column.dataframe(
            pair_attention_top(the_model, user_id, item_id),
            hide_index=True,
            width="stretch",
            column_config={
                "attended": st.column_config.TextColumn(width="medium"),
                "weight": st.column_config.NumberColumn(format="%.3f"),
                "uniform": st.column_config.NumberColumn("uniform level", format="%.3f"),
            },
        )
        fields = pair_field_attributions(the_model, user_id, item_id)
        column.caption(
            f"Integrated Gradients over the raw fields (baseline “{default_baseline(the_model)}”): "
            f"they add up to {fields.attrs['total']:+.4g}, "
            f"S − S(baseline) = {fields.attrs['change']:+.4g}"
        )
        column.dataframe(
            fields,
            hide_index=True,
            width="stretch",
            column_config={
                "field": st.column_config.TextColumn(width="medium"),
                "attribution": st.column_config.NumberColumn(format="%+.4g"),
            },
        )

    st.subheader("The same held-out users")
    default_seed = int((model_a.config.get("evaluation") or {}).get("seed", 0))
    seed = st.number_input(
        "Split seed",
        0,
        10_000,
        default_seed,
        key="insights_split_seed",
        help="Leave-one-out: one positive per user held out; both models are ranked on it.",
    )
    with st.status("Ranking every held-out item under both models…") as status:
        result = cached_comparison(
            (model_key(selection, name_a, model_a), model_key(selection, name_b, model_b)),
            int(seed),
            10,
            models,
            dataset,
        )
        status.update(label=f"{len(result.ranks)} held-out users, both models", state="complete", expanded=False)
    st.dataframe(
        result.metrics,
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(c, format="%.3f") for c in ("HR@10", "NDCG@10", "AUC")},
    )
    counts = st.columns(3)
    counts[0].metric(f"{escape_markdown(name_a)} ranks better", result.better[name_a])
    counts[1].metric(f"{escape_markdown(name_b)} ranks better", result.better[name_b])
    counts[2].metric("same rank", result.better["tie"])
    ranks = result.ranks
    st.plotly_chart(
        rank_scatter(
            ranks[f"rank {name_a}"],
            ranks[f"rank {name_b}"],
            name_a,
            name_b,
            hover=[f"user {u} · item {i}" for u, i in zip(ranks["user_id"], ranks["item_id"])],
            title="Rank of each user's held-out item (lower is better; below the line B wins)",
        ),
        width="stretch",
        key="insights_ranks",
    )
    with st.expander("Per-user ranks"):
        st.dataframe(ranks, hide_index=True, width="stretch")
    st.download_button(
        "Download per-user ranks (CSV)",
        safe_csv_bytes(ranks),
        safe_filename(f"ranks-{name_a}-vs-{name_b}.csv"),
        mime="text/csv",
        key="insights_ranks_csv",
        icon=":material/download:",
    )

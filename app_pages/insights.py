"""Dataset-wide view: what drives the model over a sample of pairs, how it does per slice of users or items,
and two models side by side on the same pair and the same held-out users. Computation lives in
attnrec.insights, figures in attnrec.figures.insights."""

import streamlit as st

from attnrec.app import url, widgets
from attnrec.app.insights_views import models_view, slices_view
from attnrec.app.sidebar import require_model, sidebar
from attnrec.explain.model_targets import default_baseline
from attnrec.figures.insights import (
    attribute_strip,
    dependence_scatter,
    importance_bars,
    importance_summary,
)
from attnrec.insight_slices import slice_labels
from attnrec.insights import (
    attribute_values,
    contribution_importance,
    explode_values,
    feature_groupings,
    ig_importance,
    learned_from_ids,
    multi_separator,
    sample_pairs,
)
from attnrec.safety import escape_markdown, safe_csv_bytes, safe_filename

VIEWS = {"drivers": "What drives S", "slices": "Slices", "models": "Compare two models"}

selection = sidebar()
model = require_model(selection)
dataset = model.dataset

st.title("Dataset-wide view")
st.caption(
    "Beyond one pair: what drives S over a sample of pairs, where the model does worse on held-out data, "
    "and how two models of the same dataset differ."
)
widgets.page_link(
    st,
    "app_pages/health.py",
    "Model health: metrics against baselines, attention heads, most-wrong pairs",
    icon=":material/monitor_heart:",
)
view = url.choice(
    st.radio,
    "View",
    list(VIEWS),
    "insights_view",
    "insight",
    "drivers",
    "view",
    format_func=VIEWS.get,
    horizontal=True,
    label_visibility="collapsed",
)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_importance(model_key: str, n_pairs: int, seed: int, kind: str, _model, _dataset):
    pairs = sample_pairs(_dataset, n_pairs, seed, catalog=_model.item_ids)
    if kind == "fields":
        return ig_importance(_model, pairs)
    return contribution_importance(_model, pairs, kind)


# ---- what drives S -------------------------------------------------------------------------------------
def drivers_view() -> None:
    url.write_url(user=None, item=None, slice_side=None, slice_by=None, model_a=None, model_b=None)
    groupings = feature_groupings(model)
    kinds = dict(groupings)
    kinds["fields"] = f"raw fields, Integrated Gradients (baseline “{default_baseline(model)}”)"
    controls = st.columns([2, 1, 3])
    n_pairs = controls[0].slider(
        "Pairs in the sample",
        50,
        1000,
        200,
        step=50,
        key="insights_pairs",
        help="Users in a seeded random order, each with up to 5 of their positives and as "
        "many items they never interacted with.",
    )
    seed = controls[1].number_input("Seed", 0, 10_000, 0, key="insights_seed")
    kind = controls[2].radio(
        "Importance of",
        list(kinds),
        format_func=kinds.get,
        key="insights_kind",
        index=list(kinds).index("families" if "families" in kinds else "dimensions"),
    )
    with st.spinner("Explaining the sample…"):
        importance = cached_importance(selection.model_key, int(n_pairs), int(seed), kind, model, dataset)
    pairs = importance.pairs
    if not len(pairs):
        st.info("This dataset has no positive interactions to sample pairs from.")
        return
    gap = float(abs(importance.values.sum(axis=1) - pairs["s"]).max()) if kind != "fields" else None
    st.caption(
        f"{len(pairs)} pairs ({int(pairs['label'].sum())} positives, {int((pairs['label'] == 0).sum())} "
        f"never-interacted items) of {pairs['user_id'].nunique()} users. "
        + (
            f"Exact split of S: each pair's values add up to S (largest gap {gap:.1e}). "
            if gap is not None
            else f"Integrated Gradients: each pair's values add up to {importance.total} (up to IG's "
            "convergence delta). "
        )
        + f"Colour: the feature's value, {escape_markdown(importance.value_meaning)}, scaled per feature over "
        "the sample."
    )
    from_ids = learned_from_ids(model, importance)
    if from_ids:
        full = importance.summary()
        share = full.loc[full["feature"].isin(from_ids), "mean_abs"].sum() / full["mean_abs"].sum()
        if st.checkbox(
            f"Leave out what is learned from ids ({len(from_ids)} feature{'s' if len(from_ids) > 1 else ''}"
            f", {share:.2%} of the mean |value|)",
            key="insights_drop_ids",
            help="The taste dimensions come from one-hot user and item ids: who liked what, not a named "
            "attribute. Leaving them out shows how the named attributes compare among themselves.",
        ):
            importance = importance.without(from_ids)
    summary = importance.summary()
    value_label = "contribution to S" if kind != "fields" else "IG attribution"
    left, right = st.columns([3, 2])
    left.plotly_chart(
        importance_summary(
            importance.values,
            importance.features,
            importance.names,
            title="Summary: one point per pair",
            value_label=value_label,
        ),
        width="stretch",
        key="insights_summary",
    )
    right.plotly_chart(
        importance_bars(summary, title=f"Mean |{value_label}|", value_label=f"mean |{value_label}|"),
        width="stretch",
        key="insights_bars",
    )
    with st.expander("All features as a table"):
        st.dataframe(
            summary,
            hide_index=True,
            width="stretch",
            column_config={
                "mean_abs": st.column_config.NumberColumn("mean |value|", format="%.4g"),
                "mean": st.column_config.NumberColumn("mean value", format="%+.4g"),
                "share_positive": st.column_config.NumberColumn("pushes S up", format="percent"),
            },
        )

    with st.expander("The sampled pairs"):
        st.dataframe(
            pairs,
            hide_index=True,
            width="stretch",
            column_config={"s": st.column_config.NumberColumn("S", format="%.4g")},
        )
    st.download_button(
        "Download per pair and feature (CSV)",
        lambda: safe_csv_bytes(importance.long_frame()),
        safe_filename(f"importance-{selection.model_name}-{kind}.csv"),
        mime="text/csv",
        key="insights_importance_csv",
        icon=":material/download:",
        help="One row per pair and feature: its value and its share; text cells are spreadsheet-safe",
    )

    st.subheader("Dependence")
    cols = st.columns(2)
    feature = cols[0].selectbox("Feature", list(summary["feature"]), key="insights_dependence_feature")
    value, share = importance.column(feature)
    cols[0].plotly_chart(
        dependence_scatter(
            value,
            share,
            f"{feature}: {importance.value_meaning}",
            f"{value_label} of {feature}",
            colour=pairs["s"],
            colour_label="S",
            hover=[f"user {u} · item {i}" for u, i in zip(pairs["user_id"], pairs["item_id"])],
            title="Its value against its share",
        ),
        width="stretch",
        key="insights_dependence",
    )
    side = cols[1].radio("S by a raw attribute of the", ["user", "item"], horizontal=True, key="insights_attr_side")
    table = dataset.users if side == "user" else dataset.items
    column = cols[1].selectbox("Attribute", [str(c) for c in table.columns], key=f"insights_attr_{side}")
    raw = attribute_values(dataset, pairs, side, column)
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
    if numeric:
        figure = dependence_scatter(
            raw,
            pairs["s"],
            f"{side}: {column}",
            "S",
            hover=[f"user {u} · item {i}" for u, i in zip(pairs["user_id"], pairs["item_id"])],
            title=f"S against {column}",
        )
    else:
        # A multi-valued attribute ("Mexican; Bar") shows each pair under each of its values; the 11 most
        # frequent values are kept, the rest shown as "(other)".
        values = slice_labels(explode_values(raw, multi_separator(dataset, side, column)))
        figure = attribute_strip(
            values, pairs["s"].reindex(values.index), "S", f"{side}: {column}", title=f"S per value of {column}"
        )
    cols[1].plotly_chart(figure, width="stretch", key="insights_attribute")


# ---- slices, two models (attnrec/app/insights_views.py) -------------------------------------------------
if view == "slices":
    slices_view(selection, model, dataset)
elif view == "models":
    models_view(selection, dataset)
else:
    drivers_view()
url.write_url(insight=view)

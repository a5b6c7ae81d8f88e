"""Recommend: the top-K items for a user, each with a one-line reason, and a what-if editor."""

import json

import pandas as pd
import streamlit as st

from attnrec.app import pickers, url, widgets
from attnrec.app.sidebar import require_model, sidebar
from attnrec.explain import METHODS
from attnrec.explain.model_targets import BASELINES, default_baseline
from attnrec.figures.explain import score_shift_bars
from attnrec.reasons import recommendations_with_reasons
from attnrec.safety import escape_markdown, safe_csv_bytes, safe_filename
from attnrec.whatif import explain_shift, shift_reason, what_if

st.title("Recommend")
st.caption(
    "The items this model ranks highest for a user, why (the two fields that set each item apart from "
    "the others in this list), and what changes when you edit the user."
)

selection = sidebar()
model = require_model(selection)
dataset = selection.dataset


@st.cache_data(show_spinner=False, max_entries=128)
def top_items(
    model_key: str, user_id: str, k: int, method_key: str, params_json: str, baseline: str, exclude_seen: bool, _model
):
    table, attribution = recommendations_with_reasons(
        _model, user_id, k, method_key, baseline, json.loads(params_json), exclude_seen=exclude_seen
    )
    return table, attribution


@st.cache_data(show_spinner=False, max_entries=64)
def edited_ranking(model_key: str, user_id: str, edited_json: str, k: int, exclude_seen: bool, _model):
    edited = pd.Series(json.loads(edited_json), name=user_id)
    result = what_if(_model, user_id, edited, exclude_seen=exclude_seen)
    table = result.table
    shown = table[(table["rank_before"] <= k) | (table["rank_after"] <= k)].sort_values("rank_after")
    shares = explain_shift(_model, result, list(shown["item_id"]))
    shown = shown.assign(why=[shift_reason(shares.loc[i]) if len(shares.columns) else "" for i in shown["item_id"]])
    return shown.reset_index(drop=True), result.edited_fields, shares


users = list(model.user_ids)
controls = st.columns([2, 1, 2, 1])
user_id = pickers.search_choice(
    "User", users, "explore_user", "user", users[0], "user", cache_key=selection.model_key, container=controls[0]
)
most = min(50, len(model.item_ids))  # a catalog can hold fewer than 10 items
k = controls[1].number_input("How many (K)", min_value=1, max_value=most, value=min(10, most))
methods = widgets.attribution_methods("fields")
method_key = url.choice(
    st.selectbox,
    "Reasons from",
    methods,
    "explore_method",
    "method",
    "ig",
    "attribution method",
    container=controls[2],
    format_func=lambda key: METHODS[key].name,
)
baseline = controls[3].selectbox(
    "Baseline",
    list(BASELINES),
    key="recommend_baseline",
    index=list(BASELINES).index(default_baseline(model)),
    help="What a field is compared with: all zeros, the average row, or a row whose every field is missing.",
)
exclude_seen = st.checkbox("Skip items this user already rated", value=True)
with st.expander("Method settings"):
    params = widgets.param_widgets(method_key, "recommend")
url.write_url(user=user_id, method=method_key, item=None)

with st.status("Ranking the catalog and explaining the top items…", expanded=False) as status:
    try:
        table, attribution = top_items(
            selection.model_key,
            user_id,
            int(k),
            method_key,
            json.dumps(params, sort_keys=True),
            baseline,
            exclude_seen,
            model,
        )
    except ValueError as error:  # e.g. exact Shapley over more fields than it can enumerate
        status.update(label="This method cannot explain these items", state="error")
        st.error(escape_markdown(error))
        st.stop()
    status.update(
        label=f"Top {len(table)} of {len(model.item_ids)} items for user {escape_markdown(user_id)}", state="complete"
    )

st.subheader(f"Top {len(table)} for user {escape_markdown(user_id)}")
tied = table["ties"] > 0
st.dataframe(
    table.drop(columns=["reason"] + ([] if tied.any() else ["ties"])),  # the ties column only where it says something
    hide_index=True,
    width="stretch",
    column_config={
        "rank": st.column_config.NumberColumn("rank", width="small"),
        "item_id": st.column_config.TextColumn("item", width="small"),
        "name": st.column_config.TextColumn("name", width="medium"),
        "s": st.column_config.NumberColumn("S", format="%.3f"),
        "probability": st.column_config.ProgressColumn("probability", min_value=0.0, max_value=1.0, format="%.2f"),
        "ties": st.column_config.NumberColumn(
            "tied with", width="small", help="Other items with exactly this S (listed in catalog order)"
        ),
    },
)
if tied.any():
    beyond = int(table["ties"].iloc[-1]) - int((table["s"] == table["s"].iloc[-1]).sum() - 1)
    st.caption(
        f"{int(tied.sum())} of these items score exactly the same S as another item: their order among each other "
        "is the catalog's, not the model's."
        + (f" {beyond} more item(s) not listed score exactly as much as number {len(table)}." if beyond > 0 else "")
    )
st.markdown(
    "**Why each item** — the two fields that set it apart from the others in this list (its field "
    "attribution minus their average over the list)"
)
# A static table wraps long reasons instead of cutting them off. st.table renders Markdown in its cells, so every
# data-derived cell goes through the one escaping helper and shows as typed.
st.table(
    table[["rank", "item_id", "reason"]]
    .rename(columns={"item_id": "item", "reason": "why this item"})
    .assign(
        item=lambda f: f["item"].map(escape_markdown),
        **{"why this item": lambda f: f["why this item"].map(escape_markdown)},
    )
    .set_index("rank")
)
st.download_button(
    "Download the list (CSV)",
    safe_csv_bytes(table),
    file_name=f"{safe_filename(f'recommendations_{user_id}', default='recommendations')}.csv",
    mime="text/csv",
    key="recommend_csv",
)

# ---- what-if ---------------------------------------------------------------------------------------
st.subheader("What if this user were different?")
read = model.featurizer.read_columns("user")
if not read:  # e.g. users profiled from the items they liked: no attribute reaches the model
    st.info(
        "This model reads none of the user's attributes: its user side is built from the user's id"
        + (" and the items they liked (a history profile)" if model.config.get("user_profile") == "history" else "")
        + ", so editing an attribute cannot move any score. Choose a model trained on user columns (a latent "
        "model, or an aligned one whose dimensions pair user and item columns) to ask what-if questions.",
        icon=":material/info:",
    )
    st.stop()
unread = [c for c in dataset.users.columns if c not in read]
st.caption(
    "Edit any attribute (multi-valued cells use the same separator as the data, e.g. “Mexican; Thai”). "
    "Items are re-scored with the edited user; each item's change in S is split exactly over the "
    "edited fields (Shapley values with the original user as the baseline)."
    + (
        f" Only the {len(read)} attributes this model reads are listed; "
        + escape_markdown(", ".join(unread))
        + " never reach it."
        if unread
        else ""
    )
)
raw = dataset.users.loc[user_id, [c for c in dataset.users.columns if c in read]]
original = pd.DataFrame(
    {"attribute": [str(c) for c in raw.index], "value": ["" if pd.isna(v) else str(v) for v in raw.to_numpy()]}
)
edited = st.data_editor(
    original,
    key=f"whatif_editor_{user_id}",
    hide_index=True,
    num_rows="fixed",
    disabled=["attribute"],
    width="stretch",
    column_config={"value": st.column_config.TextColumn("value", width="large")},
)
edited_row = {
    a: (None if v is None or str(v).strip() == "" else str(v)) for a, v in zip(edited["attribute"], edited["value"])
}
original_row = {a: (None if v == "" else v) for a, v in zip(original["attribute"], original["value"])}
if edited_row == original_row:
    st.info("Edit a value above to see which items move.")
else:
    # Keep the raw types of untouched numeric columns: the featurizer parses numbers from text anyway.
    shown, edited_fields, shares = edited_ranking(
        selection.model_key, user_id, json.dumps(edited_row, sort_keys=True), int(k), exclude_seen, model
    )
    if not edited_fields:
        st.warning(
            "The edit does not change the encoded user (an unknown category or the same number), so no score moves."
        )
    else:
        st.write("Edited fields the model sees: " + ", ".join(f"**{escape_markdown(f)}**" for f in edited_fields))
    # One above the other: side by side, the table lost its last columns and the bars' value labels ran off the
    # chart at 1280 px.
    left, right = st.container(), st.container()
    shown = shown.assign(name=[dataset.item_name(i) or "" for i in shown["item_id"]])
    left.dataframe(
        shown[
            ["item_id", "name", "rank_before", "rank_after", "rank_change", "s_before", "s_after", "delta_s", "why"]
        ].drop(columns=[] if dataset.schema.get("item_name") else ["name"]),
        hide_index=True,
        width="stretch",
        column_config={
            **{c: st.column_config.NumberColumn(c, format="%.4g") for c in ("s_before", "s_after")},
            "delta_s": st.column_config.NumberColumn("ΔS", format="%+.3g"),
        },
    )
    right.plotly_chart(
        score_shift_bars(
            shown.assign(label=[dataset.item_label(i) for i in shown["item_id"]])
            .sort_values("delta_s", key=abs, ascending=False)
            .head(15),
            label_column="label",
        ),
        width="stretch",
        key="whatif_shift",
    )

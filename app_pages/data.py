"""Data: bring your own tables and model — upload, map columns, validate, train, download, upload weights.

Everything uploaded is untrusted: reading goes through attnrec.data.uploads (size limits, zip
defences, strict CSV/Parquet), weights through attnrec.checkpoint_upload (safetensors + JSON only).
A failed step shows its message and leaves the last good tables, datasets and models in place.
User strings reach the screen only as widget options, dataframes, or escaped Markdown.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from attnrec.app import session
from attnrec.app.data_sections import (
    checkpoints_section,
    show_error,
    train_section,
    training_progress,
    workspace_section,
)
from attnrec.app.memo import remembered  # the suggestions scan whole tables: once per upload
from attnrec.app.sidebar import sidebar
from attnrec.data.mapping import (
    FEATURE_ROLES,
    build_schema,
    positive_share,
    suggest_id_column,
    suggest_name_column,
    suggest_roles,
    suggest_threshold,
    suggest_timestamp,
)
from attnrec.data.types import DataError
from attnrec.data.upload_state import UploadState, dataset_from_mapping
from attnrec.data.uploads import TABLE_ROLES
from attnrec.limits import LIMITS
from attnrec.safety import escape_markdown

NO_LABEL = "(none: every row is a positive)"
NO_TIMESTAMP = "(none: the hold-out is a seeded random positive)"
NO_ITEM_NAME = "(none: ids only)"

uploads: UploadState = st.session_state.setdefault("data_uploads", UploadState())
datasets: dict = st.session_state.setdefault("user_datasets", {})
models: dict = st.session_state.setdefault("user_models", {})
for saved_name in session.saved_dataset_names():  # kept in an earlier session: train on it, upload a model for it
    if saved_name not in datasets:
        try:
            datasets[saved_name] = session.get_dataset(saved_name)
        except (DataError, OSError, ValueError) as err:
            st.warning(
                escape_markdown(f"Saved dataset '{saved_name}' could not be read: {err}"), icon=":material/warning:"
            )


def table_key(role: str) -> str:
    """Widget keys that change when a table is replaced, so mapping widgets reset to fresh suggestions."""
    return f"{role}-{hash(uploads.fingerprints.get(role) or uploads.fingerprints.get('zip'))}"


def pick(label: str, options: list, default, key: str, **kwargs):
    index = options.index(default) if default in options else 0
    return st.selectbox(label, options, index=index, key=key, **kwargs)


def roles_editor(side: str, table: pd.DataFrame, id_column: str) -> tuple[dict, dict]:
    """An editable role per column → (column → role, "side:column" → separator)."""
    suggested = remembered(f"roles:{side}", (table_key(side + "s"), id_column), lambda: suggest_roles(table, id_column))
    frame = pd.DataFrame(
        {
            "column": list(suggested),
            "role": list(suggested.values()),
            "separator": [";" if r == "multi" else "" for r in suggested.values()],
            "example": [str(table[c].iloc[0])[:40] for c in suggested],
        }
    )
    edited = st.data_editor(
        frame,
        key=f"data_roles_{side}_{table_key(side + 's')}_{id_column}",
        hide_index=True,
        num_rows="fixed",
        width="stretch",
        disabled=["column", "example"],
        column_config={
            "role": st.column_config.SelectboxColumn("role", options=list(FEATURE_ROLES), required=True),
            "separator": st.column_config.TextColumn("separator (multi)", max_chars=3),
        },
    )
    roles = dict(zip(edited["column"], edited["role"]))
    separators = {f"{side}:{c}": (s or ";") for c, s in zip(edited["column"], edited["separator"])}
    return roles, separators


sidebar(link_to_data=False)  # lists this session's datasets and models as soon as they are kept
st.title("Your data")
st.caption(
    "Upload users, items and interactions tables, map their columns, and keep the result as a dataset "
    f"for every page of this session. Files up to {LIMITS.file_bytes // 2**20} MB each "
    "(server.maxUploadSize in .streamlit/config.toml); nothing you upload is ever executed."
)

# ---- 1. upload -----------------------------------------------------------------------------------
st.subheader("1 · Upload tables")
tab_files, tab_zip = st.tabs(["Three files", "One zip"])
with tab_files:
    for column, role in zip(st.columns(3), TABLE_ROLES):
        # No `type=` filter: Streamlit would raise on a wrong suffix; our reader says what is wrong instead.
        upload = column.file_uploader(f"{role.capitalize()} (.csv / .parquet)", key=f"data_upload_{role}")
        if upload is not None:
            uploads.accept_table(role, upload.name, upload.getvalue(), fingerprint=upload.file_id)
        else:
            uploads.withdraw(role)  # the failed file was removed: its message goes with it
with tab_zip:
    upload = st.file_uploader(
        "A zip holding users, items and interactions tables (file names say which is which)", key="data_upload_zip"
    )
    if upload is not None:
        uploads.accept_zip(upload.name, upload.getvalue(), fingerprint=upload.file_id)
    else:
        uploads.withdraw("zip")
for slot, message in uploads.errors.items():
    kept = " The previous table is kept." if slot in uploads.tables or slot == "zip" else ""
    show_error(f"{slot}: {message}.{kept}")

if uploads.tables:
    with st.expander("Preview", expanded=not uploads.complete):
        for role, table in uploads.tables.items():
            st.markdown(
                f"**{role}** — {escape_markdown(uploads.sources.get(role, ''))}: "
                f"{len(table)} rows × {len(table.columns)} columns"
            )
            preview = table.head(8).copy()
            preview.attrs = {}  # row bookkeeping for error messages; not for display
            st.dataframe(preview, hide_index=True)

# ---- 2. map columns --------------------------------------------------------------------------------
mapping = None
if uploads.complete:
    st.subheader("2 · Map columns to roles")
    users, items, interactions = (uploads.tables[r] for r in TABLE_ROLES)
    left, right = st.columns(2)
    with left:
        user_id = pick(
            "User id column (users table)",
            list(users.columns),
            remembered("id:users", table_key("users"), lambda: suggest_id_column(users, "user")),
            key=f"data_user_id_{table_key('users')}",
        )
        interaction_user = pick(
            "… the same id in the interactions table",
            list(interactions.columns),
            user_id,
            key=f"data_inter_user_{table_key('interactions')}",
        )
    with right:
        item_id = pick(
            "Item id column (items table)",
            list(items.columns),
            remembered("id:items", table_key("items"), lambda: suggest_id_column(items, "item")),
            key=f"data_item_id_{table_key('items')}",
        )
        interaction_item = pick(
            "… the same id in the interactions table",
            list(interactions.columns),
            item_id,
            key=f"data_inter_item_{table_key('interactions')}",
        )
    id_columns = (interaction_user, interaction_item)
    time_column = suggest_timestamp(interactions, exclude=id_columns)
    label_options = [NO_LABEL] + [c for c in interactions.columns if c not in id_columns]
    left, middle, right = st.columns(3)
    with left:
        rating_like = [c for c in label_options[1:] if c != time_column]
        label = pick(
            "Label or rating column",
            label_options,
            rating_like[0] if rating_like else NO_LABEL,
            key=f"data_label_{table_key('interactions')}",
        )
    threshold = None
    if label != NO_LABEL:
        threshold = middle.number_input(
            "Positive when the value is ≥",
            value=float(
                remembered(
                    "threshold", (table_key("interactions"), label), lambda: suggest_threshold(interactions[label])
                )
            ),
            key=f"data_threshold_{table_key('interactions')}_{label}",
            help="Suggested: the upper part of the scale (1–5 stars → 4, the usual convention); rows under it "
            "are observed negatives.",
        )
        share, counted, unreadable = remembered(
            "share",
            (table_key("interactions"), label, threshold),
            lambda: positive_share(interactions[label], threshold),
        )
        if counted:
            middle.caption(
                escape_markdown(
                    f"{share:.0%} of rows are positives "
                    f"({round(share * counted):,} of {counted:,} rows ≥ {threshold:g})"
                    + (f"; {unreadable:,} row(s) are not numbers (validation names them)" if unreadable else "")
                )
            )
    with right:
        time_options = [NO_TIMESTAMP] + [c for c in interactions.columns if c not in (*id_columns, label)]
        timestamp = pick(
            "Timestamp column",
            time_options,
            time_column or NO_TIMESTAMP,
            key=f"data_timestamp_{table_key('interactions')}_{label}",
            help="Numbers (e.g. Unix seconds) or dates. With one, evaluation holds out each user's "
            "latest positive (ties: the row last in the file); without, a seeded random one.",
        )
    st.markdown("**User columns**")
    user_roles, user_separators = roles_editor("user", users, user_id)
    st.markdown("**Item columns**")
    item_roles, item_separators = roles_editor("item", items, item_id)
    st.caption(
        "Roles: categorical, numeric and multi are features; ignore keeps a column for display only; hide "
        "drops it from the kept tables (e.g. a geometry column nobody needs to read)."
    )
    name_options = [NO_ITEM_NAME] + [c for c in items.columns if c != item_id]
    item_name_column = pick(
        "Item names (shown beside ids on every page)",
        name_options,
        suggest_name_column(items, item_id) or NO_ITEM_NAME,
        key=f"data_item_name_{table_key('items')}_{item_id}",
    )
    with st.expander("Aligned user ↔ item pairs (optional: same-meaning columns on both sides)"):
        pairs = st.data_editor(
            pd.DataFrame(
                {
                    "user": pd.Series(dtype=str),
                    "item": pd.Series(dtype=str),
                    "name": pd.Series(dtype=str),
                    "kind": pd.Series(dtype=str),
                }
            ),
            key=f"data_pairs_{table_key('users')}_{table_key('items')}",
            num_rows="dynamic",
            hide_index=True,
            column_config={
                "user": st.column_config.SelectboxColumn("user column", options=list(users.columns)),
                "item": st.column_config.SelectboxColumn("item column", options=list(items.columns)),
                "kind": st.column_config.SelectboxColumn("kind", options=["categorical", "multi", "numeric"]),
            },
        )
        aligned_pairs = [
            {k: row[k] for k in ("user", "item", "name", "kind") if isinstance(row[k], str) and row[k]}
            for _, row in pairs.iterrows()
            if isinstance(row["user"], str) and isinstance(row["item"], str)
        ]
    name = st.text_input("Dataset name", value="my data", max_chars=60, key="data_dataset_name")
    mapping = dict(
        user_id=user_id,
        item_id=item_id,
        interaction_user=interaction_user,
        interaction_item=interaction_item,
        label_column=None if label == NO_LABEL else label,
        label_threshold=threshold,
        user_roles=user_roles,
        item_roles=item_roles,
        timestamp=None if timestamp == NO_TIMESTAMP else timestamp,
        separators={**user_separators, **item_separators},
        aligned_pairs=aligned_pairs,
        item_name=None if item_name_column == NO_ITEM_NAME else item_name_column,
    )

    # ---- 2b. validate and keep ----------------------------------------------------------------------
    keep, download = st.columns([1, 1])
    blocked = next(iter(uploads.errors), None)
    if keep.button(
        "Validate and keep this dataset",
        type="primary",
        key="data_keep",
        disabled=blocked is not None,
        help=f"Fix or remove the failed {blocked} upload first" if blocked else None,
    ):
        try:
            if name.strip() in session.BUILTIN_DATASETS:
                raise DataError(f"'{name.strip()}' is the name of a built-in dataset; pick another name")
            dataset, schema = dataset_from_mapping(
                uploads.ready_tables(), mapping, name, source=", ".join(uploads.sources.values())
            )
        except DataError as err:
            show_error(f"{err}. Nothing was kept; fix the file or the mapping and try again.")
        else:
            datasets[dataset.name] = dataset
            st.session_state["data_last_kept"] = dataset.name
            # Train on what was just kept: the selector below may already hold a dataset kept earlier (this session
            # or, from the workspace, another), which it would otherwise keep showing.
            st.session_state["data_train_dataset"] = dataset.name
            st.session_state["data_save_problem"] = session.save_to_workspace(dataset)
            st.rerun()  # the sidebar, drawn above, lists the new dataset on the next run
    try:
        schema = build_schema(**{k: v for k, v in mapping.items() if not k.startswith("interaction_")}, name=name)
        download.download_button(
            "Download schema.json (for the CLI)",
            json.dumps(schema, indent=2),
            file_name="schema.json",
            mime="application/json",
            key="data_schema_download",
        )
    except DataError as err:
        download.caption(escape_markdown(f"No schema yet: {err}"))

if st.session_state.get("data_last_kept") in datasets:
    kept = datasets[st.session_state["data_last_kept"]]
    st.success(
        escape_markdown(
            f"Kept dataset '{kept.name}': {len(kept.users)} users, {len(kept.items)} items, "
            f"{len(kept.interactions)} interactions ({int(kept.interactions['label'].sum())} "
            f"positive). It is listed in the sidebar on every page."
        )
    )
    for note in kept.notes:
        st.warning(escape_markdown(f"Dataset '{kept.name}': {note}"), icon=":material/warning:")

# ---- 3. train, 4. checkpoints, 5. workspace (attnrec/app/data_sections.py) ----------------------------------
train_section(datasets)
training_progress(models)
checkpoints_section(models, datasets)
workspace_section(models, datasets)

"""The trust report card as the app shows it: the grouping and reference it scores against, its two tables
with their headers, formats and help, and the reason behind each verdict. The card's numbers come from
attnrec.trust (pure); only how they are laid out lives here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from attnrec.figures.explain import style_report_card
from attnrec.trust import CARD_COLUMNS
from attnrec.trust_plan import ReferencePlan, grouping_options, plan_for

if TYPE_CHECKING:
    from streamlit.elements.lib.mutable_status_container import StatusContainer

    from attnrec.model import Recommender

# Column headers and help for the report card table (keys: CARD_COLUMNS), and the number formats.
CARD_LABELS = {
    "method": ("method", None),
    "verdict": (
        "verdict",
        "faithful: ranks groups like the reference (τ ≥ 0.8, top-k ≥ 80%) and adds up "
        "(gap ≤ 5%); approximate: τ ≥ 0.5 and top-k ≥ 50%; unfaithful: otherwise.",
    ),
    "max_abs_error": ("max |err|", "Largest |attribution − reference| over the groups."),
    "kendall_tau": ("τ", "Kendall τ with the reference over the groups (1 = same order)."),
    "top_k_overlap": ("top-k", "Share of the reference's k largest-|·| groups that the method also puts in its top k."),
    "completeness_gap": ("gap", "Completeness gap: Σ attributions − (S − S(baseline)); 0 = adds up exactly."),
    "relative_gap": ("rel. gap", "|completeness gap| as a share of |S − S(baseline)|."),
    "erase_top_k": (
        "erase top-k",
        "Attention only (its weights are not shares of S): |S change| from erasing the "
        "k most-attended dimensions, as a share of the change from erasing the reference's "
        "top k. The reason compares k random dimensions.",
    ),
    "infidelity": (
        "infidelity",
        "Captum infidelity (normalized): how badly Σ attributions of randomly dropped "
        "groups predicts the score drop. Lower is better.",
    ),
    "sensitivity_max": (
        "sensitivity",
        "Captum sensitivity_max relative to the attribution's size: the largest "
        "change of the explanation for a ±2% input nudge. Lower is steadier.",
    ),
    "deletion_auc": (
        "deletion",
        "Area under the deletion curve: removing top groups first should make the score fall fast. Lower is better.",
    ),
    "insertion_auc": (
        "insertion",
        "Area under the insertion curve: restoring top groups first should make the score rise fast. Higher is better.",
    ),
    "reason": ("why", None),
}
CARD_FORMATS = {
    "max_abs_error": "{:.2g}",
    "completeness_gap": "{:+.1e}",
    "relative_gap": "{:.0%}",
    "erase_top_k": "{:.0%}",
    "infidelity": "{:.1e}",
    "sensitivity_max": "{:.3g}",
    "kendall_tau": "{:+.2f}",
    "top_k_overlap": "{:.0%}",
    "deletion_auc": "{:.2f}",
    "insertion_auc": "{:.2f}",
}
# The card in two tables that fit the page: what needs the reference, and what the model itself scores.
CARD_PARTS = {
    "against the reference": list(CARD_COLUMNS[:8]),  # method … erase_top_k
    "scored by the model itself": ["method", *CARD_COLUMNS[8:12]],  # infidelity … insertion_auc
}


def card_plan(model: Recommender, level: str, key: str) -> tuple[str, ReferencePlan]:
    """The grouping the card scores (a radio when the model offers more than one, under `key`) and its
    reference plan, said on the page: exact ground truth, or why not."""
    groupings = grouping_options(model, level)
    grouping = "level"
    if len(groupings) > 1:
        grouping = st.radio(
            "Groups the card scores",
            list(groupings),
            format_func=groupings.get,
            horizontal=True,
            key=key,
        )
    plan = plan_for(model, level, grouping)
    (st.success if plan.exact else st.warning)(plan.message)
    return grouping, plan


def status_progress(status: StatusContainer) -> Callable[[str, float], None]:
    """A progress callback that writes into `status`'s label."""

    def progress(label: str, done: float) -> None:
        # Only the label: element calls made inside a cached function would be replayed on a cache hit.
        status.update(label=f"{label} ({done:.0%})")

    return progress


def report_card_view(table: pd.DataFrame, note: str) -> None:
    """The report card as two tables (against the reference; scored by the model itself), a caption and
    the reason behind each verdict. `table` is `attnrec.trust.card_table(...)`; its row 0 is the reference."""
    for title, columns in CARD_PARTS.items():
        st.caption(f"**{title.capitalize()}**")
        st.dataframe(
            style_report_card(table[columns], formats=CARD_FORMATS, skip_rows=[0]),
            hide_index=True,
            width="stretch",
            column_config={
                c: st.column_config.Column(label=CARD_LABELS[c][0], help=CARD_LABELS[c][1]) for c in columns
            },
        )
    st.caption(note)
    with st.expander("Why each verdict"):
        st.markdown("\n".join(f"- **{r.method}** — {r.verdict}: {r.reason}" for r in table.itertuples()))

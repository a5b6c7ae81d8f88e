"""The trust report card for the pages: which methods it scores, running it with progress, its table and
curves, and the verdict words. Pure: no Streamlit (how the app shows it: attnrec.app.report_card).

Which methods run where comes from the registry (`MethodSpec.applies`), never from a method's key; the
groups and the reference come from attnrec.trust_plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import pandas as pd

from attnrec.explain import METHODS, explain
from attnrec.explain.registry import method_name
from attnrec.explain.report import ReportCard, report_card
from attnrec.trust_plan import reference_plan

if TYPE_CHECKING:
    from attnrec.explain.target import ExplainTarget

# Report-card columns in display order (names match attnrec.figures.explain.style_report_card).
CARD_COLUMNS = (
    "method",
    "verdict",
    "max_abs_error",
    "kendall_tau",
    "top_k_overlap",
    "completeness_gap",
    "relative_gap",
    "erase_top_k",
    "infidelity",
    "sensitivity_max",
    "deletion_auc",
    "insertion_auc",
    "reason",
)


def verdict_word(text: str) -> str:
    """The verdict's leading words: "agree", "partly agree", "disagree", "contradict", "faithful", …"""
    return text.split(":")[0].strip()


def verdict_tone(text: str) -> str:
    """ "success" | "info" | "warning" for a verdict's first word (faithful / agree … unfaithful / disagree)."""
    word = text.split(":")[0].split(" ")[0].strip().lower()
    if word in ("faithful", "agree", "passes"):
        return "success"
    if word in ("approximate", "partly"):
        return "info"
    return "warning"


def card_methods(
    level: str, chosen: Sequence[str], reference_key: str | None = None, n_groups: int | None = None
) -> list[str]:
    """Registry keys the card scores: `chosen` that apply at `level` to `n_groups` groups (the reference
    itself is always the card's first row, so it is left out here), plus attention read as importance at the
    dimension level."""
    keys = [k for k in chosen if METHODS[k].applies(level, n_groups) and k != reference_key]
    if level == "dimensions" and "attention" not in keys:
        keys.append("attention")
    return list(dict.fromkeys(keys))


def not_shares_of_s(keys: Sequence[str]) -> str:
    """The card caption's warning, from the registry (`MethodSpec.share_of_s`): which of `keys` are gradients or
    weights rather than amounts of S, so that their gap and error are large by construction ("" if none)."""
    names = [METHODS[k].name for k in dict.fromkeys(keys) if k in METHODS and not METHODS[k].share_of_s]
    if not names:
        return ""
    return (
        f"Not shares of S, so their gap and error are large by construction (judge them on τ, top-k and the "
        f"curves): {', '.join(names)}."
    )


def run_report_card(
    target: ExplainTarget,
    methods: Sequence[str],
    params: dict | None = None,
    *,
    k: int = 3,
    infidelity_samples: int = 20,
    sensitivity_samples: int = 3,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> ReportCard:
    """`report_card(target, methods, params, …)` with progress reports.

    Each method's attributions are computed first (one progress step each) and handed to report_card
    as `extra`; it then scores them against its own reference. report_card runs a method exactly like
    this (explain(target, key, params[key])), so every number and verdict equals a direct call."""
    params = params or {}
    plan = reference_plan(len(target.groups), level=target.level)
    keys = [k for k in methods if METHODS[k].applies(target.level, plan.n_groups) and k != plan.key]
    attributions = {}
    for number, key in enumerate(keys):
        if progress:
            progress(f"Attributions: {method_name(key)}", number / (len(keys) + 1))
        attributions[key] = explain(target, key, params.get(key))
    if progress:
        progress(
            f"Scoring {len(keys)} method(s) against {method_name(plan.key)} (infidelity, sensitivity, "
            "deletion / insertion)…",
            len(keys) / (len(keys) + 1),
        )
    card = report_card(
        target,
        methods=(),
        params=params,
        k=k,
        extra=attributions,
        infidelity_samples=infidelity_samples,
        sensitivity_samples=sensitivity_samples,
        seed=seed,
    )
    if progress:
        progress("Report card done", 1.0)
    return card


def card_table(card: ReportCard) -> pd.DataFrame:
    """One row per method (the reference first): verdict, the medians over pairs, the reason.

    completeness_gap is the median signed Σattr − (S − S(baseline)) (for one pair: its gap);
    sensitivity_max is Captum's sensitivity_max relative to the attribution's size."""
    per_pair = card.per_pair.groupby("method", sort=False)
    gap = per_pair["completeness_gap"].median()
    rows = []
    for row in card.summary.itertuples(index=False):
        erase = getattr(row, "erase_tested_ratio", np.nan)
        rows.append(
            {
                "method": row.name,
                "verdict": row.verdict,
                "max_abs_error": row.max_abs_error,
                "kendall_tau": row.kendall_tau,
                "top_k_overlap": row.top_k_overlap,
                "completeness_gap": float(gap[row.method]),
                "relative_gap": row.relative_gap,
                "erase_top_k": erase,
                "infidelity": row.infidelity,
                "sensitivity_max": row.sensitivity,
                "deletion_auc": row.deletion_auc,
                "insertion_auc": row.insertion_auc,
                "reason": row.reason,
            }
        )
    return pd.DataFrame(rows, columns=list(CARD_COLUMNS))


def curves_frame(card: ReportCard) -> pd.DataFrame:
    """Long frame (method name, fraction of groups moved, deletion, insertion) of the mean curves."""
    frames = []
    for key, curve in card.curves.items():
        steps = len(curve["deletion"])
        frames.append(
            pd.DataFrame(
                {
                    "method": method_name(key),
                    "fraction": np.linspace(0.0, 1.0, steps),
                    "deletion": curve["deletion"],
                    "insertion": curve["insertion"],
                }
            )
        )
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["method", "fraction", "deletion", "insertion"])
    )

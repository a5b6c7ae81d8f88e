"""The trust report card: for each method (and attention read as importance), how well it explains S.

For every pair: error against exact Shapley (max |·|, Kendall τ, top-k overlap), the completeness gap,
Captum's infidelity and sensitivity, and deletion / insertion areas. Then one row per method with the
medians and a plain-words verdict ("faithful", "approximate", "unfaithful") and the reason for it.
A target of one pair gives that pair's card; a target of B pairs gives the aggregate.

Everything that ranks groups (Kendall τ, top-k overlap, the deletion / insertion order) ranks them as
the model resolves them (`attnrec.explain.metrics.snap_noise`): attributions closer than float32
rounding of the pair's score are ties, so a card never depends on torch's thread count or batch layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attnrec.explain.attribution import Attribution
from attnrec.explain.engine import explain
from attnrec.explain.erasure import top_k_erasure
from attnrec.explain.metrics import (
    deletion_insertion,
    infidelity_rows,
    kendall_tau_rows,
    max_abs_error,
    sensitivity_rows,
    snap_noise,
    top_k_overlap,
)
from attnrec.explain.registry import METHODS
from attnrec.explain.target import ExplainTarget

__all__ = [
    "ReportCard",
    "report_card",
    "verdict",
    "attention_verdict",
    "reference_for",
    "THRESHOLDS",
    "DEFAULT_METHODS",
    "EXACT_REFERENCE",
    "SAMPLED_REFERENCE",
    "SAMPLING_PERMUTATIONS",
]

# The card's reference (the one place it is chosen): exact Shapley wherever it applies (`MethodSpec.max_groups`),
# else Shapley Value Sampling with SAMPLING_PERMUTATIONS permutations — itself an estimate.
EXACT_REFERENCE = "shapley_exact"
SAMPLED_REFERENCE = "shapley_sampling"
SAMPLING_PERMUTATIONS = 200

DEFAULT_METHODS = (
    "ig",
    "saliency",
    "input_x_gradient",
    "deeplift",
    "gradient_shap",
    "feature_ablation",
    "shapley_sampling",
    "noise_tunnel",
    "attention",
)

# Faithful: ranks groups like the reference and adds up to the score change it explains.
THRESHOLDS = {
    "faithful_tau": 0.8,
    "faithful_top_k": 0.8,
    "faithful_gap": 0.05,
    "approximate_tau": 0.5,
    "approximate_top_k": 0.5,
}


@dataclass
class ReportCard:
    reference: str  # EXACT_REFERENCE, or SAMPLED_REFERENCE where exact Shapley does not apply
    k: int
    per_pair: pd.DataFrame  # method, pair, and every metric
    summary: pd.DataFrame  # one row per method: medians, verdict, reason
    curves: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # mean deletion/insertion
    attributions: dict[str, Attribution] = field(default_factory=dict)

    def verdicts(self) -> dict[str, str]:
        return dict(zip(self.summary["method"], self.summary["verdict"]))


def verdict(tau: float, top_k: float, relative_gap: float, k: int) -> tuple[str, str]:
    """(verdict, reason in plain words) from median τ, mean top-k overlap and median relative gap."""
    t = THRESHOLDS
    tau = -1.0 if np.isnan(tau) else tau
    ranks = f"Kendall τ {tau:+.2f} with the reference, top-{k} overlap {top_k:.0%}"
    adds = (
        f"sums to the score change within {relative_gap:.1%}"
        if relative_gap <= t["faithful_gap"]
        else f"misses the score change by {relative_gap:.0%}"
    )
    if tau >= t["faithful_tau"] and top_k >= t["faithful_top_k"] and relative_gap <= t["faithful_gap"]:
        return "faithful", f"ranks groups like the reference ({ranks}) and {adds}"
    if tau >= t["approximate_tau"] and top_k >= t["approximate_top_k"]:
        return "approximate", f"roughly the reference's ranking ({ranks}); {adds}"
    return "unfaithful", f"ranks groups unlike the reference ({ranks}); {adds}"


def attention_verdict(
    tau: float, top_k: float, erase: float, erase_random: float, erase_uniform: float, k: int
) -> tuple[str, str]:
    """(verdict, reason) for attention read as importance. Attention weights are not in units of S, so there is
    no sum to check; instead: does erasing its top-k change S as much as erasing the reference's top-k (≥ 90 %),
    and far more than k random dimensions (at most half as much)?"""
    t = THRESHOLDS
    tau = -1.0 if np.isnan(tau) else tau
    ranks = f"Kendall τ {tau:+.2f} with the reference, top-{k} overlap {top_k:.0%}"
    erasure = (
        (
            f"erasing its top {k} changes S {erase:.0%} as much as erasing the reference's top {k} "
            f"(random {k}: {erase_random:.0%}"
            + (
                f"; the |X·Y| order uniform attention would give: {erase_uniform:.0%}"
                if np.isfinite(erase_uniform)
                else ""
            )
            + ")"
        )
        if np.isfinite(erase)
        else "nothing to erase"
    )
    erases = np.isfinite(erase) and erase >= 0.9 and erase_random <= 0.5 * erase
    if tau >= t["faithful_tau"] and top_k >= t["faithful_top_k"] and erases:
        return "faithful", f"points at what moves S ({ranks}); {erasure}"
    if tau >= t["approximate_tau"] and top_k >= t["approximate_top_k"]:
        return "approximate", f"roughly the reference's ranking ({ranks}); {erasure}"
    return "unfaithful", f"ranks dimensions unlike the reference ({ranks}); {erasure}"


def reference_for(level: str, n_groups: int) -> tuple[str, dict | None]:
    """(registry key, params) of the reference `report_card(reference="auto")` uses for `n_groups` groups."""
    if METHODS[EXACT_REFERENCE].applies(level, n_groups):
        return EXACT_REFERENCE, None
    return SAMPLED_REFERENCE, {"n_samples": SAMPLING_PERMUTATIONS}


def _reference(target: ExplainTarget, reference: str) -> tuple[str, Attribution]:
    if reference == "auto":
        reference, params = reference_for(target.level, len(target.groups))
    else:
        params = {"n_samples": SAMPLING_PERMUTATIONS} if reference == SAMPLED_REFERENCE else None
    return reference, explain(target, reference, params)


def report_card(
    target: ExplainTarget,
    methods=DEFAULT_METHODS,
    params: dict | None = None,
    *,
    k: int = 3,
    reference: str = "auto",
    extra: dict[str, Attribution] | None = None,
    infidelity_samples: int = 20,
    sensitivity_samples: int = 3,
    seed: int = 0,
) -> ReportCard:
    """Score `methods` (keys of the registry, with optional `params[key]`) and `extra` attributions.

    reference: "auto" = `reference_for` (exact Shapley where it applies, else Shapley sampling with
    SAMPLING_PERMUTATIONS permutations, itself approximate — the card says so). Methods that do not apply
    to the target (`MethodSpec.applies`: attention at the fields level, exact Shapley past its groups) are
    skipped. sensitivity_samples=0 skips sensitivity.
    """
    params = params or {}
    ref_key, ref = _reference(target, reference)
    attributions = {
        key: explain(target, key, params.get(key))
        for key in methods
        if METHODS[key].applies(target.level, len(target.groups)) and key != ref_key
    }
    attributions = {ref_key: ref, **attributions, **(extra or {})}
    ref_order, ref_size = _resolved(ref)
    rows, curves, summary = [], {}, []
    for name, attr in attributions.items():
        order, size = _resolved(attr)
        di = deletion_insertion(target, order)
        metrics = {
            "max_abs_error": max_abs_error(attr.groups, ref.groups),
            "kendall_tau": kendall_tau_rows(order, ref_order),
            "top_k_overlap": top_k_overlap(size, ref_size, k),
            "completeness_gap": attr.completeness_gap,
            "relative_gap": attr.relative_gap,
            "infidelity": infidelity_rows(target, attr.user, attr.item, infidelity_samples, seed=seed)
            if infidelity_samples
            else np.full(target.batch_size, np.nan),
            "sensitivity": _sensitivity(target, name, attr, sensitivity_samples, seed),
            "deletion_auc": di["deletion_auc"],
            "insertion_auc": di["insertion_auc"],
            "ins_minus_del": di["ins_minus_del"],
        }
        is_attention = name in METHODS and METHODS[name].runner == "attention"
        if is_attention:  # weights, not shares of S: no sum check, a top-k erasure test instead
            metrics["completeness_gap"] = metrics["relative_gap"] = np.full(target.batch_size, np.nan)
            metrics.update(top_k_erasure(target, size, ref_size, k, seed=seed))
        rows.append(pd.DataFrame({"method": name, "pair": np.arange(target.batch_size), **metrics}))
        curves[name] = {
            "deletion": np.nanmean(di["deletion_curve"], axis=0),
            "insertion": np.nanmean(di["insertion_curve"], axis=0),
        }
        tau, top, gap = (
            float(np.nanmedian(metrics["kendall_tau"])) if np.isfinite(metrics["kendall_tau"]).any() else np.nan,
            float(np.mean(metrics["top_k_overlap"])),
            float(np.median(metrics["relative_gap"])),
        )
        erasure = {}
        if is_attention:
            base = float(np.mean(metrics["erase_reference"]))
            erasure = {
                f"{key}_ratio": float(np.mean(metrics[key])) / base if base > 0 else np.nan
                for key in ("erase_tested", "erase_random", "erase_uniform")
            }
            word, reason = attention_verdict(
                tau,
                top,
                erasure["erase_tested_ratio"],
                erasure["erase_random_ratio"],
                erasure["erase_uniform_ratio"],
                k,
            )
        else:
            word, reason = verdict(tau, top, gap, k)
        if name == ref_key:
            word, reason = (
                ("faithful", "the reference: every coalition evaluated exactly")
                if ref_key == EXACT_REFERENCE
                else (
                    "approximate",
                    f"the reference here ({len(target.groups)} groups, past exact Shapley's "
                    f"{METHODS[EXACT_REFERENCE].max_groups}): sampled Shapley values",
                )
            )
        summary.append(
            {
                "method": name,
                "name": METHODS[name].name if name in METHODS else name,
                "verdict": word,
                "reason": reason,
                "kendall_tau": tau,
                "top_k_overlap": top,
                "relative_gap": gap,
                **{
                    m: float(np.nanmedian(metrics[m])) if np.isfinite(metrics[m]).any() else np.nan
                    for m in (
                        "max_abs_error",
                        "infidelity",
                        "sensitivity",
                        "deletion_auc",
                        "insertion_auc",
                        "ins_minus_del",
                    )
                },
                **erasure,
                "runtime_s": attr.runtime_s,
            }
        )
    return ReportCard(ref_key, k, pd.concat(rows, ignore_index=True), pd.DataFrame(summary), curves, attributions)


def _resolved(attr: Attribution) -> tuple[np.ndarray, np.ndarray]:
    """(signed values, |values|) with rounding noise snapped (`snap_noise`): what τ, the deletion / insertion
    order and top-k rank. Snapping |values| separately also ties +a with −a for top-k."""
    return (snap_noise(attr.groups, attr.s, attr.s_baseline), snap_noise(np.abs(attr.groups), attr.s, attr.s_baseline))


def _sensitivity(target, name, attr, samples, seed) -> np.ndarray:
    if not samples or name not in METHODS:
        return np.full(target.batch_size, np.nan)  # an attribution handed in has no method to re-run

    def columns(t):
        a = explain(t, name, attr.params)
        return a.user, a.item

    return sensitivity_rows(target, columns, samples, seed=seed)

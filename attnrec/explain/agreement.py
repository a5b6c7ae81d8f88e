"""Do the attention weights tell the same story as the attributions? (Dimension level only.)

Attention importance of dimension i: the mean over heads of (A_U[i] + A_V[i]) / 2 ("weights"), or
|Σ_h A_U[h,i] A_V[h,i] X_i Y_i|, the size of dimension i's exact share of S ("contribution").
A method's importance of dimension i: |attr(X_i) + attr(Y_i)|. Agreement is Kendall τ per pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attnrec.explain.attribution import Attribution
from attnrec.explain.metrics import kendall_tau_rows
from attnrec.explain.target import ExplainTarget

__all__ = [
    "attention_dimension_importance",
    "dimension_importance",
    "attention_agreement",
    "agreement_summary",
    "agreement_verdict",
    "IMPORTANCE_KINDS",
]

IMPORTANCE_KINDS = ("weights", "contribution")


def attention_dimension_importance(target: ExplainTarget, kind: str = "weights") -> np.ndarray:
    """(B, d) importance of each dimension according to the attention trace."""
    trace = target.trace()
    if kind == "weights":
        value = (trace.a_u + trace.a_v).mean(dim=1) / 2
    elif kind == "contribution":
        value = trace.contributions.sum(dim=1).abs()
    else:
        raise ValueError(f"kind must be one of {IMPORTANCE_KINDS}, got {kind!r}")
    return value.double().cpu().numpy()


def dimension_importance(attribution: Attribution) -> np.ndarray:
    """(B, d): |attribution to X_i + attribution to Y_i| — how much dimension i moved S, either way."""
    if attribution.level != "dimensions" or attribution.user.shape != attribution.item.shape:
        raise ValueError("attention agreement needs dimension-level attributions (inputs X and Y)")
    return np.abs(attribution.user + attribution.item)


def attention_agreement(
    target: ExplainTarget, attributions: dict[str, Attribution], kind: str = "weights"
) -> pd.DataFrame:
    """One row per (method, pair): Kendall τ between attention importance and the method's importance."""
    attention = attention_dimension_importance(target, kind)
    frames = [
        pd.DataFrame(
            {
                "method": name,
                "pair": np.arange(target.batch_size),
                "kendall_tau": kendall_tau_rows(attention, dimension_importance(attr)),
            }
        )
        for name, attr in attributions.items()
        if name != "attention"
    ]
    return pd.concat(frames, ignore_index=True)


def agreement_verdict(taus, method_name: str = "the attributions") -> str:
    """A plain-words reading of a set of per-pair τ values."""
    taus = np.asarray(taus, dtype=float)
    taus = taus[np.isfinite(taus)]
    if taus.size == 0:
        return "no verdict: every pair had constant importances"
    median = float(np.median(taus))
    spread = f"median τ {median:+.2f} over {taus.size} pair{'s' if taus.size != 1 else ''}"
    if median >= 0.6:
        return f"agree: attention ranks dimensions much like {method_name} ({spread})"
    if median >= 0.3:
        return f"partly agree: attention and {method_name} share the broad ranking only ({spread})"
    if median > -0.3:
        return (
            f"disagree: attention weights say little about what {method_name} finds important "
            f"({spread}); do not read attention as an explanation here"
        )
    return f"contradict: attention ranks dimensions roughly opposite to {method_name} ({spread})"


def agreement_summary(per_pair: pd.DataFrame) -> pd.DataFrame:
    """Per method: the distribution of τ (median, quartiles, share of pairs with τ ≥ 0.5) and a verdict."""
    rows = []
    for name, group in per_pair.groupby("method", sort=False):
        taus = group["kendall_tau"].to_numpy(dtype=float)
        finite = taus[np.isfinite(taus)]
        q25, median, q75 = np.quantile(finite, [0.25, 0.5, 0.75]) if finite.size else (np.nan,) * 3
        rows.append(
            {
                "method": name,
                "median_tau": median,
                "q25_tau": q25,
                "q75_tau": q75,
                "share_tau_at_least_0.5": float((finite >= 0.5).mean()) if finite.size else np.nan,
                "pairs": int(finite.size),
                "verdict": agreement_verdict(finite, name),
            }
        )
    return pd.DataFrame(rows)

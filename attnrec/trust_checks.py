"""Trust checks beyond the report card, for the pages. Pure: no Streamlit.

- Attention vs attributions: Kendall τ between attention weights and each method's dimension
  importances, per pair, summarised with `attnrec.explain.agreement.agreement_verdict`.
- Sanity checks: cascading parameter randomization on a sample (attnrec.explain.sanity).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import pandas as pd

from attnrec.explain import METHODS, explain, targets_for
from attnrec.explain.agreement import (
    agreement_summary,
    agreement_verdict,
    attention_dimension_importance,
    dimension_importance,
)
from attnrec.explain.metrics import kendall_tau_rows, snap_noise
from attnrec.explain.protocol import as_module
from attnrec.explain.registry import method_name
from attnrec.trust import verdict_word
from attnrec.trust_plan import family_groups, reference_plan, trust_target

if TYPE_CHECKING:
    from attnrec.explain.protocol import ExplainableModel


@dataclass
class AgreementResult:
    reference: str  # registry key of the method the headline compares with
    per_pair: pd.DataFrame  # method (display name), key, pair, kendall_tau, reading (verdict's first words)
    summary: pd.DataFrame  # per method: median / quartiles of τ, share τ ≥ 0.5, pairs, verdict
    headline: str  # the verdict against the reference, in plain words


def attention_vs_attributions(
    model: ExplainableModel,
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    baseline: str,
    methods: Sequence[str],
    params: dict | None = None,
    attributions: dict | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> AgreementResult:
    """Kendall τ between attention weights and each method's dimension importance |attr(X_i) + attr(Y_i)|,
    per pair, at the dimension level (attention weights exist only there), whatever level the page shows.

    The reference (`reference_plan`: exact Shapley if d ≤ 16, else Shapley sampling) is always
    included; the headline verdict is attention against it. `attributions` (registry key → dimension-
    level Attribution for exactly these pairs and baseline) are reused instead of recomputed."""
    params = params or {}
    target = trust_target(model, user_ids, item_ids, "dimensions", baseline)
    plan = reference_plan(len(target.groups), level=target.level)
    keys = [plan.key] + [
        k
        for k in methods
        if METHODS[k].applies(target.level, plan.n_groups) and METHODS[k].runner != "attention" and k != plan.key
    ]
    have = dict(attributions or {})
    done = {}
    for number, key in enumerate(dict.fromkeys(keys)):
        if progress:
            progress(f"Attention vs {method_name(key)}", number / len(keys))
        done[key] = (
            have[key] if key in have else explain(target, key, plan.params if key == plan.key else params.get(key))
        )
    # attnrec.explain.agreement.attention_agreement, with the method's importances noise-snapped like the
    # report card's rankings (snap_noise): a dimension exact Shapley credits with ±1e-19 ties with the
    # others at 0.
    attention = attention_dimension_importance(target, "weights")
    frames = []
    for key, a in done.items():
        importance = snap_noise(dimension_importance(a), a.s, a.s_baseline)
        frames.append(
            pd.DataFrame(
                {
                    "method": method_name(key),
                    "key": key,
                    "pair": np.arange(target.batch_size),
                    "kendall_tau": kendall_tau_rows(attention, importance),
                }
            )
        )
    per_pair = pd.concat(frames, ignore_index=True)
    per_pair["reading"] = [
        verdict_word(agreement_verdict([tau], name)) for name, tau in zip(per_pair["method"], per_pair["kendall_tau"])
    ]
    summary = agreement_summary(per_pair[["method", "pair", "kendall_tau"]])
    headline_row = summary.set_index("method").loc[method_name(plan.key)]
    if progress:
        progress("Agreement done", 1.0)
    return AgreementResult(plan.key, per_pair, summary, str(headline_row["verdict"]))


# ---- sanity checks ---------------------------------------------------------------------------------


def run_sanity_checks(
    model: ExplainableModel,
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    level: str,
    baseline: str,
    methods: Sequence[str],
    params: dict | None = None,
    grouping: str = "level",
    seed: int = 0,
    threshold: float = 0.9,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cascading parameter randomization on these pairs: (per stage × method ρ, per-method verdicts).

    The targets are rebuilt from each randomized model copy, so randomizing the encoders moves X and Y
    at the dimension level as it would in the model. The model itself is never changed."""
    from attnrec.explain.sanity import cascading_randomization, sanity_verdicts

    users, items = [str(u) for u in user_ids], [str(i) for i in item_ids]
    user_rows, item_rows = model.user_rows(users), model.item_rows(items)
    n_groups = len(trust_target(model, users[:1], items[:1], level, baseline, grouping).groups)
    keys = [k for k in methods if METHODS[k].applies(level, n_groups)]

    def make_target(m):
        target = targets_for(m, user_rows, item_rows, level, baseline)
        return replace(target, groups=family_groups(model)) if grouping == "families" else target

    results = cascading_randomization(as_module(model), make_target, keys, params or {}, seed=seed)
    verdicts = sanity_verdicts(results, threshold)
    for frame in (results, verdicts):
        frame.insert(1, "name", frame["method"].map(method_name))
    return results, verdicts


def unchanged_at_earlier_stages(results: pd.DataFrame, threshold: float = 0.9) -> dict[str, list[str]]:
    """{stage: method names whose median ρ stays above `threshold` there}, for every stage but the last.

    sanity_verdicts judges the last, most randomized stage only. A method that does not move when just
    the attention weights are re-drawn is not flagged by it, but it says something worth showing: the
    explanation does not depend on the attention weights (for every method at once: S barely does)."""
    stages = list(dict.fromkeys(results["stage"]))[:-1]
    out = {}
    for stage in stages:
        part = results[(results["stage"] == stage) & (results["spearman_median"] > threshold)]
        if len(part):
            out[stage] = list(part["name"] if "name" in part else part["method"])
    return out

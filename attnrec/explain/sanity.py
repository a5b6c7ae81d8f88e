"""Sanity checks (Adebayo et al. 2018): an explanation that survives destroying the model explains nothing.

Cascading randomization re-draws the model's parameters stage by stage (attention weights first,
then the encoders), on a copy; label randomization compares with a model retrained on shuffled
labels. For each method, Spearman ρ between the original and the new explanation per pair: a method
whose ρ stays above `threshold` (0.9) is flagged — its explanations barely depend on the model.
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from attnrec.explain.engine import explain
from attnrec.explain.metrics import snap_noise, spearman_rows
from attnrec.explain.target import _MODULE_INTERNALS, ExplainTarget

__all__ = [
    "default_stages",
    "independent_copy",
    "randomize_parameters",
    "cascading_randomization",
    "label_randomization",
    "sanity_verdicts",
    "ATTENTION_PARAMETERS",
]

ATTENTION_PARAMETERS = ("w_u", "w_v")
# Parameters that never change S (calibration maps S to a probability afterwards).
_NOT_IN_S = ("calibration",)

MakeTarget = Callable[[nn.Module], ExplainTarget]


def default_stages(model: nn.Module) -> list[tuple[str, list[str]]]:
    """[("attention weights", [w_u, w_v]), ("encoders", [everything else that feeds S])]."""
    names = [n for n, _ in model.named_parameters() if n.split(".")[-1] not in _NOT_IN_S]
    attention = [n for n in names if n.split(".")[-1] in ATTENTION_PARAMETERS]
    rest = [n for n in names if n not in attention]
    return [(label, group) for label, group in (("attention weights", attention), ("encoders", rest)) if group]


def independent_copy(model: nn.Module) -> nn.Module:
    """A copy with its own parameters and buffers; catalog tables and other plain state are shared."""
    memo = {}
    for sub in model.modules():
        for key, value in vars(sub).items():
            if key not in _MODULE_INTERNALS and not isinstance(value, (nn.Module, torch.Tensor)):
                memo[id(value)] = value
    return copy.deepcopy(model, memo)


def randomize_parameters(model: nn.Module, names: Sequence[str], seed: int = 0) -> None:
    """Re-draw the named parameters in place from N(0, σ²), σ = the parameter's own spread."""
    generator = torch.Generator().manual_seed(seed)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in names:
            p = params[name]
            scale = float(p.std()) if p.numel() > 1 and float(p.std()) > 0 else 0.1
            p.copy_(torch.randn(p.shape, generator=generator).to(p) * scale)


def _compare(original: dict, new_target: ExplainTarget, methods, params, stage: str) -> list[dict]:
    rows = []
    for key in methods:
        new = explain(new_target, key, params.get(key))
        # Ranked as the model resolves them, like the report card: rounding noise is a tie, not an order.
        rho = spearman_rows(_resolved(original[key]), _resolved(new))
        rows.append(
            {
                "stage": stage,
                "method": key,
                "spearman_median": float(np.nanmedian(rho)) if np.isfinite(rho).any() else np.nan,
                "spearman": rho,
            }
        )
    return rows


def _resolved(attribution) -> np.ndarray:
    return snap_noise(attribution.groups, attribution.s, attribution.s_baseline)


def cascading_randomization(
    model: nn.Module,
    make_target: MakeTarget,
    methods: Sequence[str],
    params: dict | None = None,
    stages=None,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (stage, method): Spearman ρ (median over pairs, and per pair) after randomizing
    that stage and every stage before it. `model` itself is never changed."""
    params = params or {}
    stages = stages or default_stages(model)
    original = {key: explain(make_target(model), key, params.get(key)) for key in methods}
    randomized = independent_copy(model)
    rows = []
    for number, (_label, names) in enumerate(stages):
        randomize_parameters(randomized, names, seed + number)
        cumulative = " + ".join(s for s, _ in stages[: number + 1])
        rows += _compare(original, make_target(randomized), methods, params, cumulative)
    return pd.DataFrame(rows)


def label_randomization(
    model: nn.Module,
    retrain_on_shuffled: Callable[[], nn.Module],
    make_target: MakeTarget,
    methods: Sequence[str],
    params: dict | None = None,
) -> pd.DataFrame:
    """Explanations of `model` against those of the model `retrain_on_shuffled()` returns."""
    params = params or {}
    original = {key: explain(make_target(model), key, params.get(key)) for key in methods}
    return pd.DataFrame(_compare(original, make_target(retrain_on_shuffled()), methods, params, "shuffled labels"))


def sanity_verdicts(results: pd.DataFrame, threshold: float = 0.9) -> pd.DataFrame:
    """Per method, judged on the last (most randomized) stage: passes, or fails when ρ > threshold."""
    last = results.groupby("method", sort=False).tail(1)
    rows = []
    for _, row in last.iterrows():
        rho = row["spearman_median"]
        fails = bool(np.isfinite(rho) and rho > threshold)
        text = (
            f"fails: after randomizing {row['stage']} the explanation barely changes (ρ = {rho:.2f}); "
            "it reflects the input more than the model"
            if fails
            else f"passes: randomizing {row['stage']} changes the explanation (ρ = {rho:.2f})"
        )
        rows.append(
            {"method": row["method"], "stage": row["stage"], "spearman_median": rho, "flagged": fails, "verdict": text}
        )
    return pd.DataFrame(rows)

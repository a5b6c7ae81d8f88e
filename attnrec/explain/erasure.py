"""Top-k erasure: does removing what a ranking puts first change the score?

For a dimension-level target (inputs X and Y, one group per dimension), erase — send to the target's
baseline — the top-k groups of a ranking and measure |S − S(erased)|, for:
- the ranking under test (e.g. attention weights),
- the reference's ranking by |attribution| (what exact Shapley says matters most),
- k random groups (mean over draws),
- the order uniform attention would give: |X_i·Y_i|, each dimension's raw product (only where the target's
  inputs are X and Y themselves).
A ranking worth reading changes S about as much as the reference's top-k and far more than random.
"""

from __future__ import annotations

import numpy as np
import torch

from attnrec.explain.metrics import _scores_with_groups_on
from attnrec.explain.target import ExplainTarget

__all__ = ["top_k_erasure", "ERASURE_KEYS"]

ERASURE_KEYS = ("erase_tested", "erase_reference", "erase_random", "erase_uniform")


def _off_top_k(values: np.ndarray, k: int) -> np.ndarray:
    """(B, 1, G) bool: True = group stays on; the k largest of each row are switched off."""
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    on = np.ones(values.shape, dtype=bool)
    np.put_along_axis(on, order, False, axis=1)
    return on[:, None, :]


def top_k_erasure(
    target: ExplainTarget, tested: np.ndarray, reference: np.ndarray, k: int = 3, random_draws: int = 20, seed: int = 0
) -> dict[str, np.ndarray]:
    """Per pair |ΔS| for each ranking of ERASURE_KEYS (NaN for "erase_uniform" where the inputs are not X, Y).

    tested, reference: (B, G) importances (larger = more important; pass |attribution| for signed methods).
    """
    batch, groups = tested.shape
    k = min(k, groups)
    with torch.no_grad():
        s = target.score().double().cpu().numpy()
    rng = np.random.default_rng(seed)
    masks = [_off_top_k(tested, k), _off_top_k(reference, k)]
    masks += [_off_top_k(rng.random((batch, groups)), k) for _ in range(random_draws)]
    uniform = (
        target.trace_fn is not None
        and target.level == "dimensions"
        and target.inputs_u.shape[1] == target.inputs_v.shape[1] == groups
    )
    if uniform:
        product = (target.inputs_u * target.inputs_v).abs().double().cpu().numpy()
        masks.append(_off_top_k(product, k))
    erased = _scores_with_groups_on(target, np.concatenate(masks, axis=1))
    change = np.abs(s[:, None] - erased)
    return {
        "erase_tested": change[:, 0],
        "erase_reference": change[:, 1],
        "erase_random": change[:, 2 : 2 + random_draws].mean(axis=1),
        "erase_uniform": change[:, -1] if uniform else np.full(batch, np.nan),
    }

"""Exact Shapley values over up to 16 groups, for many pairs at once.

For n groups every one of the 2^n coalitions is scored: columns of groups in the coalition keep their
input value, the others take the baseline. With V (B, 2^n) the coalition scores,

    φ_i = Σ_{S ∌ i} |S|! (n − |S| − 1)! / n! · (V(S ∪ {i}) − V(S))

which is one matrix product φ = V · M with M (2^n, n) fixed by n. Coalitions are scored in large
batched forward passes, chunked over pairs so memory stays bounded.
"""

from __future__ import annotations

from functools import lru_cache
from math import factorial

import numpy as np
import torch

from attnrec.explain.names import MAX_GROUPS
from attnrec.explain.target import ExplainTarget

__all__ = ["MAX_GROUPS", "coalition_bits", "shapley_matrix", "coalition_values", "exact_shapley"]


@lru_cache(maxsize=32)
def coalition_bits(n: int) -> np.ndarray:
    """(2^n, n) bool: row c says which groups coalition c switches on (bit i of c)."""
    codes = np.arange(2**n)[:, None]
    return ((codes >> np.arange(n)[None, :]) & 1).astype(bool)


@lru_cache(maxsize=32)
def shapley_matrix(n: int) -> np.ndarray:
    """(2^n, n) float64 M with φ = V · M for coalition scores V (B, 2^n)."""
    bits = coalition_bits(n)
    size = bits.sum(axis=1)
    weight = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)] + [0.0])
    with_i = weight[np.maximum(size - 1, 0)][:, None]  # coalition contains i: S = c \ {i}
    without_i = weight[size][:, None]  # coalition lacks i: S = c
    return np.where(bits, with_i, -without_i)


def coalition_values(target: ExplainTarget, max_rows: int = 1 << 18) -> np.ndarray:
    """V (B, 2^n) float64: S with only each coalition's groups at their input values."""
    n = len(target.groups)
    if n > MAX_GROUPS:
        raise ValueError(
            f"exact Shapley enumerates 2^n coalitions and allows at most {MAX_GROUPS} groups; "
            f"this target has {n}. Group columns further (e.g. paired dimensions) "
            "or use shapley_sampling / kernel_shap"
        )
    bits = torch.as_tensor(coalition_bits(n))
    gu, gv = target.column_groups()
    on_u = bits[:, torch.as_tensor(gu)].to(target.inputs_u)  # (2^n, n_u) 1.0 where the column is on
    on_v = bits[:, torch.as_tensor(gv)].to(target.inputs_v)
    base_u, base_v = target.full_baselines()
    n_coalitions = 2**n
    pairs_per_pass = max(1, max_rows // n_coalitions)
    out = np.empty((target.batch_size, n_coalitions))
    with torch.no_grad():
        for start in range(0, target.batch_size, pairs_per_pass):
            rows = slice(start, start + pairs_per_pass)
            bu, bv = base_u[rows], base_v[rows]
            u = bu[:, None, :] + (target.inputs_u[rows] - bu)[:, None, :] * on_u[None]
            v = bv[:, None, :] + (target.inputs_v[rows] - bv)[:, None, :] * on_v[None]
            s = target.module(u.reshape(-1, u.shape[-1]), v.reshape(-1, v.shape[-1]))
            out[rows] = s.reshape(-1, n_coalitions).double().cpu().numpy()
    return out


def exact_shapley(target: ExplainTarget, max_rows: int = 1 << 18) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(φ (B, G), S (B,), S(baseline) (B,)) — S and S(baseline) are the full and empty coalitions."""
    values = coalition_values(target, max_rows)
    phi = values @ shapley_matrix(len(target.groups))
    return phi, values[:, -1], values[:, 0]

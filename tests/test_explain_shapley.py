"""Exact Shapley: against a brute-force permutation reference, and the Shapley axioms."""

from __future__ import annotations

from itertools import permutations
from math import factorial

import numpy as np
import pytest
import torch
from torch import nn

from attnrec.explain import explain
from attnrec.explain.shapley import exact_shapley, shapley_matrix
from attnrec.explain.target import ExplainTarget, FunctionScore, Group
from test_explain_toys import dim_target, field_target


def permutation_shapley(target: ExplainTarget, pair: int) -> np.ndarray:
    """Reference: average each group's marginal contribution over all n! orderings, one pair at a time."""
    n = len(target.groups)
    x_u, x_v = target.inputs_u[pair].double().numpy(), target.inputs_v[pair].double().numpy()
    b_u, b_v = (b[0 if b.shape[0] == 1 else pair].double().numpy() for b in (target.baseline_u, target.baseline_v))

    cache: dict[frozenset, float] = {}

    def value(on: set) -> float:
        key = frozenset(on)
        if key not in cache:
            cache[key] = evaluate(key)
        return cache[key]

    def evaluate(on: frozenset) -> float:
        u, v = b_u.copy(), b_v.copy()
        for k in on:
            cols_u, cols_v = list(target.groups[k].user_cols), list(target.groups[k].item_cols)
            u[cols_u], v[cols_v] = x_u[cols_u], x_v[cols_v]
        with torch.no_grad():
            return float(
                target.module(torch.tensor(u[None], dtype=torch.float32), torch.tensor(v[None], dtype=torch.float32))[0]
            )

    phi = np.zeros(n)
    for order in permutations(range(n)):
        on: set = set()
        before = value(on)
        for k in order:
            on.add(k)
            after = value(on)
            phi[k] += after - before
            before = after
    return phi / factorial(n)


@pytest.mark.parametrize(
    "make",
    [
        lambda: field_target(batch=3),
        lambda: dim_target(batch=3, d=5, grouping="paired"),
        lambda: dim_target(batch=2, d=3, grouping="separate", tied=True),
    ],
)
def test_exact_shapley_equals_permutation_reference(make):
    target = make()
    phi, s, s0 = exact_shapley(target)
    for pair in range(target.batch_size):
        np.testing.assert_allclose(phi[pair], permutation_shapley(target, pair), atol=2e-5)


def test_efficiency_sum_is_score_change_for_many_pairs():
    target = dim_target(batch=300, d=8, grouping="paired")
    phi, s, s0 = exact_shapley(target, max_rows=1000)  # small passes: chunking must not matter
    np.testing.assert_allclose(s, target.score().double().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(s0, target.score_baseline().double().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(phi.sum(axis=1), s - s0, atol=1e-5)
    phi_one_pass, _, _ = exact_shapley(target)
    np.testing.assert_allclose(phi, phi_one_pass, atol=1e-9)


def test_symmetry_and_dummy_axioms():
    # S = (u0 + u1)² · v0 + v0: u0 and u1 interchangeable, v1 never used (a dummy).
    def score(u, v):
        return (u[:, 0] + u[:, 1]) ** 2 * v[:, 0] + v[:, 0]

    u = torch.tensor([[0.7, 0.7], [1.5, 1.5]])
    v = torch.tensor([[2.0, -3.0], [-1.0, 5.0]])
    target = ExplainTarget(
        FunctionScore(score),
        u,
        v,
        torch.zeros(1, 2),
        torch.zeros(1, 2),
        ["u0", "u1"],
        ["v0", "v1"],
        [
            Group("u0", user_cols=(0,)),
            Group("u1", user_cols=(1,)),
            Group("v0", item_cols=(0,)),
            Group("v1", item_cols=(1,)),
        ],
    )
    phi, s, s0 = exact_shapley(target)
    np.testing.assert_allclose(phi[:, 0], phi[:, 1], atol=1e-6)  # symmetry
    np.testing.assert_allclose(phi[:, 3], 0.0, atol=1e-7)  # dummy
    # Hand-computed for pair 0: the 3-player game u0, u1, v0 (v1 dummy).
    a, c = 0.7, 2.0
    # u0 adds value only after v0: order v0,u0,u1 adds a²c; u1,v0,u0 and v0,u1,u0 add (2a)²c − a²c each.
    phi_u = (a * a * c + 2 * ((2 * a) ** 2 * c - a * a * c)) / 6
    # v0's value: average over its position of v(S ∪ v0) − v(S).
    gains = {0: c, 1: a * a * c + c, 2: (2 * a) ** 2 * c + c}  # by number of u's already on
    phi_v = (2 * gains[0] + 1 * gains[1] + 1 * gains[1] + 2 * gains[2]) / 6
    np.testing.assert_allclose(phi[0, :3], [phi_u, phi_u, phi_v], rtol=1e-5)


def test_shapley_matrix_rows_weights():
    m = shapley_matrix(3)
    # Column sums: each player's weights over coalitions with and without it cancel to 0 ...
    np.testing.assert_allclose(m.sum(axis=0), 0.0, atol=1e-12)
    # ... and a game v(S) = |S| gives φ_i = 1.
    sizes = np.array([bin(c).count("1") for c in range(8)], dtype=float)
    np.testing.assert_allclose(sizes @ m, 1.0)


def test_integrated_gradients_equals_exact_shapley_for_linear_model():
    class Linear(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.tensor([0.5, -2.0, 1.0, 3.0]), torch.tensor([1.5, 0.25, -1.0])

        def forward(self, u, v):
            return u @ self.a + v @ self.b + 0.3

    g = torch.Generator().manual_seed(3)
    u, v = torch.randn(20, 4, generator=g), torch.randn(20, 3, generator=g)
    target = ExplainTarget(
        Linear(),
        u,
        v,
        torch.randn(1, 4, generator=g),
        torch.randn(1, 3, generator=g),
        list("abcd"),
        list("xyz"),
        [
            Group("ab", user_cols=(0, 1)),
            Group("c+x", user_cols=(2,), item_cols=(0,)),
            Group("d", user_cols=(3,)),
            Group("yz", item_cols=(1, 2)),
        ],
    )
    ig = explain(target, "ig", {"n_steps": 8})
    exact = explain(target, "shapley_exact")
    np.testing.assert_allclose(ig.groups, exact.groups, atol=1e-5)
    # For a linear model both equal coefficient × (input − baseline), summed within the group.
    direct = ((u - target.baseline_u) * target.module.a).double().numpy()
    np.testing.assert_allclose(exact.groups[:, 0], direct[:, :2].sum(axis=1), atol=1e-5)


def test_too_many_groups_is_refused_with_advice():
    target = dim_target(batch=1, d=9, grouping="separate")  # 18 groups
    with pytest.raises(ValueError, match="at most 16 groups"):
        exact_shapley(target)

"""Toy models the explanation tests share, and checks that the toys are what they claim to be.

Imported by the other test_explain_* files (`from test_explain_toys import ...`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from attnrec.attention import attend
from attnrec.data.types import FieldGroup
from attnrec.explain.target import AttendScore, ExplainTarget, dimension_target, groups_from_fields

USER_FIELDS = [
    FieldGroup("cuisine", "categorical", 0, 3),
    FieldGroup("budget", "numeric", 3, 4),
    FieldGroup("payment", "multi", 4, 6),
]
ITEM_FIELDS = [
    FieldGroup("kind", "categorical", 0, 2),
    FieldGroup("price", "numeric", 2, 3),
    FieldGroup("parking", "categorical", 3, 5),
]


def numpy_attention_score(x, y, w_u, w_v, tau=1.0):
    """Independent numpy reference of the document's S (softmax over dimensions, H heads)."""
    x, y = np.atleast_2d(x).astype(np.float64), np.atleast_2d(y).astype(np.float64)
    p = x * y

    def softmax(logits):
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    a_u = softmax(np.einsum("hij,bj->bhi", w_u, p) / tau)
    a_v = softmax(np.einsum("hij,bj->bhi", w_v, p) / tau)
    return ((a_u * y[:, None, :]) * (a_v * x[:, None, :])).sum(axis=(1, 2))


class ToyFieldModel(nn.Module):
    """Raw fields → tanh(linear) encoders → attend: S = forward(r_u, r_v). nn.Tanh gives DeepLift hooks."""

    def __init__(self, n_u=6, n_v=5, d=4, heads=2, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.enc_u = nn.Sequential(nn.Linear(n_u, d), nn.Tanh())
        self.enc_v = nn.Sequential(nn.Linear(n_v, d), nn.Tanh())
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g))
        self.w_u = nn.Parameter(torch.randn(heads, d, d, generator=g))
        self.w_v = nn.Parameter(torch.randn(heads, d, d, generator=g))

    def forward(self, r_u, r_v):
        return attend(self.enc_u(r_u), self.enc_v(r_v), self.w_u, self.w_v).s


def field_rows(batch: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Plausible raw rows: one-hot categoricals, a number, multi-hot sets."""
    rng = np.random.default_rng(seed)
    u = np.zeros((batch, 6), dtype=np.float32)
    u[np.arange(batch), rng.integers(0, 3, batch)] = 1
    u[:, 3] = rng.normal(size=batch)
    u[:, 4:6] = rng.integers(0, 2, (batch, 2))
    v = np.zeros((batch, 5), dtype=np.float32)
    v[np.arange(batch), rng.integers(0, 2, batch)] = 1
    v[:, 2] = rng.normal(size=batch)
    v[np.arange(batch), 3 + rng.integers(0, 2, batch)] = 1
    return torch.as_tensor(u), torch.as_tensor(v)


def field_target(batch=8, seed=0, model=None) -> ExplainTarget:
    model = model or ToyFieldModel(seed=seed)
    u, v = field_rows(batch, seed + 1)
    return ExplainTarget(
        module=model,
        inputs_u=u,
        inputs_v=v,
        baseline_u=torch.zeros(1, 6),
        baseline_v=torch.zeros(1, 5),
        names_u=[f"u{i}" for i in range(6)],
        names_v=[f"v{i}" for i in range(5)],
        groups=groups_from_fields(USER_FIELDS, ITEM_FIELDS),
        level="fields",
    )


def dim_target(batch=8, d=5, heads=2, seed=0, grouping="paired", tied=False, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    w_u = torch.randn(heads, d, d, generator=g) * scale
    w_v = None if tied else torch.randn(heads, d, d, generator=g) * scale
    score = AttendScore(w_u, w_v)
    x, y = torch.randn(batch, d, generator=g), torch.randn(batch, d, generator=g)
    return dimension_target(score, x, y, grouping=grouping)


def test_attend_score_matches_numpy_reference():
    t = dim_target(batch=6, d=4, heads=3)
    ref = numpy_attention_score(
        t.inputs_u.numpy(), t.inputs_v.numpy(), t.module.w_u.detach().numpy(), t.module.w_v.detach().numpy()
    )
    np.testing.assert_allclose(t.score().numpy(), ref, rtol=1e-5, atol=1e-6)


def test_field_target_groups_cover_columns():
    t = field_target()
    assert t.group_names == [
        "user: cuisine",
        "user: budget",
        "user: payment",
        "item: kind",
        "item: price",
        "item: parking",
    ]
    gu, gv = t.column_groups()
    assert gu.tolist() == [0, 0, 0, 1, 2, 2] and gv.tolist() == [3, 3, 4, 5, 5]

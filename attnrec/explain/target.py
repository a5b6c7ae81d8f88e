"""What an explanation explains: a plain scoring function and the inputs it is asked about.

Every method (Captum, exact Shapley, the trust checks) sees a model only through an `ExplainTarget`:
a module whose `forward(inputs_u, inputs_v)` returns S (B,), the two input matrices (B, n_u), (B, n_v),
their baselines, and `groups` — named sets of columns that are switched on/off together (raw fields,
or "dimension i" across X and Y). Nothing here knows about Streamlit or about how a model is stored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from attnrec.attention import AttentionTrace, attend

__all__ = [
    "Group",
    "ExplainTarget",
    "AttendScore",
    "FunctionScore",
    "dimension_target",
    "dimension_groups",
    "private_copy",
    "groups_from_fields",
]


@dataclass(frozen=True)
class Group:
    """Columns switched together: `user_cols` of inputs_u and `item_cols` of inputs_v."""

    name: str
    user_cols: tuple[int, ...] = ()
    item_cols: tuple[int, ...] = ()

    @property
    def side(self) -> str:
        if self.user_cols and self.item_cols:
            return "both"
        return "user" if self.user_cols else "item"


class AttendScore(nn.Module):
    """S = attend(x, y, W_U, W_V, τ).s as a module — the dimension-level function for toy models."""

    def __init__(self, w_u: torch.Tensor, w_v: torch.Tensor | None = None, temperature: float = 1.0):
        super().__init__()
        self.w_u = nn.Parameter(w_u.detach().clone())
        self.w_v = None if w_v is None else nn.Parameter(w_v.detach().clone())
        self.temperature = float(temperature)

    def trace(self, x, y) -> AttentionTrace:
        return attend(x, y, self.w_u, self.w_v, self.temperature)

    def forward(self, x, y):
        return self.trace(x, y).s


class FunctionScore(nn.Module):
    """Wraps a plain `fn(u, v) -> S` so hook-based methods have a module to hook."""

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
        super().__init__()
        self.fn = fn

    def forward(self, u, v):
        return self.fn(u, v)


def private_copy(module: nn.Module) -> nn.Module:
    """A copy of the module objects that shares every tensor and every piece of plain-Python state.

    Hook-based methods (DeepLift) attach hooks to the modules they run on; running them on a private
    copy keeps threads that share one cached model from seeing each other's hooks. Hooks live on module
    objects, never on tensors, so parameters, buffers and catalog tables are shared: the copy is cheap.
    Explanations never write to parameters (gradients are taken with respect to inputs only).
    """
    memo: dict[int, object] = {}
    for sub in module.modules():
        for tensor in list(sub._parameters.values()) + list(sub._buffers.values()):
            if tensor is not None:
                memo[id(tensor)] = tensor
        for key, value in vars(sub).items():
            # torch's own bookkeeping (hook tables, _modules) is copied; the owner's state is shared.
            if key not in _MODULE_INTERNALS and not isinstance(value, nn.Module):
                memo[id(value)] = value
    return copy.deepcopy(module, memo)


_MODULE_INTERNALS = frozenset(vars(nn.Module()))


def _as_rows(name: str, t, n_rows: int | None = None) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=torch.float32) if not torch.is_tensor(t) else t
    if t.dim() == 1:
        t = t.unsqueeze(0)
    if t.dim() != 2:
        raise ValueError(f"{name} must have shape (n,) or (B, n), got {tuple(t.shape)}")
    if n_rows is not None and t.shape[0] not in (1, n_rows):
        raise ValueError(f"{name} has {t.shape[0]} rows; expected 1 or {n_rows}")
    return t


@dataclass
class ExplainTarget:
    """A scoring module plus the B pairs (and baselines) to explain."""

    module: nn.Module  # forward(inputs_u, inputs_v) -> S (B,)
    inputs_u: torch.Tensor  # (B, n_u)
    inputs_v: torch.Tensor  # (B, n_v)
    baseline_u: torch.Tensor  # (1, n_u) or (B, n_u)
    baseline_v: torch.Tensor  # (1, n_v) or (B, n_v)
    names_u: list[str]
    names_v: list[str]
    groups: list[Group]
    level: str = "dimensions"  # "dimensions" | "fields"
    baseline_kind: str = "zeros"
    # (u, v) -> AttentionTrace; only where the inputs are X and Y themselves (dimension level).
    trace_fn: Callable[[torch.Tensor, torch.Tensor], AttentionTrace] | None = None
    pair_ids: list[tuple[str, str]] | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.inputs_u = _as_rows("inputs_u", self.inputs_u).detach()
        self.inputs_v = _as_rows("inputs_v", self.inputs_v).detach()
        b = self.inputs_u.shape[0]
        if self.inputs_v.shape[0] != b:
            raise ValueError(f"inputs_u has {b} rows but inputs_v has {self.inputs_v.shape[0]}")
        self.baseline_u = _as_rows("baseline_u", self.baseline_u, b).detach().to(self.inputs_u)
        self.baseline_v = _as_rows("baseline_v", self.baseline_v, b).detach().to(self.inputs_v)
        for side, inputs, base, names in (
            ("user", self.inputs_u, self.baseline_u, self.names_u),
            ("item", self.inputs_v, self.baseline_v, self.names_v),
        ):
            if base.shape[1] != inputs.shape[1]:
                raise ValueError(f"{side} baseline has {base.shape[1]} columns, inputs have {inputs.shape[1]}")
            if len(names) != inputs.shape[1]:
                raise ValueError(f"{side} names: {len(names)} names for {inputs.shape[1]} columns")
        seen_u, seen_v = set(), set()
        for g in self.groups:
            if not (g.user_cols or g.item_cols):
                raise ValueError(f"group '{g.name}' has no columns")
            if seen_u & set(g.user_cols) or seen_v & set(g.item_cols):
                raise ValueError(f"group '{g.name}' overlaps another group")
            seen_u |= set(g.user_cols)
            seen_v |= set(g.item_cols)
        if seen_u != set(range(self.n_u)) or seen_v != set(range(self.n_v)):
            raise ValueError("groups must cover every user and item column exactly once")

    # --- sizes and masks -------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        return self.inputs_u.shape[0]

    @property
    def n_u(self) -> int:
        return self.inputs_u.shape[1]

    @property
    def n_v(self) -> int:
        return self.inputs_v.shape[1]

    @property
    def group_names(self) -> list[str]:
        return [g.name for g in self.groups]

    def column_groups(self) -> tuple[np.ndarray, np.ndarray]:
        """Group index of every user column and every item column."""
        gu, gv = np.empty(self.n_u, dtype=np.int64), np.empty(self.n_v, dtype=np.int64)
        for k, g in enumerate(self.groups):
            gu[list(g.user_cols)] = k
            gv[list(g.item_cols)] = k
        return gu, gv

    def feature_masks(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Captum feature masks (1, n_u), (1, n_v): one id per group, shared across the two inputs."""
        gu, gv = self.column_groups()
        return (
            torch.as_tensor(gu).unsqueeze(0).to(self.inputs_u.device),
            torch.as_tensor(gv).unsqueeze(0).to(self.inputs_v.device),
        )

    def full_baselines(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Baselines expanded to (B, n) — some Captum methods want one row per example."""
        return (
            self.baseline_u.expand_as(self.inputs_u).contiguous(),
            self.baseline_v.expand_as(self.inputs_v).contiguous(),
        )

    # --- evaluation ------------------------------------------------------------------------
    def score(self, u: torch.Tensor | None = None, v: torch.Tensor | None = None) -> torch.Tensor:
        with torch.no_grad():
            return self.module(self.inputs_u if u is None else u, self.inputs_v if v is None else v)

    def score_baseline(self) -> torch.Tensor:
        bu, bv = self.full_baselines()
        return self.score(bu, bv)

    def trace(self) -> AttentionTrace:
        if self.trace_fn is None:
            raise ValueError(
                f"attention weights are not defined at the {self.level} level of this target; "
                "use a dimension-level target (inputs X and Y)"
            )
        with torch.no_grad():
            return self.trace_fn(self.inputs_u, self.inputs_v)

    # --- derived targets -------------------------------------------------------------------
    def subset(self, rows: Sequence[int] | slice) -> "ExplainTarget":
        idx = (
            rows
            if isinstance(rows, slice)
            else torch.as_tensor(list(rows), dtype=torch.long, device=self.inputs_u.device)
        )

        def pick(t: torch.Tensor) -> torch.Tensor:
            return t if t.shape[0] == 1 else t[idx]

        ids = None
        if self.pair_ids is not None:
            ids = self.pair_ids[rows] if isinstance(rows, slice) else [self.pair_ids[i] for i in rows]
        return replace(
            self,
            inputs_u=self.inputs_u[idx],
            inputs_v=self.inputs_v[idx],
            baseline_u=pick(self.baseline_u),
            baseline_v=pick(self.baseline_v),
            pair_ids=ids,
        )

    def with_inputs(self, u: torch.Tensor, v: torch.Tensor) -> "ExplainTarget":
        """Same model, groups and baselines, other inputs (used by sensitivity checks)."""
        rows = u.shape[0]
        bu = self.baseline_u if self.baseline_u.shape[0] in (1, rows) else self.baseline_u[:1]
        bv = self.baseline_v if self.baseline_v.shape[0] in (1, rows) else self.baseline_v[:1]
        if bu.shape[0] != 1 and rows != self.batch_size:
            bu, bv = bu[:1], bv[:1]
        return replace(self, inputs_u=u, inputs_v=v, baseline_u=bu, baseline_v=bv, pair_ids=None)

    def with_module(self, module: nn.Module, trace_fn=None) -> "ExplainTarget":
        return replace(self, module=module, trace_fn=trace_fn)


def groups_from_fields(user_groups, item_groups) -> list[Group]:
    """Groups for the raw-field level: every user field and every item field on its own."""
    return [Group(f"user: {g.name}", user_cols=tuple(range(g.start, g.stop))) for g in user_groups] + [
        Group(f"item: {g.name}", item_cols=tuple(range(g.start, g.stop))) for g in item_groups
    ]


def dimension_groups(d: int, names: Sequence[str], grouping: str) -> list[Group]:
    """ "paired": dimension i = X_i together with Y_i (d groups); "separate": 2d groups."""
    if grouping == "paired":
        return [Group(names[i], user_cols=(i,), item_cols=(i,)) for i in range(d)]
    if grouping == "separate":
        return [Group(f"user: {names[i]}", user_cols=(i,)) for i in range(d)] + [
            Group(f"item: {names[i]}", item_cols=(i,)) for i in range(d)
        ]
    raise ValueError(f"grouping must be 'paired' or 'separate', got '{grouping}'")


def dimension_target(
    score: nn.Module,
    x,
    y,
    baseline_x=None,
    baseline_y=None,
    *,
    names: Sequence[str] | None = None,
    grouping: str = "paired",
    baseline_kind: str = "zeros",
    pair_ids=None,
) -> ExplainTarget:
    """A dimension-level target: inputs are X and Y, `score.trace(x, y)` gives the attention trace."""
    x, y = _as_rows("x", x), _as_rows("y", y)
    d = x.shape[1]
    names = list(names) if names is not None else [f"dim {i + 1}" for i in range(d)]
    bx = torch.zeros(1, d, dtype=x.dtype, device=x.device) if baseline_x is None else baseline_x
    by = torch.zeros(1, d, dtype=y.dtype, device=y.device) if baseline_y is None else baseline_y
    return ExplainTarget(
        module=score,
        inputs_u=x,
        inputs_v=y,
        baseline_u=bx,
        baseline_v=by,
        names_u=names,
        names_v=names,
        groups=dimension_groups(d, names, grouping),
        level="dimensions",
        baseline_kind=baseline_kind,
        trace_fn=getattr(score, "trace", None),
        pair_ids=pair_ids,
    )

"""`Attribution`: one method's answer for B pairs, with the bookkeeping every method shares.

Per-column attributions (B, n_u) and (B, n_v), totals per group (B, G), and the completeness gap
Σattr − (S − S(baseline)) — how far the numbers are from adding up to the score change they explain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attnrec.explain.target import ExplainTarget

__all__ = ["Attribution", "spread_to_columns", "group_totals"]


def _membership(columns_group: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_columns, G) 0/1 matrix: column c belongs to group g."""
    m = np.zeros((len(columns_group), n_groups))
    m[np.arange(len(columns_group)), columns_group] = 1.0
    return m


def group_totals(target: ExplainTarget, user: np.ndarray, item: np.ndarray) -> np.ndarray:
    """(B, G): the sum of each group's columns on both sides."""
    gu, gv = target.column_groups()
    g = len(target.groups)
    return user @ _membership(gu, g) + item @ _membership(gv, g)


def spread_to_columns(target: ExplainTarget, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split each group's value over its columns in proportion to |input − baseline|.

    A group-level method (ablation, Shapley over fields) says nothing about columns inside a group;
    this split keeps the column sums equal to the group value and puts it where the input differs from
    the baseline (the active one-hot column, say). Groups whose columns all equal the baseline split evenly.
    """
    bu, bv = target.full_baselines()
    moved_u = (target.inputs_u - bu).abs().double().cpu().numpy()
    moved_v = (target.inputs_v - bv).abs().double().cpu().numpy()
    gu, gv = target.column_groups()
    weight_total = moved_u @ _membership(gu, groups.shape[1]) + moved_v @ _membership(gv, groups.shape[1])
    counts = np.bincount(np.concatenate([gu, gv]), minlength=len(target.groups)).astype(float)
    even = weight_total <= 1e-12
    denom = np.where(even, counts[None, :], weight_total)
    share_u = np.where(even[:, gu], 1.0, moved_u) / denom[:, gu]
    share_v = np.where(even[:, gv], 1.0, moved_v) / denom[:, gv]
    return groups[:, gu] * share_u, groups[:, gv] * share_v


@dataclass
class Attribution:
    method: str
    level: str
    user: np.ndarray  # (B, n_u)
    item: np.ndarray  # (B, n_v)
    groups: np.ndarray  # (B, G)
    names_u: list[str]
    names_v: list[str]
    group_names: list[str]
    s: np.ndarray  # (B,) the score being explained
    s_baseline: np.ndarray  # (B,) the score at the baseline
    convergence_delta: np.ndarray | None = None  # Captum's own delta, where the method has one
    runtime_s: float = 0.0
    params: dict = field(default_factory=dict)

    @classmethod
    def from_columns(
        cls, target: ExplainTarget, method: str, user, item, s=None, s_baseline=None, **kwargs
    ) -> "Attribution":
        """From per-column attributions; group totals are column sums."""
        user, item = np.asarray(user, dtype=np.float64), np.asarray(item, dtype=np.float64)
        return cls._build(target, method, user, item, group_totals(target, user, item), s, s_baseline, **kwargs)

    @classmethod
    def from_groups(
        cls, target: ExplainTarget, method: str, groups, s=None, s_baseline=None, **kwargs
    ) -> "Attribution":
        """From per-group values; columns get shares via `spread_to_columns`."""
        groups = np.asarray(groups, dtype=np.float64)
        user, item = spread_to_columns(target, groups)
        return cls._build(target, method, user, item, groups, s, s_baseline, **kwargs)

    @classmethod
    def _build(cls, target, method, user, item, groups, s, s_baseline, **kwargs):
        s = target.score().double().cpu().numpy() if s is None else np.asarray(s, dtype=np.float64)
        if s_baseline is None:
            s_baseline = target.score_baseline().double().cpu().numpy()
        return cls(
            method=method,
            level=target.level,
            user=user,
            item=item,
            groups=groups,
            names_u=list(target.names_u),
            names_v=list(target.names_v),
            group_names=target.group_names,
            s=s,
            s_baseline=np.asarray(s_baseline, dtype=np.float64),
            **kwargs,
        )

    @property
    def batch_size(self) -> int:
        return self.groups.shape[0]

    @property
    def completeness_gap(self) -> np.ndarray:
        """Σattr − (S − S(baseline)) per pair; 0 for a complete method."""
        return self.groups.sum(axis=1) - (self.s - self.s_baseline)

    @property
    def relative_gap(self) -> np.ndarray:
        """|gap| as a share of |S − S(baseline)| (the change there is to explain)."""
        change = np.abs(self.s - self.s_baseline)
        return np.abs(self.completeness_gap) / np.maximum(change, 1e-8)

    def concat(self, other: "Attribution") -> "Attribution":
        """Pairs of `other` appended (same method, level and groups)."""
        delta = None
        if self.convergence_delta is not None and other.convergence_delta is not None:
            delta = np.concatenate([self.convergence_delta, other.convergence_delta])
        return Attribution(
            self.method,
            self.level,
            np.vstack([self.user, other.user]),
            np.vstack([self.item, other.item]),
            np.vstack([self.groups, other.groups]),
            self.names_u,
            self.names_v,
            self.group_names,
            np.concatenate([self.s, other.s]),
            np.concatenate([self.s_baseline, other.s_baseline]),
            delta,
            self.runtime_s + other.runtime_s,
            self.params,
        )

    def frame(self, pair: int = 0) -> pd.DataFrame:
        """Pair `pair` as a table: group, attribution, share of the score change; largest |value| first."""
        values = self.groups[pair]
        change = self.s[pair] - self.s_baseline[pair]
        table = pd.DataFrame(
            {
                "group": self.group_names,
                "attribution": values,
                "share_of_change": values / change if abs(change) > 1e-12 else np.nan,
            }
        )
        return table.reindex(table["attribution"].abs().sort_values(ascending=False).index).reset_index(drop=True)

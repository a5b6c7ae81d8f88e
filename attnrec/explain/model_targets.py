"""Build an `ExplainTarget` from a `Recommender` (attnrec.model) at either level.

- "fields": inputs are the raw encoded rows R_u, R_v; S = model(r_u, r_v); one group per raw field
  (aligned mode: per family) on each side; baselines from the featurizer ("zeros" | "mean" | "unknown").
- "dimensions": inputs are X = encode_user(R_u), Y = encode_item(R_v); S = model.attention(X, Y).s;
  groups pair X_i with Y_i ("dimension i"), so exact Shapley needs d ≤ 16. Baselines are the encoded
  featurizer baselines, except "zeros", which is X = Y = 0.
"""
from __future__ import annotations

import torch
from torch import nn

from attnrec.attention import AttentionTrace
from attnrec.explain.target import ExplainTarget, dimension_target, groups_from_fields

__all__ = ["DimensionScore", "targets_for", "LEVELS", "BASELINES", "default_baseline"]

LEVELS = ("fields", "dimensions")
BASELINES = ("zeros", "mean", "unknown")


def default_baseline(model) -> str:
    """The baseline every page starts from: "mean" for aligned models — a named dimension at 0 means "absent",
    so a zeros baseline credits dimensions that are merely common (with the mean baseline the trained synthetic
    model's IG / exact Shapley put the planted genres on top) — and "zeros" for latent ones."""
    return "mean" if getattr(model, "mode", None) == "aligned" else "zeros"


class DimensionScore(nn.Module):
    """S = model.attention(x, y).s as a module (the model's encoders are not used)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def trace(self, x, y) -> AttentionTrace:
        return self.model.attention(x, y)

    def forward(self, x, y):
        return self.model.attention(x, y).s


def _baseline_rows(model, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    fz = model.featurizer
    return (torch.as_tensor(fz.baseline_row("user", kind), dtype=torch.float32, device=model.device)[None],
            torch.as_tensor(fz.baseline_row("item", kind), dtype=torch.float32, device=model.device)[None])


def targets_for(model, user_rows: torch.Tensor, item_rows: torch.Tensor, level: str = "fields",
                baseline: str = "zeros", *, grouping: str = "paired", pair_ids=None) -> ExplainTarget:
    """The B pairs (user_rows[b], item_rows[b]) of `model`, ready for `explain`.

    user_rows, item_rows: raw encoded rows (B, R_u), (B, R_v), e.g. model.user_rows(ids).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    device = model.device
    user_rows = torch.as_tensor(user_rows, dtype=torch.float32).to(device)
    item_rows = torch.as_tensor(item_rows, dtype=torch.float32).to(device)
    if user_rows.dim() == 1:
        user_rows, item_rows = user_rows[None], item_rows[None]
    base_u, base_v = _baseline_rows(model, baseline)
    if level == "fields":
        fz = model.featurizer
        return ExplainTarget(module=model, inputs_u=user_rows, inputs_v=item_rows, baseline_u=base_u,
                             baseline_v=base_v, names_u=list(fz.columns("user")), names_v=list(fz.columns("item")),
                             groups=groups_from_fields(fz.groups("user"), fz.groups("item")), level="fields",
                             baseline_kind=baseline, pair_ids=pair_ids)
    with torch.no_grad():
        x, y = model.encode_user(user_rows), model.encode_item(item_rows)
        if baseline == "zeros":
            bx, by = torch.zeros_like(x[:1]), torch.zeros_like(y[:1])
        else:
            bx, by = model.encode_user(base_u), model.encode_item(base_v)
    return dimension_target(DimensionScore(model), x, y, bx, by, names=list(model.dimension_names),
                            grouping=grouping, baseline_kind=baseline, pair_ids=pair_ids)

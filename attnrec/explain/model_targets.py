"""The one place an `ExplainTarget` is built from a `Recommender`, and the one list of baselines.

Every page (Explore, Attributions, Recommend, Model health, Compare, the Dataset-wide view) and the batch CLI
(`attnrec explain`) explain a catalog pair through `targets_for` (or `pair_target` for one pair), so the same
pair, method, level and baseline give the same attributions everywhere.

Levels:
- "fields": inputs are the raw encoded rows R_u, R_v; S = model(r_u, r_v); one group per raw field
  (aligned mode: per family) on each side.
- "dimensions": inputs are X = encode_user(R_u), Y = encode_item(R_v); S = model.attention(X, Y).s (every
  attention variant of the model included); groups pair X_i with Y_i ("dimension i"), so exact Shapley needs
  d ≤ 16.

Baselines (`BASELINES`; what "absent" means — attributions explain S − S(baseline)):
- "zeros": fields: the all-zero raw row (`Featurizer.baseline_row(side, "zeros")`); dimensions: X = Y = 0,
  so S(baseline) = 0 exactly.
- "mean": fields: the mean raw row over the catalog (`Featurizer.baseline_row(side, "mean")`); dimensions: that
  same mean raw row passed through the encoders, X̄ = encode_user(mean R_u), Ȳ = encode_item(mean R_v) — *not*
  the mean of the encoded rows, which differs once an encoder is nonlinear (latent, hidden > 0). So the
  dimension-level and field-level attributions explain the same S − S(baseline).
- "unknown": fields: the all-missing row (`Featurizer.baseline_row(side, "unknown")`); dimensions: that row
  passed through the encoders.
`baseline_rows(model, kind)` gives the raw rows; `default_baseline(model)` the one every page starts from.
"""

from __future__ import annotations

import torch
from torch import nn

from attnrec.attention import AttentionTrace
from attnrec.explain.names import BASELINE_LABELS, BASELINES, LEVELS
from attnrec.explain.protocol import ExplainableModel, as_module
from attnrec.explain.target import ExplainTarget, dimension_target, groups_from_fields

__all__ = [
    "DimensionScore",
    "targets_for",
    "pair_target",
    "baseline_rows",
    "LEVELS",
    "BASELINES",
    "BASELINE_LABELS",
    "default_baseline",
]


def default_baseline(model: ExplainableModel) -> str:
    """The baseline every page starts from: "mean" for aligned models — a named dimension at 0 means "absent",
    so a zeros baseline credits dimensions that are merely common (with the mean baseline the trained synthetic
    model's IG / exact Shapley put the planted genres on top) — and "zeros" for latent ones."""
    return "mean" if getattr(model, "mode", None) == "aligned" else "zeros"


class DimensionScore(nn.Module):
    """S = model.attention(x, y).s as a module (the model's encoders are not used)."""

    def __init__(self, model: ExplainableModel):
        super().__init__()
        self.model = model

    def trace(self, x: torch.Tensor, y: torch.Tensor) -> AttentionTrace:
        return self.model.attention(x, y)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.model.attention(x, y).s


def baseline_rows(model: ExplainableModel, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw baseline rows (1, R_u), (1, R_v) of `kind` (module docstring), on the model's device."""
    if kind not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {kind!r}")
    fz = model.featurizer
    return (
        torch.as_tensor(fz.baseline_row("user", kind), dtype=torch.float32, device=model.device)[None],
        torch.as_tensor(fz.baseline_row("item", kind), dtype=torch.float32, device=model.device)[None],
    )


def targets_for(
    model: ExplainableModel,
    user_rows: torch.Tensor,
    item_rows: torch.Tensor,
    level: str = "fields",
    baseline: str = "zeros",
    *,
    grouping: str = "paired",
    pair_ids: list[tuple[str, str]] | None = None,
) -> ExplainTarget:
    """The B pairs (user_rows[b], item_rows[b]) of `model`, ready for `explain`.

    user_rows, item_rows: raw encoded rows (B, R_u), (B, R_v), e.g. model.user_rows(ids). level, baseline:
    see the module docstring. grouping (dimensions only): "paired" (X_i with Y_i) or "separate".
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
    base_u, base_v = baseline_rows(model, baseline)
    if level == "fields":
        fz = model.featurizer
        return ExplainTarget(
            module=as_module(model),
            inputs_u=user_rows,
            inputs_v=item_rows,
            baseline_u=base_u,
            baseline_v=base_v,
            names_u=list(fz.columns("user")),
            names_v=list(fz.columns("item")),
            groups=groups_from_fields(fz.groups("user"), fz.groups("item")),
            level="fields",
            baseline_kind=baseline,
            pair_ids=pair_ids,
        )
    with torch.no_grad():
        x, y = model.encode_user(user_rows), model.encode_item(item_rows)
        if baseline == "zeros":
            bx, by = torch.zeros_like(x[:1]), torch.zeros_like(y[:1])
        else:
            bx, by = model.encode_user(base_u), model.encode_item(base_v)
    return dimension_target(
        DimensionScore(model),
        x,
        y,
        bx,
        by,
        names=list(model.dimension_names),
        grouping=grouping,
        baseline_kind=baseline,
        pair_ids=pair_ids,
    )


def pair_target(
    model: ExplainableModel, user_id: str, item_id: str, level: str = "fields", baseline: str = "zeros"
) -> ExplainTarget:
    """`targets_for` one catalog pair, by id."""
    user_id, item_id = str(user_id), str(item_id)
    return targets_for(
        model, model.user_rows([user_id]), model.item_rows([item_id]), level, baseline, pair_ids=[(user_id, item_id)]
    )

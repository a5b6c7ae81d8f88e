"""One pair's explanation: what Explore and Compare show for a pair, in plain numbers.

`explain_pair` asks the model for the attention trace of a catalog pair and asks attnrec.explain for
attributions of S to the raw user / item attributes, through the one target builder
(`attnrec.explain.model_targets.targets_for`); `explain_vectors` does the same for typed X, Y vectors (their
dimensions). The downloads of a `PairExplanation` (JSON, CSV, HTML) are in `attnrec.exports`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from attnrec.attention import AttentionTrace
from attnrec.explain import Attribution, dimension_target, explain
from attnrec.explain.model_targets import DimensionScore, default_baseline, targets_for
from attnrec.model import PairTrace
from attnrec.reasons import describe_fields, raw_columns_of_group, split_group_name

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from attnrec.model import Recommender

__all__ = [
    "PairExplanation",
    "explain_pair",
    "explain_vectors",
    "vector_trace",
    "cell_story",
    "attribution_table",
    "TRACE_FIELDS",
]

TRACE_FIELDS = ("logits_u", "a_u", "z_u", "logits_v", "a_v", "z_v", "contributions")


@dataclass
class PairExplanation:
    """Everything the Explore page shows for one pair, in plain numbers."""

    pair: PairTrace
    attribution: Attribution | None  # None when attributions were not asked for
    table: pd.DataFrame  # side, field, label, attribution (largest |value| first)
    method: str
    params: dict
    n_items: int  # catalog size the rank is out of
    vectors: bool = False  # X, Y typed by the user instead of catalog rows
    user_attributes: dict[str, str] = field(default_factory=dict)
    item_attributes: dict[str, str] = field(default_factory=dict)
    context: dict = field(default_factory=dict)  # dataset, model, device names (for the exports)
    baseline: str = "zeros"  # model_targets.BASELINES key the attributions explain S against

    @property
    def residual(self) -> float:
        """S − Σ contributions: ~0 by construction; shown so nobody has to take it on trust."""
        return float(self.pair.s - self.pair.trace.contributions[0].double().sum())


# ---- computing --------------------------------------------------------------------------------


def attribution_table(attribution: Attribution, user_text: dict[str, str], item_text: dict[str, str]) -> pd.DataFrame:
    """Group totals of pair 0 as rows: side, field, label ("budget low"), attribution; largest |·| first."""
    rows = []
    for name, value in zip(attribution.group_names, attribution.groups[0]):
        side, field_name = split_group_name(name)
        text = (user_text if side == "user" else item_text).get(field_name, field_name)
        rows.append({"side": side or "both", "field": field_name, "label": text, "attribution": float(value)})
    table = pd.DataFrame(rows, columns=["side", "field", "label", "attribution"])
    order = table["attribution"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order].reset_index(drop=True)


def _attributes(row: pd.Series) -> dict[str, str]:
    return {str(k): "" if (not isinstance(v, (list, tuple)) and pd.isna(v)) else str(v) for k, v in row.items()}


def explain_pair(
    model: Recommender,
    user_id: str,
    item_id: str,
    method_key: str = "ig",
    params: dict | None = None,
    baseline: str | None = None,
    context: dict | None = None,
) -> PairExplanation:
    """A catalog pair: trace, S, probability, rank, and attributions to the raw attributes (against
    `baseline`, by default the model's `default_baseline`)."""
    baseline = baseline or default_baseline(model)
    pair = model.trace(user_id, item_id)
    user_row, item_row = model.attached_dataset.users.loc[str(user_id)], model.attached_dataset.items.loc[str(item_id)]
    user_text = describe_fields(user_row, raw_columns_of_group(model.featurizer, "user"))
    item_text = describe_fields(item_row, raw_columns_of_group(model.featurizer, "item"))
    attribution, table, checked = None, _empty_table(), {}
    if method_key:
        target = targets_for(model, pair.r_u, pair.r_v, "fields", baseline, pair_ids=[(str(user_id), str(item_id))])
        attribution = explain(target, method_key, params)
        checked = attribution.params
        table = attribution_table(attribution, user_text, item_text)
    return PairExplanation(
        pair,
        attribution,
        table,
        method_key or "",
        checked,
        len(model.item_ids),
        user_attributes=_attributes(user_row),
        item_attributes=_attributes(item_row),
        context=dict(context or {}),
        baseline=baseline,
    )


def vector_trace(model: Recommender, x: ArrayLike, y: ArrayLike) -> PairTrace:
    """A PairTrace for typed vectors X, Y (d,): S, probability, and where S would rank in the catalog."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32), device=model.device).reshape(-1)
    y = torch.as_tensor(np.asarray(y, dtype=np.float32), device=model.device).reshape(-1)
    if x.shape[0] != model.d or y.shape[0] != model.d:
        raise ValueError(f"X and Y need {model.d} values each (the model's d), got {x.shape[0]} and {y.shape[0]}")
    with torch.no_grad():
        trace = model.attention(x.unsqueeze(0), y.unsqueeze(0)).detach()
        catalog = model.scores_for_vector(x)  # chunked: bounded memory at any catalog size
        s = trace.s[0]
        # Typed S is computed apart from the catalog's scores, so an item scoring the same may differ from it by
        # float32 rounding: such items are ties (the pair would share their ranks), not items ahead of it.
        same = torch.isclose(catalog, torch.full_like(catalog, float(s)), rtol=1e-5, atol=1e-6)
        rank, ties = int(((catalog > float(s)) & ~same).sum()) + 1, int(same.sum())
        probability = float(model.probability(s))
    return PairTrace(
        trace=trace,
        x=x,
        y=y,
        r_u=x,
        r_v=y,
        dimension_names=list(model.dimension_names),
        user_id="typed X",
        item_id="typed Y",
        s=float(s),
        probability=probability,
        rank=rank,
        ties=ties,
    )


def explain_vectors(
    model: Recommender,
    x: ArrayLike,
    y: ArrayLike,
    method_key: str = "ig",
    params: dict | None = None,
    context: dict | None = None,
) -> PairExplanation:
    """Typed X, Y: trace and attributions to each dimension of X (user side) and Y (item side)."""
    pair = vector_trace(model, x, y)
    names = list(model.dimension_names)
    attribution, table, checked = None, _empty_table(), {}
    if method_key:
        # S = model.attention(X, Y).s with the model's own attention variant (as the trace above), zeros baseline
        target = dimension_target(DimensionScore(model), pair.x, pair.y, names=names, grouping="separate")
        attribution = explain(target, method_key, params)
        checked = attribution.params
        user_text = {n: f"{n} = {v:.3g}" for n, v in zip(names, pair.x.tolist())}
        item_text = {n: f"{n} = {v:.3g}" for n, v in zip(names, pair.y.tolist())}
        table = attribution_table(attribution, user_text, item_text)
    return PairExplanation(
        pair,
        attribution,
        table,
        method_key or "",
        checked,
        len(model.item_ids),
        vectors=True,
        user_attributes={f"X[{n}]": f"{v:.6g}" for n, v in zip(names, pair.x.tolist())},
        item_attributes={f"Y[{n}]": f"{v:.6g}" for n, v in zip(names, pair.y.tolist())},
        context=dict(context or {}),
        baseline="zeros",
    )


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=["side", "field", "label", "attribution"])


def cell_story(trace: AttentionTrace, head: int, dim: int, dimension_names: Sequence[str], b: int = 0) -> dict:
    """What one heatmap cell (head, dimension) stands for, in numbers.

    logit = (W p)_i / τ, weight = softmax of the logits over dimensions, Z_U = A_U·Y, Z_V = A_V·X,
    contribution = Z_U·Z_V, and its share of S.
    """
    heads, d = trace.a_u.shape[1], trace.a_u.shape[2]
    if not (0 <= head < heads and 0 <= dim < d):
        raise ValueError(f"cell (head {head}, dim {dim}) is outside {heads} heads × {d} dimensions")
    value = {name: float(getattr(trace, name)[b, head, dim]) for name in TRACE_FIELDS}
    s = float(trace.s[b])
    return {
        "head": head + 1,
        "dimension": str(dimension_names[dim]),
        **value,
        "s": s,
        "share_of_s": value["contributions"] / s if abs(s) > 1e-12 else float("nan"),
    }

"""Dataset-wide view, two models: one pair under both (S, rank, P, top contributions, entropy) and the same
held-out users (metrics through `evaluate`, each user's rank of the held-out item under both). No Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

if TYPE_CHECKING:
    from attnrec.evaluation import Split
    from attnrec.model import Recommender

from attnrec.insight_slices import unit_entropy
from attnrec.insights import real_dimensions


def held_out_ranks(model: Recommender, split: Split) -> pd.DataFrame:
    """Per held-out user: the held-out item's expected rank among the protocol's candidates (1 + candidates
    scored higher + half the ties — the mean position over tie orders) and the number of candidates, with
    the candidates of `attnrec.evaluation.evaluate` (same protocol, same exclusions)."""
    catalog = [str(i) for i in split.full.items.index]
    row = {item: r for r, item in enumerate(catalog)}
    own = {item: r for r, item in enumerate(model.item_ids)}
    take = np.array([own[i] for i in catalog])
    if split.protocol == "common":
        inter = split.train.interactions
        inter = inter[inter["label"] == 1]
    else:
        inter = split.full.interactions
    touched = inter.groupby(inter["user_id"].astype(str))["item_id"].agg(lambda s: {str(i) for i in s})
    out = []
    for user, item in zip(split.held_out["user_id"].astype(str), split.held_out["item_id"].astype(str)):
        scores = np.asarray(model.scores_for_user(user), dtype=np.float64)[take]
        mask = np.ones(len(catalog), dtype=bool)
        mask[[row[i] for i in touched.get(user, set()) - {item} if i in row]] = False
        mask[row[item]] = False
        mine, others = scores[row[item]], scores[mask]
        rank = 1 + (others > mine).sum() + 0.5 * (others == mine).sum()
        out.append({"user_id": user, "item_id": item, "rank": float(rank), "candidates": int(mask.sum()) + 1})
    return pd.DataFrame(out)


@dataclass
class HeldOutComparison:
    metrics: pd.DataFrame  # model, HR@k, NDCG@k, AUC, users (via attnrec.evaluation.evaluate)
    ranks: pd.DataFrame  # user_id, item_id, rank <a>, rank <b>, candidates
    better: dict  # model name → users it ranks strictly better; "tie" → equal ranks


def compare_held_out(models: dict, split: Split, k: int = 10) -> HeldOutComparison:
    """Both models (`{name: model}`, two entries) on the same held-out users of `split`."""
    from attnrec.evaluation import evaluate, metrics_row

    (name_a, model_a), (name_b, model_b) = models.items()
    rows = []
    for name, model in ((name_a, model_a), (name_b, model_b)):
        rows.append(metrics_row(name, evaluate(model, split, k=k), k))
    a, b = held_out_ranks(model_a, split), held_out_ranks(model_b, split)
    ranks = a[["user_id", "item_id"]].assign(
        **{f"rank {name_a}": a["rank"], f"rank {name_b}": b["rank"], "candidates": a["candidates"]}
    )
    better = {
        name_a: int((a["rank"] < b["rank"]).sum()),
        name_b: int((b["rank"] < a["rank"]).sum()),
        "tie": int((a["rank"] == b["rank"]).sum()),
    }
    return HeldOutComparison(pd.DataFrame(rows), ranks, better)


@torch.no_grad()
def compare_pair(models: dict, user_id: str, item_id: str, top: int = 5) -> tuple[pd.DataFrame, dict]:
    """One pair under each model: a summary frame (model, S, P(like), rank among all items, mean normalised
    entropy of A_U and A_V over heads, over attention units as `unit_entropy`) and {model: its `top` dimensions
    by |contribution| (dimension, contribution, share of S)}."""
    rows, tops = [], {}
    for name, model in models.items():
        pair = model.trace(user_id, item_id)
        trace = pair.trace
        contributions = trace.contributions.sum(dim=1)[0].double().cpu().numpy()
        d = real_dimensions(model)
        rows.append(
            {
                "model": name,
                "S": pair.s,
                "P(like)": pair.probability,
                "rank": pair.rank,
                "items": len(model.item_ids),
                **dict(
                    zip(
                        ("entropy A_U", "entropy A_V"),
                        unit_entropy(model, [user_id], [item_id])[0].mean(axis=0).tolist(),
                    )
                ),
            }
        )
        order = np.argsort(-np.abs(contributions[:d]), kind="stable")[:top]
        tops[name] = pd.DataFrame(
            {
                "dimension": [model.dimension_names[i] for i in order],
                "contribution": contributions[order],
                "share of S": contributions[order] / pair.s if pair.s else np.nan,
            }
        )
    return pd.DataFrame(rows), tops


@torch.no_grad()
def pair_attention_top(model: Recommender, user_id: str, item_id: str, top: int = 5) -> pd.DataFrame:
    """The pair's most attended attention units: weight = mean over heads of (A_U + A_V) / 2 (a taste block
    counts as one unit, its weights summed; the null slot is listed as itself)."""
    pair = model.trace(user_id, item_id)
    weight = ((pair.trace.a_u + pair.trace.a_v) / 2).mean(dim=1)[0].double().cpu().numpy()
    units = model.attention_units() if hasattr(model, "attention_units") else [[i] for i in range(model.d)]
    names = model.unit_names() if hasattr(model, "unit_names") else list(model.dimension_names)
    per_unit = np.array([weight[u].sum() for u in units])
    order = np.argsort(-per_unit, kind="stable")[:top]
    return pd.DataFrame({"attended": [names[j] for j in order], "weight": per_unit[order], "uniform": 1.0 / len(units)})


def pair_field_attributions(
    model: Recommender, user_id: str, item_id: str, top: int = 5, steps: int = 50
) -> pd.DataFrame:
    """Integrated Gradients of one pair over the raw fields with the model's default baseline: the `top`
    fields by |attribution|, and the total with S − S(baseline) for the completeness check."""
    from attnrec.explain import explain, targets_for
    from attnrec.explain.model_targets import default_baseline

    target = targets_for(
        model,
        model.user_rows([user_id]),
        model.item_rows([item_id]),
        "fields",
        default_baseline(model),
        pair_ids=[(str(user_id), str(item_id))],
    )
    attribution = explain(target, "ig", {"n_steps": steps})
    values = attribution.groups[0]
    order = np.argsort(-np.abs(values), kind="stable")[:top]
    frame = pd.DataFrame({"field": [attribution.group_names[j] for j in order], "attribution": values[order]})
    frame.attrs["total"] = float(values.sum())
    frame.attrs["change"] = float(attribution.s[0] - attribution.s_baseline[0])
    return frame

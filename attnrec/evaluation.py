"""The leave-one-out protocol and its metrics — one code path for our model and every baseline.

Protocol: for every user with at least two positives, hold out one positive (the latest one where the
interactions carry timestamps, otherwise one picked with a seeded RNG); models train on the rest. The
held-out item is ranked against every catalog item the user never interacted with (any label) in the
full data. Ties are broken uniformly at random *in expectation*: HR@k, NDCG@k and AUC are the exact
expected values over tie orders, so a constant scorer gets chance-level numbers rather than a lucky or
unlucky fixed order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from attnrec.data.types import Dataset

__all__ = ["Split", "leave_one_out", "ranking_metrics", "evaluate"]


@dataclass
class Split:
    train: Dataset                 # the dataset minus the held-out pairs
    held_out: pd.DataFrame         # user_id, item_id: one positive per evaluated user
    full: Dataset
    seed: int
    by: str                        # "timestamp" | "random"

    def describe(self) -> dict:
        return {"protocol": "leave-one-out", "seed": self.seed, "held_out_by": self.by,
                "users": int(len(self.held_out))}


def leave_one_out(dataset: Dataset, seed: int = 0, min_positives: int = 2) -> Split:
    inter = dataset.interactions.copy()
    inter["user_id"] = inter["user_id"].astype(str)
    inter["item_id"] = inter["item_id"].astype(str)
    positives = inter[inter["label"] == 1]
    counts = positives.groupby("user_id")["item_id"].nunique()
    eligible = positives[positives["user_id"].isin(counts[counts >= min_positives].index)]
    has_time = "timestamp" in eligible.columns and eligible["timestamp"].notna().all() and len(eligible)
    rng = np.random.default_rng(seed)
    # A random key breaks ties among equal timestamps, and is the whole order without timestamps.
    eligible = eligible.assign(_key=rng.random(len(eligible)))
    order = ["user_id", "timestamp", "_key"] if has_time else ["user_id", "_key"]
    held = eligible.sort_values(order).groupby("user_id").tail(1)[["user_id", "item_id"]]
    held = held.sort_values("user_id").reset_index(drop=True)
    # Drop every row of a held-out pair (duplicates would leak the answer into training).
    pair = inter["user_id"] + "\x00" + inter["item_id"]
    train_inter = inter[~pair.isin(set(held["user_id"] + "\x00" + held["item_id"]))].reset_index(drop=True)
    train = replace(dataset, interactions=train_inter)
    return Split(train=train, held_out=held, full=dataset, seed=seed, by="timestamp" if has_time else "random")


def ranking_metrics(positive: float, negatives: np.ndarray, k: int = 10) -> tuple[float, float, float]:
    """(hit@k, ndcg@k, auc) of one held-out score against its candidate negatives, ties in expectation."""
    negatives = np.asarray(negatives, dtype=np.float64)
    greater = int((negatives > positive).sum())
    ties = int((negatives == positive).sum())
    ranks = np.arange(greater + 1, greater + ties + 2)  # equally likely positions among the tied block
    inside = ranks <= k
    hit = float(inside.mean())
    ndcg = float(np.where(inside, 1.0 / np.log2(ranks + 1.0), 0.0).mean())
    n = len(negatives)
    auc = float((n - greater - ties + 0.5 * ties) / n) if n else math.nan
    return hit, ndcg, auc


def _score_function(scorer, split: Split):
    """Adapt a model/baseline (item_ids + scores_for_user) or a plain callable to split item order."""
    catalog = [str(i) for i in split.full.items.index]
    if hasattr(scorer, "scores_for_user"):
        own = {item: r for r, item in enumerate(scorer.item_ids)}
        missing = [i for i in catalog if i not in own]
        if missing:
            raise ValueError(f"the scorer does not know {len(missing)} catalog items, e.g. '{missing[0]}'")
        take = np.array([own[i] for i in catalog])
        return lambda user: np.asarray(scorer.scores_for_user(user), dtype=np.float64)[take]
    return lambda user: np.asarray(scorer(user), dtype=np.float64)


def evaluate(model_or_scorer, split: Split, k: int = 10) -> dict:
    """Mean HR@k, NDCG@k, AUC over the split's held-out users (see the module docstring)."""
    catalog = [str(i) for i in split.full.items.index]
    row = {item: r for r, item in enumerate(catalog)}
    score = _score_function(model_or_scorer, split)
    inter = split.full.interactions
    touched = inter.groupby(inter["user_id"].astype(str))["item_id"].agg(lambda s: {str(i) for i in s})
    hits, ndcgs, aucs = [], [], []
    for user, item in zip(split.held_out["user_id"], split.held_out["item_id"]):
        scores = score(user)
        excluded = touched.get(user, set()) - {item}
        mask = np.ones(len(catalog), dtype=bool)
        mask[[row[i] for i in excluded if i in row]] = False
        mask[row[item]] = False
        hit, ndcg, auc = ranking_metrics(scores[row[item]], scores[mask], k)
        hits.append(hit), ndcgs.append(ndcg), aucs.append(auc)
    return {f"hr@{k}": float(np.mean(hits)), f"ndcg@{k}": float(np.mean(ndcgs)),
            "auc": float(np.nanmean(aucs)), "users": len(hits)}

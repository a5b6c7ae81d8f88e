"""The leave-one-out protocol and its metrics — one code path for our model and every baseline.

Hold-out (both protocols): for every user with at least two positives, one positive is held out; models
train on the rest. Where the interactions carry timestamps it is the user's **latest** positive, and among
positives with the same latest timestamp the one that comes **last in the interactions table** (file order,
after repeated user–item rows are merged) — a fixed rule, no randomness, so any tool can reproduce the split
(`TIE_RULE`). Without timestamps the held-out positive is picked with a seeded RNG (`seed`).

Candidates, by protocol (`PROTOCOLS`):
- "attnrec" (the default, every shipped number): the held-out item is ranked against every catalog item the
  user never interacted with, with any label, in the full data (a label-0 row is "seen", not a candidate).
- "common" (the convention of most tools in the field): ranked against **all** items that are not among the
  user's *training* positives — label-0 rows (e.g. ratings under the threshold) are candidates like any
  unseen item, as when a tool keeps only the rows above a rating threshold before splitting.

Ties in score are broken uniformly at random *in expectation*: HR@k, NDCG@k and AUC are the exact expected
values over tie orders, so a constant scorer gets chance-level numbers rather than a lucky or unlucky fixed
order. Every result says which protocol made it (`Split.describe()`, the "protocol" entry of `evaluate`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from attnrec.data.types import Dataset
from attnrec.progress import progress_bar

__all__ = [
    "Split",
    "leave_one_out",
    "ranking_metrics",
    "evaluate",
    "metrics_row",
    "PROTOCOLS",
    "TIE_RULE",
    "protocol_of",
]

PROTOCOLS = {
    "attnrec": "full ranking against every item the user never interacted with (any label) in the full data",
    "common": "full ranking against all items that are not among the user's training positives "
    "(label-0 rows are candidates)",
}
TIE_RULE = (
    "the latest positive by timestamp; among equal timestamps the one last in the interactions table "
    "(file order); without timestamps a seeded random positive"
)


def protocol_of(described: dict | None) -> str:
    """The protocol a stored `Split.describe()` names ("attnrec" for checkpoints written before there was a
    choice, whose entry reads "leave-one-out")."""
    name = (described or {}).get("protocol", "attnrec")
    return name if name in PROTOCOLS else "attnrec"


@dataclass
class Split:
    train: Dataset  # the dataset minus the held-out pairs
    held_out: pd.DataFrame  # user_id, item_id: one positive per evaluated user
    full: Dataset
    seed: int
    by: str  # "timestamp" | "random"
    protocol: str = "attnrec"  # which candidates `evaluate` ranks against (PROTOCOLS)

    def describe(self) -> dict:
        return {
            "protocol": self.protocol,
            "split": "leave-one-out",
            "seed": self.seed,
            "held_out_by": self.by,
            "tie_rule": TIE_RULE if self.by == "timestamp" else "seeded random positive (no timestamps)",
            "candidates": PROTOCOLS[self.protocol],
            "users": int(len(self.held_out)),
        }


def leave_one_out(dataset: Dataset, seed: int = 0, min_positives: int = 2, protocol: str = "attnrec") -> Split:
    """The split of the module docstring. `protocol` changes only the candidates `evaluate` ranks against,
    never the held-out pairs, so one trained model can be evaluated under both."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    inter = dataset.interactions.copy()
    inter["user_id"] = inter["user_id"].astype(str)
    inter["item_id"] = inter["item_id"].astype(str)
    inter["_row"] = np.arange(len(inter))
    positives = inter[inter["label"] == 1]
    counts = positives.groupby("user_id")["item_id"].nunique()
    eligible = positives[positives["user_id"].isin(counts[counts >= min_positives].index)]
    has_time = "timestamp" in eligible.columns and eligible["timestamp"].notna().all() and len(eligible)
    if has_time:
        # Latest timestamp; equal timestamps: the later row of the table (TIE_RULE). No randomness.
        order = ["user_id", "timestamp", "_row"]
    else:
        rng = np.random.default_rng(seed)
        eligible = eligible.assign(_key=rng.random(len(eligible)))
        order = ["user_id", "_key"]
    held = eligible.sort_values(order, kind="mergesort").groupby("user_id").tail(1)[["user_id", "item_id"]]
    held = held.sort_values("user_id").reset_index(drop=True)
    inter = inter.drop(columns="_row")
    # Drop every row of a held-out pair (duplicates would leak the answer into training).
    pair = inter["user_id"] + "\x00" + inter["item_id"]
    train_inter = inter[~pair.isin(set(held["user_id"] + "\x00" + held["item_id"]))].reset_index(drop=True)
    train = replace(dataset, interactions=train_inter)
    return Split(
        train=train, held_out=held, full=dataset, seed=seed, by="timestamp" if has_time else "random", protocol=protocol
    )


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


class Scorer(Protocol):
    """What `evaluate` needs of a model or baseline: its catalog order and one user's scores in it."""

    @property
    def item_ids(self) -> Sequence[str]: ...

    def scores_for_user(self, user_id: str) -> ArrayLike: ...


def evaluate(
    model_or_scorer: Scorer | Callable[[str], ArrayLike],
    split: Split,
    k: int = 10,
    progress: bool | None = False,
    desc: str = "evaluate",
) -> dict:
    """Mean HR@k, NDCG@k, AUC over the split's held-out users under `split.protocol` (module docstring);
    the dict also names the protocol."""
    catalog = [str(i) for i in split.full.items.index]
    row = {item: r for r, item in enumerate(catalog)}
    score = _score_function(model_or_scorer, split)
    if split.protocol == "common":  # only the user's training positives are taken out of the candidates
        inter = split.train.interactions
        inter = inter[inter["label"] == 1]
    else:  # everything the user touched, any label, in the full data
        inter = split.full.interactions
    touched = inter.groupby(inter["user_id"].astype(str))["item_id"].agg(lambda s: {str(i) for i in s})
    hits, ndcgs, aucs = [], [], []
    pairs = zip(split.held_out["user_id"], split.held_out["item_id"])
    for user, item in progress_bar(pairs, desc=desc, progress=progress, total=len(split.held_out), unit="user"):
        scores = score(user)
        excluded = touched.get(user, set()) - {item}
        mask = np.ones(len(catalog), dtype=bool)
        mask[[row[i] for i in excluded if i in row]] = False
        mask[row[item]] = False
        hit, ndcg, auc = ranking_metrics(scores[row[item]], scores[mask], k)
        hits.append(hit)
        ndcgs.append(ndcg)
        aucs.append(auc)
    return {
        f"hr@{k}": float(np.mean(hits)),
        f"ndcg@{k}": float(np.mean(ndcgs)),
        "auc": float(np.nanmean(aucs)),
        "users": len(hits),
        "protocol": split.protocol,
    }


def metrics_row(name: str, result: dict, k: int = 10) -> dict:
    """One table row of `evaluate`'s result for the pages: model name, HR@k, NDCG@k, AUC, users."""
    return {
        "model": name,
        f"HR@{k}": result[f"hr@{k}"],
        f"NDCG@{k}": result[f"ndcg@{k}"],
        "AUC": result["auc"],
        "users": result["users"],
    }

"""Leave-one-out split and ranking metrics, checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from attnrec.baselines import BPRMF, Popularity
from attnrec.data.types import Dataset
from attnrec.evaluation import evaluate, leave_one_out, ranking_metrics


def test_metrics_on_a_tiny_ranking_by_hand():
    # positive 0.5 against [0.9, 0.7, 0.1, 0.2]: two above → rank 3
    hit, ndcg, auc = ranking_metrics(0.5, np.array([0.9, 0.7, 0.1, 0.2]), k=10)
    assert hit == 1.0
    assert ndcg == pytest.approx(1 / math.log2(4))  # 0.5
    assert auc == pytest.approx(2 / 4)
    hit, ndcg, auc = ranking_metrics(0.5, np.array([0.9, 0.7, 0.1, 0.2]), k=2)
    assert (hit, ndcg) == (0.0, 0.0)
    # ties: one above, two tied → rank 2, 3 or 4 with probability 1/3 each
    hit, ndcg, auc = ranking_metrics(1.0, np.array([2.0, 1.0, 1.0, 0.0]), k=3)
    assert hit == pytest.approx(2 / 3)
    assert ndcg == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / 3)
    assert auc == pytest.approx((1 + 0.5 * 2) / 4)
    # top of the list
    assert ranking_metrics(5.0, np.array([1.0, 2.0]), k=1) == (1.0, 1.0, 1.0)


def _dataset(with_time: bool):
    users = pd.DataFrame({"g": ["a", "b", "c"]}, index=["u1", "u2", "u3"])
    items = pd.DataFrame({"g": list("pqrst")}, index=["i1", "i2", "i3", "i4", "i5"])
    rows = [
        ("u1", "i1", 1, 10),
        ("u1", "i2", 1, 30),
        ("u1", "i3", 1, 20),
        ("u1", "i4", 0, 40),
        ("u2", "i2", 1, 5),
        ("u2", "i5", 1, 1),
        ("u3", "i3", 1, 7),
    ]  # only one positive: not evaluated
    inter = pd.DataFrame(rows, columns=["user_id", "item_id", "label", "timestamp"])
    if not with_time:
        inter = inter.drop(columns="timestamp")
    return Dataset("tiny", users, items, inter, schema={})


def test_leave_one_out_holds_out_the_latest_positive():
    split = leave_one_out(_dataset(True))
    assert split.by == "timestamp"
    assert split.held_out.values.tolist() == [["u1", "i2"], ["u2", "i2"]]
    train_pairs = set(zip(split.train.interactions["user_id"], split.train.interactions["item_id"]))
    assert ("u1", "i2") not in train_pairs and ("u2", "i2") not in train_pairs
    assert len(split.train.interactions) == 5 and ("u3", "i3") in train_pairs


def test_random_hold_out_is_seeded_and_always_a_positive():
    a, b = leave_one_out(_dataset(False), seed=3), leave_one_out(_dataset(False), seed=3)
    assert a.by == "random" and a.held_out.equals(b.held_out)
    positives = set(zip(*[_dataset(False).positives[c] for c in ("user_id", "item_id")]))
    assert all(tuple(p) in positives for p in a.held_out.values.tolist())


def test_evaluate_ranks_against_items_the_user_never_touched():
    split = leave_one_out(_dataset(True))
    # u1 holds out i2; candidates exclude i1, i3 (positives) and i4 (observed negative) → only i5.
    # u2 holds out i2; candidates: i1, i3, i4 (i5 is its positive).
    table = {"i1": 9.0, "i2": 5.0, "i3": 8.0, "i4": 7.0, "i5": 1.0}
    metrics = evaluate(lambda user: np.array([table[i] for i in split.full.items.index]), split, k=2)
    # u1: i2 (5) beats i5 (1) → rank 1. u2: i1, i3, i4 all above → rank 4.
    assert metrics["hr@2"] == pytest.approx(0.5)
    assert metrics["ndcg@2"] == pytest.approx(0.5)
    assert metrics["auc"] == pytest.approx(0.5)
    assert metrics["users"] == 2


def test_popularity_counts_training_positives():
    split = leave_one_out(_dataset(True))
    pop = Popularity(split.train)
    assert dict(zip(pop.item_ids, pop.scores_for_user("u1"))) == {"i1": 1, "i2": 0, "i3": 2, "i4": 0, "i5": 1}
    assert evaluate(pop, split)["users"] == 2


def test_bpr_mf_learns_a_block_structure():
    # Two user groups, each liking its own half of the items: MF must rank the held-out item of the
    # user's own block above the other block.
    rng = np.random.default_rng(0)
    users = pd.DataFrame(index=[f"u{i}" for i in range(40)])
    items = pd.DataFrame(index=[f"i{i}" for i in range(40)])
    rows = [(f"u{u}", f"i{i}", 1) for u in range(40) for i in rng.choice(20, 8, replace=False) + 20 * (u % 2)]
    data = Dataset("blocks", users, items, pd.DataFrame(rows, columns=["user_id", "item_id", "label"]), {})
    split = leave_one_out(data)
    mf, pop = evaluate(BPRMF(split.train, dim=8, epochs=40), split), evaluate(Popularity(split.train), split)
    # Perfect block order: held-out item beats the 20 other-block items, coin flip vs 12 own-block ones.
    best_possible = (20 + 0.5 * 12) / 32
    assert mf["auc"] > best_possible - 0.05 and pop["auc"] < 0.65

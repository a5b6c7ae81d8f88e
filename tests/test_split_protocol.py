"""Deterministic leave-one-out tie rule and the two candidate protocols ("attnrec", "common"), checked
against hand-worked answers and a brute-force reference written here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from attnrec.data.types import Dataset
from attnrec.evaluation import PROTOCOLS, TIE_RULE, evaluate, leave_one_out


def _tied():
    users = pd.DataFrame(index=["u1", "u2", "u3"])
    items = pd.DataFrame(index=[f"i{k}" for k in range(1, 7)])
    rows = [
        ("u1", "i3", 1, 50),
        ("u1", "i1", 1, 50),
        ("u1", "i2", 1, 10),  # i3, i1 tie at 50: i1 is later
        ("u1", "i4", 0, 99),  # latest, but a negative
        ("u2", "i5", 1, 20),
        ("u2", "i2", 1, 20),
        ("u2", "i6", 1, 20),  # three-way tie: i6 is last
        ("u3", "i1", 1, 5),
        ("u3", "i2", 1, 6),
        ("u3", "i3", 0, 1),
    ]
    return Dataset(
        "tied", users, items, pd.DataFrame(rows, columns=["user_id", "item_id", "label", "timestamp"]), schema={}
    )


def test_ties_go_to_the_row_last_in_the_table_whatever_the_seed():
    for seed in (0, 1, 7, 123):
        split = leave_one_out(_tied(), seed=seed)
        assert split.held_out.values.tolist() == [["u1", "i1"], ["u2", "i6"], ["u3", "i2"]]
    # Reversing the table's row order flips the choice among tied rows (and only there).
    data = _tied()
    data.interactions = data.interactions.iloc[::-1].reset_index(drop=True)
    assert leave_one_out(data).held_out.values.tolist() == [["u1", "i3"], ["u2", "i5"], ["u3", "i2"]]


def test_describe_states_protocol_tie_rule_and_candidates():
    for protocol in PROTOCOLS:
        split = leave_one_out(_tied(), protocol=protocol)
        described = split.describe()
        assert described["protocol"] == protocol and described["held_out_by"] == "timestamp"
        assert described["tie_rule"] == TIE_RULE and described["candidates"] == PROTOCOLS[protocol]
        assert described["users"] == 3
        assert evaluate(lambda u: np.zeros(6), split)["protocol"] == protocol
    with pytest.raises(ValueError, match="protocol"):
        leave_one_out(_tied(), protocol="other")


def test_protocols_hold_out_the_same_pairs():
    a, c = leave_one_out(_tied(), protocol="attnrec"), leave_one_out(_tied(), protocol="common")
    assert a.held_out.equals(c.held_out) and a.train.interactions.equals(c.train.interactions)


def _brute_force(scores: dict, split, excluded_of) -> tuple[float, float, float]:
    """HR@2, NDCG@2, AUC by enumerating every tie order, from explicit candidate lists."""
    hits, ndcgs, aucs = [], [], []
    for user, item in split.held_out.values.tolist():
        candidates = [i for i in split.full.items.index if i != item and i not in excluded_of(user)]
        above = sum(scores[c] > scores[item] for c in candidates)
        tied = sum(scores[c] == scores[item] for c in candidates)
        positions = range(above + 1, above + tied + 2)
        hits.append(np.mean([p <= 2 for p in positions]))
        ndcgs.append(np.mean([1 / math.log2(p + 1) if p <= 2 else 0 for p in positions]))
        aucs.append(
            np.mean(
                [1.0 if scores[item] > scores[c] else 0.5 if scores[item] == scores[c] else 0.0 for c in candidates]
            )
        )
    return float(np.mean(hits)), float(np.mean(ndcgs)), float(np.mean(aucs))


def test_common_protocol_ranks_label_zero_items_as_candidates():
    scores = {"i1": 3.0, "i2": 2.0, "i3": 9.0, "i4": 8.0, "i5": 2.0, "i6": 1.0}
    table = lambda user: np.array([scores[i] for i in _tied().items.index])  # noqa: E731
    inter = _tied().interactions
    for protocol in PROTOCOLS:
        split = leave_one_out(_tied(), protocol=protocol)
        train = split.train.interactions
        if protocol == "common":  # exclude the user's training positives only
            excluded_of = lambda u, train=train: set(train[(train.user_id == u) & (train.label == 1)].item_id)  # noqa: E731
        else:  # exclude everything the user touched in the full data
            excluded_of = lambda u: set(inter[inter.user_id == u].item_id)  # noqa: E731
        got = evaluate(table, split, k=2)
        assert (got["hr@2"], got["ndcg@2"], got["auc"]) == pytest.approx(_brute_force(scores, split, excluded_of))
    # By hand, u1 (held out i1, score 3): attnrec candidates i5, i6 → rank 1, AUC 1;
    # common adds its label-0 item i4 (score 8) → rank 2, AUC 2/3.
    one = leave_one_out(_tied(), protocol="common")
    one.held_out = one.held_out.iloc[:1]
    got = evaluate(table, one, k=1)
    assert got["hr@1"] == 0.0 and got["auc"] == pytest.approx(2 / 3)
    one = leave_one_out(_tied(), protocol="attnrec")
    one.held_out = one.held_out.iloc[:1]
    assert evaluate(table, one, k=1)["auc"] == 1.0


def _old_leave_one_out_held(dataset, seed=0, min_positives=2):
    """The hold-out of attnrec.evaluation before the fixed tie rule (a seeded random key broke ties)."""
    inter = dataset.interactions.copy()
    inter["user_id"] = inter["user_id"].astype(str)
    inter["item_id"] = inter["item_id"].astype(str)
    positives = inter[inter["label"] == 1]
    counts = positives.groupby("user_id")["item_id"].nunique()
    eligible = positives[positives["user_id"].isin(counts[counts >= min_positives].index)]
    has_time = "timestamp" in eligible.columns and eligible["timestamp"].notna().all() and len(eligible)
    rng = np.random.default_rng(seed)
    eligible = eligible.assign(_key=rng.random(len(eligible)))
    order = ["user_id", "timestamp", "_key"] if has_time else ["user_id", "_key"]
    held = eligible.sort_values(order).groupby("user_id").tail(1)[["user_id", "item_id"]]
    return held.sort_values("user_id").reset_index(drop=True)


def test_shipped_datasets_keep_their_held_out_pairs():
    """No tied timestamps in the built-ins (synthetic) and no timestamps at all (restaurants): the fixed
    tie rule leaves every shipped split, hence every shipped number, as it was."""
    from attnrec.data import load_dataset

    for name in ("synthetic", "restaurants"):
        data = load_dataset(name)
        assert leave_one_out(data).held_out.equals(_old_leave_one_out_held(data)), name

"""A generated MovieLens-100k-shaped folder (small) through the CLI: schema → train → evaluate with both
baselines, under both protocols; the popularity row is recomputed here independently (brute force)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from attnrec.cli import main
from attnrec.data.ratings_like import write_ratings_like


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_ratings_like(tmp_path_factory.mktemp("ml-like"), n_users=40, n_items=120, n_ratings=1000, seed=2)


def _raw(folder):
    raw = pd.read_csv(folder / "u.data", sep="\t", header=None, names=["u", "i", "r", "t"], dtype=str)
    raw["row"] = np.arange(len(raw))
    raw["t"] = raw["t"].astype(int)
    raw["label"] = (raw["r"].astype(int) >= 4).astype(int)
    return raw


def _popularity_reference(folder, protocol: str, k: int = 10) -> dict:
    """Leave-one-out by hand from the raw file: latest positive, ties → last row; popularity = training
    positive count; expected HR/NDCG/AUC over the tied block, candidates per protocol."""
    raw = _raw(folder)
    items = [str(i) for i in range(1, 121)]
    held = {}
    for user, rows in raw[raw.label == 1].groupby("u"):
        if rows["i"].nunique() >= 2:
            held[user] = rows.sort_values(["t", "row"]).iloc[-1]["i"]
    train = raw[[held.get(u) != i for u, i in zip(raw.u, raw.i)]]
    counts = train[train.label == 1]["i"].value_counts()
    score = {i: counts.get(i, 0) for i in items}
    hits, ndcgs, aucs = [], [], []
    for user, item in held.items():
        if protocol == "common":
            seen = set(train[(train.u == user) & (train.label == 1)]["i"])
        else:
            seen = set(raw[raw.u == user]["i"])
        candidates = [i for i in items if i not in seen and i != item]
        above = sum(score[c] > score[item] for c in candidates)
        tied = sum(score[c] == score[item] for c in candidates)
        positions = np.arange(above + 1, above + tied + 2)
        hits.append(np.mean(positions <= k))
        ndcgs.append(np.mean(np.where(positions <= k, 1 / np.log2(positions + 1), 0)))
        aucs.append((len(candidates) - above - tied + 0.5 * tied) / len(candidates) if candidates else np.nan)
    return {"hr@10": np.mean(hits), "ndcg@10": np.mean(ndcgs), "auc": np.nanmean(aucs), "users": len(held)}


@pytest.mark.parametrize(
    "recipe",
    [
        ["--mode", "latent", "--d", "8", "--use-ids"],
        ["--mode", "aligned", "--user-profile", "history", "--latent-dims", "4"],  # no user↔item pairs needed
    ],
)
def test_schema_train_evaluate_with_both_baselines(folder, tmp_path, capsys, recipe):
    out = tmp_path / "ckpt"
    code = main(
        ["train", "--data", str(folder), *recipe, "--out", str(out), "--epochs", "3", "--device", "cpu", "--quiet"]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"]["name"] == "movielens-like" and config["dataset"]["split"]["protocol"] == "attnrec"
    for protocol in ("attnrec", "common"):
        code = main(
            ["evaluate", "--checkpoint", str(out), "--device", "cpu", "--json", "--quiet", "--protocol", protocol]
        )
        rows = json.loads(capsys.readouterr().out)
        assert code == 0 and set(rows) == {"ours", "popularity", "BPR-MF"}
        assert all(row["protocol"] == protocol for row in rows.values())
        expected = _popularity_reference(folder, protocol)
        for key in ("hr@10", "ndcg@10", "auc"):
            assert rows["popularity"][key] == pytest.approx(expected[key]), (protocol, key)
        assert rows["ours"]["users"] == rows["BPR-MF"]["users"] == expected["users"]
        assert 0 <= rows["BPR-MF"]["auc"] <= 1 and 0 <= rows["ours"]["auc"] <= 1
    code = main(["evaluate", "--checkpoint", str(out), "--device", "cpu", "--quiet", "--no-baselines"])
    text = capsys.readouterr().out
    assert code == 0 and "protocol attnrec" in text and "last in the interactions table" in text


def test_progress_bars_only_when_asked_or_on_a_terminal(capsys):
    from attnrec.progress import progress_bar, wanted

    assert wanted(True) and not wanted(False) and not wanted(None)  # pytest's stderr is not a terminal
    list(progress_bar(range(3), desc="quiet step", progress=None))
    assert "quiet step" not in capsys.readouterr().err
    list(progress_bar(range(3), desc="shown step", progress=True))
    assert "shown step" in capsys.readouterr().err

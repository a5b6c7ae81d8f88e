"""Batch scoring (`attnrec score`, attnrec.scoring) on the local engine: the rows are the model's top K, checked
against a brute-force ranking of `Recommender.score` over the whole catalog; an interrupted run resumes to the
same bytes; the CLI; and --engine ray without ray installed says how to install it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attnrec.cli import main
from attnrec.scoring import SCHEMA, score_users

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / "sample_data/models/restaurants-aligned"
pytestmark = pytest.mark.skipif(not CHECKPOINT.exists(), reason="shipped checkpoint missing")


class Interrupted(RuntimeError):
    pass


@pytest.fixture(scope="module")
def model():
    from attnrec.model import Recommender

    return Recommender.load(CHECKPOINT, "cpu")


@pytest.mark.parametrize("exclude_seen", [False, True])
def test_rows_are_the_top_k_of_a_brute_force_ranking(model, tmp_path, exclude_seen):
    users = model.user_ids[5:17]
    out = score_users(
        model, pd.DataFrame({"user_id": users}), 6, tmp_path / "top.parquet", exclude_seen=exclude_seen, chunk_size=5
    )
    frame = pd.read_parquet(out)
    assert list(frame.columns) == SCHEMA.names and len(frame) == 6 * len(users)
    assert list(frame.user_id) == list(np.repeat(users, 6)) and list(frame["rank"]) == list(range(1, 7)) * len(users)
    items = np.asarray(model.item_ids)
    interactions = model.dataset.interactions.astype({"user_id": str, "item_id": str})
    for user, rows in frame.groupby("user_id", sort=False):
        # Reference: every catalog item scored pairwise (forward, not the catalog-scoring path), sorted by hand.
        s = model.score(user, list(items))["s"].to_numpy()
        if exclude_seen:
            seen = set(interactions.loc[interactions.user_id == user, "item_id"])
            s = np.where(np.isin(items, list(seen)), -np.inf, s)
            assert not set(rows.item_id) & seen
        expected = np.sort(s)[::-1][:6]
        np.testing.assert_allclose(rows.score, expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rows.score, s[[list(items).index(i) for i in rows.item_id]], rtol=1e-5, atol=1e-6)


def test_interrupted_run_resumes_to_the_same_bytes(model, tmp_path):
    users = pd.DataFrame({"user_id": model.user_ids[:23]})
    whole = score_users(model, users, 4, tmp_path / "whole.parquet", chunk_size=5, progress=False)

    def stop_after_chunk_1(index):
        if index == 1:
            raise Interrupted

    out = tmp_path / "resumed.parquet"
    with pytest.raises(Interrupted):
        score_users(model, users, 4, out, chunk_size=5, progress=False, on_chunk_done=stop_after_chunk_1)
    assert not out.exists()
    computed: list[int] = []
    score_users(model, users, 4, out, chunk_size=5, progress=False, on_chunk_done=computed.append)
    assert computed == [2, 3, 4]
    assert out.read_bytes() == whole.read_bytes()
    # A different K is a different job: nothing is reused.
    computed.clear()
    score_users(model, users, 3, out, chunk_size=5, progress=False, on_chunk_done=computed.append)
    assert computed == [0, 1, 2, 3, 4] and len(pd.read_parquet(out)) == 3 * 23


def test_cli_scores_a_users_file_or_all_and_refuses_bad_input(model, tmp_path, capsys):
    users_csv = tmp_path / "users.csv"
    pd.DataFrame({"user_id": model.user_ids[:3]}).to_csv(users_csv, index=False)
    out = tmp_path / "top.parquet"
    args = ["score", "--checkpoint", str(CHECKPOINT), "--k", "2", "--out", str(out), "--no-progress"]
    assert main([*args, "--users", str(users_csv), "--exclude-seen"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert list(pd.read_parquet(out).user_id) == list(np.repeat(model.user_ids[:3], 2))
    assert main([*args, "--users", "all"]) == 0
    assert pd.read_parquet(out).user_id.nunique() == len(model.user_ids)
    capsys.readouterr()
    pd.DataFrame({"user_id": ["nobody"]}).to_csv(users_csv, index=False)
    assert main([*args, "--users", str(users_csv)]) == 2
    assert "unknown id 'nobody'" in capsys.readouterr().err
    assert main([*args, "--users", str(tmp_path / "missing.csv")]) == 2
    assert main([*args, "--users", "all", "--workers", "2"]) == 2
    assert "--engine ray" in capsys.readouterr().err


def test_the_ray_engine_without_ray_says_how_to_install_it(model, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails, as where the extra is not installed
    with pytest.raises(ImportError, match=r"pip install -e \"\.\[scale\]\""):
        score_users(model, None, 2, tmp_path / "top.parquet", engine="ray", checkpoint=CHECKPOINT, progress=False)
    args = ["--checkpoint", str(CHECKPOINT), "--out", str(tmp_path / "o.parquet"), "--engine", "ray"]
    assert main(["score", "--users", "all", *args]) == 2
    assert 'pip install -e ".[scale]"' in capsys.readouterr().err
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"user_id": model.user_ids[:1], "item_id": model.item_ids[:1]}).to_csv(pairs, index=False)
    assert main(["explain", "--pairs", str(pairs), *args]) == 2
    assert 'pip install -e ".[scale]"' in capsys.readouterr().err

"""Batch explanations to Parquet: schema, agreement with `explain`, resuming, and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attnrec.explain import explain
from attnrec.explain.batch import SCHEMA, cli_main, explain_pairs
from attnrec.explain.model_targets import default_baseline, targets_for

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / "sample_data/models/restaurants-aligned"
pytestmark = pytest.mark.skipif(not CHECKPOINT.exists(), reason="shipped checkpoint missing")
METHODS = ["ig", "gradient_shap"]  # one deterministic, one seeded-random


@pytest.fixture(scope="module")
def model():
    from attnrec.model import Recommender

    return Recommender.load(CHECKPOINT, "cpu")


@pytest.fixture(scope="module")
def pairs(model):
    return model.dataset.interactions[["user_id", "item_id"]].iloc[:23].reset_index(drop=True)


class Interrupted(RuntimeError):
    pass


def test_output_matches_explain_and_schema(model, pairs, tmp_path):
    out = explain_pairs(
        model, pairs, METHODS, tmp_path / "out.parquet", chunk_size=10, progress=False, params={"ig": {"n_steps": 16}}
    )
    frame = pd.read_parquet(out)
    assert list(frame.columns) == SCHEMA.names
    n_groups = len(model.featurizer.groups("user")) + len(model.featurizer.groups("item"))
    assert len(frame) == len(pairs) * len(METHODS) * n_groups
    assert not (tmp_path / "out.parquet.parts").exists()
    # Pair 12 (second chunk) against a direct call.
    # The default baseline is the model's own, as on the pages (aligned: "mean").
    assert set(frame.baseline) == {default_baseline(model)} == {"mean"}
    target = targets_for(
        model, model.user_rows(pairs.user_id[12]), model.item_rows(pairs.item_id[12]), "fields", default_baseline(model)
    )
    direct = explain(target, "ig", {"n_steps": 16})
    rows = frame[(frame.pair == 12) & (frame.method == "ig")]
    assert rows.user_id.iloc[0] == pairs.user_id[12] and list(rows.group) == direct.group_names
    np.testing.assert_allclose(rows.attribution, direct.groups[0], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(rows.completeness_gap, direct.completeness_gap[0], atol=1e-6)
    assert sorted(rows["rank"]) == list(range(1, n_groups + 1))
    assert rows.loc[rows["rank"] == 1, "attribution"].abs().item() == pytest.approx(rows.attribution.abs().max())
    assert frame[frame.method == "gradient_shap"].convergence_delta.notna().all()


def test_interrupted_run_resumes_to_the_same_bytes(model, pairs, tmp_path):
    whole = explain_pairs(model, pairs, METHODS, tmp_path / "whole.parquet", chunk_size=5, progress=False)

    def stop_after_chunk_1(index):
        if index == 1:
            raise Interrupted

    out = tmp_path / "resumed.parquet"
    with pytest.raises(Interrupted):
        explain_pairs(model, pairs, METHODS, out, chunk_size=5, progress=False, on_chunk_done=stop_after_chunk_1)
    parts = sorted(p.name for p in (tmp_path / "resumed.parquet.parts").glob("part-*.parquet"))
    assert parts == ["part-000000.parquet", "part-000001.parquet"] and not out.exists()
    computed = []
    explain_pairs(model, pairs, METHODS, out, chunk_size=5, progress=False, on_chunk_done=computed.append)
    assert computed == [2, 3, 4]  # finished chunks were skipped
    assert out.read_bytes() == whole.read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(whole))


def test_a_different_job_does_not_reuse_old_parts(model, pairs, tmp_path):
    out = tmp_path / "out.parquet"
    with pytest.raises(Interrupted):
        explain_pairs(
            model,
            pairs,
            ["ig"],
            out,
            chunk_size=5,
            progress=False,
            on_chunk_done=lambda i: (_ for _ in ()).throw(Interrupted()),
        )
    computed = []
    explain_pairs(
        model, pairs, ["ig"], out, chunk_size=5, progress=False, baseline="zeros", on_chunk_done=computed.append
    )
    assert computed == [0, 1, 2, 3, 4]
    assert set(pd.read_parquet(out).baseline) == {"zeros"}


def test_bad_requests_are_refused_with_reasons(model, pairs, tmp_path):
    with pytest.raises(ValueError, match="unknown attribution method"):
        explain_pairs(model, pairs, ["magic"], tmp_path / "o.parquet", progress=False)
    with pytest.raises(ValueError, match="≤ 16 groups"):
        explain_pairs(model, pairs, ["shapley_exact"], tmp_path / "o.parquet", progress=False)
    with pytest.raises(ValueError, match="unknown id"):
        explain_pairs(
            model,
            pd.DataFrame({"user_id": ["nobody"], "item_id": [pairs.item_id[0]]}),
            ["ig"],
            tmp_path / "o.parquet",
            progress=False,
        )
    with pytest.raises(ValueError, match="item_id"):
        explain_pairs(model, pairs[["user_id"]], ["ig"], tmp_path / "o.parquet", progress=False)


def test_cli_writes_parquet_and_reports_bad_input(pairs, tmp_path, capsys):
    csv = tmp_path / "pairs.csv"
    pairs.iloc[:4].to_csv(csv, index=False)
    out = tmp_path / "cli.parquet"
    status = cli_main(
        [
            "--checkpoint",
            str(CHECKPOINT),
            "--pairs",
            str(csv),
            "--methods",
            "ig,attention",
            "--level",
            "dimensions",
            "--out",
            str(out),
            "--param",
            "ig.n_steps=8",
            "--no-progress",
        ]
    )
    assert status == 0 and "wrote" in capsys.readouterr().out
    frame = pd.read_parquet(out)
    assert set(frame.method) == {"ig", "attention"} and set(frame.level) == {"dimensions"}
    assert (
        cli_main(
            [
                "--checkpoint",
                str(CHECKPOINT),
                "--pairs",
                str(csv),
                "--methods",
                "ig",
                "--out",
                str(out),
                "--param",
                "ig.n_steps=1",
            ]
        )
        == 2
    )
    assert "between 4 and 512" in capsys.readouterr().err
    assert cli_main(["--checkpoint", str(tmp_path / "none"), "--pairs", str(csv), "--out", str(out)]) == 2

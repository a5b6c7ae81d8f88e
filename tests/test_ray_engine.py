"""The Ray engine (attnrec.scale.ray_engine) on a local Ray with 2 CPUs: the same bytes as the local engine on 2
workers, and a resumed run (1 worker) that does not recompute the chunks a previous, interrupted run finished.

Skipped where ray is not installed (it is an optional extra: pip install -e ".[scale]"), except in CI (CI=true,
as .ci/run runs), which installs it from requirements-dev.txt: there a missing ray fails instead of hiding. Ray is
started once for the module (2 CPUs, no dashboard) and shut down at its end; each run starts its own actor pool,
which loads the shipped checkpoint once per actor, so the file keeps to three Ray runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

if os.environ.get("CI") == "true":
    import ray
    import ray.data  # noqa: F401
else:
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")

from attnrec.cli import main  # noqa: E402
from attnrec.explain.batch import explain_pairs  # noqa: E402
from attnrec.scoring import score_users  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / "sample_data/models/restaurants-aligned"
pytestmark = pytest.mark.skipif(not CHECKPOINT.exists(), reason="shipped checkpoint missing")
METHODS = ["ig", "gradient_shap"]  # one deterministic, one seeded-random: both must give the same bytes
PARAMS = {"ig": {"n_steps": 16}}  # the CLI's --param ig.n_steps=16


class Interrupted(RuntimeError):
    pass


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model():
    from attnrec.model import Recommender

    return Recommender.load(CHECKPOINT, "cpu")


@pytest.fixture(scope="module")
def pairs(model):
    return model.dataset.interactions[["user_id", "item_id"]].iloc[:23].reset_index(drop=True)


def test_explain_on_ray_writes_the_local_engines_bytes(local_ray, model, pairs, tmp_path, capsys):
    local = explain_pairs(
        model, pairs, METHODS, tmp_path / "local.parquet", chunk_size=5, params=PARAMS, progress=False
    )
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    on_ray = tmp_path / "ray.parquet"
    status = main(
        [
            "explain",
            "--checkpoint",
            str(CHECKPOINT),
            "--pairs",
            str(tmp_path / "pairs.csv"),
            "--methods",
            ",".join(METHODS),
            "--param",
            "ig.n_steps=16",
            "--chunk-size",
            "5",
            "--out",
            str(on_ray),
            "--engine",
            "ray",
            "--workers",
            "2",
            "--no-progress",
        ]
    )
    assert status == 0, capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_parquet(on_ray), pd.read_parquet(local))
    assert on_ray.read_bytes() == local.read_bytes()
    assert not (tmp_path / "ray.parquet.parts").exists()


def test_interrupted_score_on_ray_resumes_without_recomputing(local_ray, model, tmp_path):
    users = pd.DataFrame({"user_id": model.user_ids[:40]})
    local = score_users(model, users, 7, tmp_path / "local.parquet", exclude_seen=True, chunk_size=4, progress=False)
    out = tmp_path / "ray.parquet"
    parts = tmp_path / "ray.parquet.parts"
    # One worker: what is tested is the resume (the explain test above runs two workers).
    run = dict(exclude_seen=True, chunk_size=4, progress=False, engine="ray", checkpoint=CHECKPOINT, workers=1)

    recorded: list[int] = []

    def stop_after_two(index):
        recorded.append(index)
        if len(recorded) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        score_users(model, users, 7, out, on_chunk_done=stop_after_two, **run)
    assert not out.exists()
    finished = json.loads((parts / "manifest.json").read_text())["done"]
    assert len(finished) == 2
    before = {i: (parts / f"part-{i:06d}.parquet").stat() for i in finished}

    computed, after = [], {}

    def watch(index):
        computed.append(index)
        after.update({i: (parts / f"part-{i:06d}.parquet").stat() for i in finished})  # the parts, before combine

    score_users(model, users, 7, out, on_chunk_done=watch, **run)
    assert sorted(computed) == sorted(set(range(10)) - set(finished))  # finished chunks were skipped
    for i in finished:  # ... and their files were not rewritten
        assert (after[i].st_ino, after[i].st_mtime_ns) == (before[i].st_ino, before[i].st_mtime_ns)
    assert out.read_bytes() == local.read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(local))

"""The Ray engine's worker without Ray (attnrec.scale.ray_engine.ChunkActor is a plain class; Ray only hosts it):
a chunk sent as a Ray block gives the local engine's part, byte for byte, and a worker whose checkpoint is not
the driver's model refuses to start."""

from __future__ import annotations

import functools
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from attnrec.explain.batch import SCHEMA, explain_chunk
from attnrec.explain.registry import resolve_params
from attnrec.scale.chunks import Manifest, new_job, run_local
from attnrec.scale.ray_engine import ChunkActor, _chunk_block

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / "sample_data/models/restaurants-aligned"
OTHER = ROOT / "sample_data/models/restaurants-latent"
pytestmark = pytest.mark.skipif(not CHECKPOINT.exists() or not OTHER.exists(), reason="shipped checkpoints missing")


@pytest.fixture(scope="module")
def model():
    from attnrec.model import Recommender

    return Recommender.load(CHECKPOINT, "cpu")


def _job(model, tmp_path, checkpoint):
    pairs = model.dataset.interactions[["user_id", "item_id"]].iloc[:9].astype(str).reset_index(drop=True)
    params = {"ig": resolve_params("ig", {"n_steps": 8}), "gradient_shap": resolve_params("gradient_shap", None)}
    compute = functools.partial(
        explain_chunk, methods=["ig", "gradient_shap"], params=params, level="fields", baseline="mean"
    )
    return new_job(
        "explaining",
        tmp_path / "out.parquet",
        pairs,
        chunk_size=4,
        plan={"test": True},
        model=model,
        compute=compute,
        schema=SCHEMA,
        checkpoint=checkpoint,
    )


def test_a_chunk_sent_as_a_block_gives_the_local_part(model, tmp_path):
    job = _job(model, tmp_path, CHECKPOINT)
    run_local(job, model, Manifest(job), progress=False)
    local = {i: job.task.part(i).read_bytes() for i in range(job.n_chunks)}
    worker = ChunkActor(job.task)  # what each Ray actor does once: load the checkpoint, check it is the driver's
    for index in (2, 1):  # the last, short chunk too
        job.task.part(index).unlink()
        result = worker(_chunk_block(job, index))
        assert result["chunk"].tolist() == [index]
        assert result["rows"].tolist() == [pq.read_metadata(job.task.part(index)).num_rows]
        assert job.task.part(index).read_bytes() == local[index]


def test_a_worker_refuses_a_checkpoint_that_is_not_the_drivers_model(model, tmp_path):
    job = _job(model, tmp_path, OTHER)  # the driver's model is restaurants-aligned; the workers would load latent
    with pytest.raises(RuntimeError, match="not the driver's model"):
        ChunkActor(job.task)

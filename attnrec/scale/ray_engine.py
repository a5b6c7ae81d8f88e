"""The Ray engine: a job's unfinished chunks run under Ray Data, on a local Ray or a cluster.

    from_arrow(one block per unfinished chunk)   a row: the chunk's index, its first row, and the chunk's rows
                                                 as list columns, so Ray never splits or merges a chunk
    → map_batches(ChunkActor, ActorPool(N))      each actor loads the model ONCE from the checkpoint (torch at
                                                 attnrec's thread count, CPU), checks it is the driver's model
                                                 (`model_digest`), then per chunk calls the job's pure chunk
                                                 function and writes part-<i>.parquet atomically
    → the driver reads the actors' small results (chunk, rows) as they stream in and records each chunk
      in the manifest; then `chunks.combine`, the same step as the local engine

Why not read_parquet → map_batches → write_parquet: the driver has already read the rows (the fingerprint
hashes them and the chunks are cut from them), and the output must be one part per chunk, in chunk order, for
resuming and for the same bytes as the local engine — Ray's readers and writers size blocks and files by
bytes, not by our chunks, and its read tasks would wait for CPUs the actor pool holds on a small machine.

The parts are written by the actors, so on a multi-node cluster the output folder (and the checkpoint and
its dataset) must be on storage every node sees, and attnrec must be installed on every node; on a local Ray
(the default) that is this machine. Ray is imported only here, and only when the engine runs.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from attnrec.scale.chunks import ChunkJob, ChunkTask, Manifest, model_digest

__all__ = ["run_ray", "require_ray", "ChunkActor", "INSTALL_HINT"]

INSTALL_HINT = 'the Ray engine needs the optional extra: pip install -e ".[scale]" (or pip install "ray[data]")'


def require_ray() -> Any:
    """The `ray` module with Ray Data, or an ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} ({err})") from None
    return ray


class ChunkActor:
    """One worker of the pool: the model is loaded once, in __init__, and reused for every chunk it is given."""

    def __init__(self, task: ChunkTask):
        from attnrec.device import apply_threads
        from attnrec.model import Recommender

        apply_threads()  # the same torch thread count as the local engine (float sums depend on it)
        if task.checkpoint is None:
            raise ValueError("the Ray engine needs the model's checkpoint folder (workers load it from there)")
        self.task = task
        self.model = Recommender.load(task.checkpoint, task.device)
        if model_digest(self.model) != task.model_digest:
            raise RuntimeError(
                f"the model a Ray worker loaded from {task.checkpoint} is not the driver's model (different "
                "weights, catalog or interactions); the checkpoint or its dataset changed, or differs on this node"
            )

    def __call__(self, batch: pa.Table) -> dict[str, np.ndarray]:
        columns = [c for c in batch.column_names if c not in ("chunk", "first_row")]
        chunks, rows = [], []
        for i in range(batch.num_rows):
            index = int(batch["chunk"][i].as_py())
            frame = pd.DataFrame({c: batch[c][i].as_py() for c in columns})
            rows.append(self.task.run_chunk(self.model, frame, index, int(batch["first_row"][i].as_py())))
            chunks.append(index)
        return {"chunk": np.asarray(chunks, dtype=np.int64), "rows": np.asarray(rows, dtype=np.int64)}


def _chunk_block(job: ChunkJob, index: int) -> pa.Table:
    """Chunk `index` as a one-row table: chunk, first_row, and each column of its rows as a list."""
    rows = job.chunk_rows(index)
    data: dict[str, Any] = {
        "chunk": pa.array([index], pa.int64()),
        "first_row": pa.array([job.starts[index]], pa.int64()),
    }
    for column in rows.columns:
        data[column] = pa.array([rows[column].astype(str).tolist()], pa.list_(pa.string()))
    return pa.table(data)


def run_ray(
    job: ChunkJob,
    manifest: Manifest,
    *,
    address: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    on_chunk_done: Callable[[int], None] | None = None,
) -> None:
    """Compute the job's unfinished chunks on Ray; the manifest records each one as its result arrives.

    Uses the Ray this process is already connected to, else `ray.init(address)` (None: a local Ray on this
    machine, shut down again at the end). workers: the actor pool's size (None: one per CPU of the cluster);
    each actor takes one CPU."""
    ray = require_ray()
    if job.task.checkpoint is None:
        raise ValueError("the Ray engine needs the model's checkpoint folder (workers load the model from it)")
    pending = manifest.pending()
    if not pending:
        return
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        workers = cpus if workers is None else int(workers)
        if workers < 1:
            raise ValueError(f"need at least one Ray worker; the cluster has {cpus} CPU(s)")
        if address is None and workers > cpus:  # (a cluster given by --address may grow; a local Ray does not)
            raise ValueError(f"--workers {workers} needs {workers} CPUs; this machine's Ray has {cpus}")
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours below counts chunks, the unit of resuming
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        inputs = ray.data.from_arrow([_chunk_block(job, i) for i in pending])
        results = inputs.map_batches(
            ChunkActor,
            fn_constructor_kwargs={"task": job.task},
            batch_size=1,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
        )
        stream = results.iter_batches(batch_size=None, batch_format="numpy")
        with manifest.progress_bar(progress) as bar:
            try:
                for batch in stream:
                    for index in batch["chunk"].tolist():
                        manifest.record(index)
                        bar.update(1)
                        if on_chunk_done is not None:
                            on_chunk_done(index)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()  # stop the pipeline (and free its actors) now, not when the generator is collected
    finally:
        if started_here:
            ray.shutdown()

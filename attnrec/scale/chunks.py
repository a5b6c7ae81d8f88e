"""A chunked, resumable job that writes one Parquet file, and the single-process engine that runs it.

A job's rows (pairs for `attnrec explain`, users for `attnrec score`) are cut into chunks of `chunk_size` rows.
Chunk i's output is the Arrow table returned by the job's ONE pure chunk function,
`compute(model, rows, first_row)` (rows: that chunk's DataFrame; first_row: its offset in the job), and is
written to `<out>.parts/part-<i>.parquet`. Every engine calls that same function on the same chunks, so the
parts are the same whichever engine wrote them.

Resuming: `<out>.parts/manifest.json` holds the job's fingerprint (its plan, its rows and the model's weights,
catalog and interactions) and the finished chunks. A run with the same fingerprint skips the chunks the
manifest lists whose part exists (written by either engine: the engine is not part of the fingerprint); a
different fingerprint starts over. When every chunk is done, `combine` writes the parts, in chunk order and
one row group per chunk, into `out` — the same bytes whether the run was interrupted or not and whichever
engine ran it — and removes the parts folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

if TYPE_CHECKING:
    from attnrec.model import Recommender

__all__ = ["ChunkTask", "ChunkJob", "Manifest", "new_job", "model_digest", "run_local", "combine", "write_atomically"]

MANIFEST = "manifest.json"
ChunkFunction = Callable[[Any, pd.DataFrame, int], pa.Table]


def write_atomically(write: Callable[[Path], object], path: Path) -> None:
    """`write(tmp)` then rename onto `path`: a reader sees the old file or the whole new one, never a torn one.

    The temporary name is unique per call, so two writers of the same part (a worker of an interrupted run
    still finishing while the rerun starts) never write into each other's file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def model_digest(model: Recommender) -> str:
    """SHA-256 of what a model's answers depend on: its weights, its catalog (ids and encoded rows) and the
    attached interactions (`top_k(exclude_seen=True)` reads them). Workers that load the model themselves
    compare theirs with the driver's."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    if model.dataset is not None:
        for ids in (model.user_ids, model.item_ids):
            digest.update(json.dumps(list(ids)).encode())
        for matrix in (model.user_matrix, model.item_matrix):
            digest.update(matrix.detach().cpu().contiguous().numpy().tobytes())
        seen = model.dataset.interactions[["user_id", "item_id"]].astype(str)
        digest.update(pd.util.hash_pandas_object(seen, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to compute any chunk of a job, and nothing row-sized (it is sent to each worker).

    compute: the job's pure chunk function (a module-level function or a functools.partial of one, so it
    pickles by reference). checkpoint: the folder a worker loads the model from (the Ray engine; None when
    the job only runs locally). model_digest: the driver's `model_digest`, which a worker's model must match."""

    compute: ChunkFunction
    schema: pa.Schema
    parts: str
    model_digest: str
    checkpoint: str | None = None
    device: str = "cpu"

    def part(self, index: int) -> Path:
        return Path(self.parts) / f"part-{int(index):06d}.parquet"

    def run_chunk(self, model: Recommender, rows: pd.DataFrame, index: int, first_row: int) -> int:
        """Compute chunk `index` and write its part atomically; returns its number of output rows."""
        table = self.compute(model, rows, int(first_row))
        if not table.schema.equals(self.schema):
            raise TypeError(f"chunk {index}: the chunk function returned schema {table.schema}, not {self.schema}")
        write_atomically(functools.partial(pq.write_table, table), self.part(index))
        return table.num_rows


@dataclass(frozen=True)
class ChunkJob:
    """One job: its rows (string columns: ids), how they are cut, its fingerprint and the task that computes a chunk."""

    label: str
    out: Path
    rows: pd.DataFrame
    chunk_size: int
    plan: dict
    fingerprint: str
    task: ChunkTask

    @property
    def parts(self) -> Path:
        return Path(self.task.parts)

    @property
    def starts(self) -> list[int]:
        return list(range(0, len(self.rows), self.chunk_size))

    @property
    def n_chunks(self) -> int:
        return len(self.starts)

    def chunk_rows(self, index: int) -> pd.DataFrame:
        start = index * self.chunk_size
        return self.rows.iloc[start : start + self.chunk_size]


def new_job(
    label: str,
    out: str | Path,
    rows: pd.DataFrame,
    *,
    chunk_size: int,
    plan: dict,
    model: Recommender,
    compute: ChunkFunction,
    schema: pa.Schema,
    checkpoint: str | Path | None = None,
    device: str = "cpu",
) -> ChunkJob:
    """A job whose fingerprint covers `plan` (JSON-able), the rows and the model (`model_digest`)."""
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    out = Path(out)
    digest = model_digest(model)
    fingerprint = hashlib.sha256(json.dumps({**plan, "chunk_size": int(chunk_size)}, sort_keys=True).encode())
    fingerprint.update(json.dumps(list(rows.columns)).encode())
    fingerprint.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    fingerprint.update(digest.encode())
    task = ChunkTask(
        compute=compute,
        schema=schema,
        parts=str(out.with_name(out.name + ".parts")),
        model_digest=digest,
        checkpoint=None if checkpoint is None else str(Path(checkpoint).resolve()),
        device=str(device),
    )
    return ChunkJob(label, out, rows.reset_index(drop=True), int(chunk_size), plan, fingerprint.hexdigest(), task)


class Manifest:
    """The finished chunks of a job, kept in `<out>.parts/manifest.json` (written atomically after each chunk).

    Opening it for a job whose fingerprint differs from the stored one removes the old parts (a different
    job's leftovers) and starts an empty manifest."""

    def __init__(self, job: ChunkJob):
        self.job = job
        self.path = job.parts / MANIFEST
        stored = json.loads(self.path.read_text()) if self.path.exists() else {}
        if stored.get("fingerprint") != job.fingerprint:
            shutil.rmtree(job.parts, ignore_errors=True)
            stored = {"fingerprint": job.fingerprint, "plan": job.plan, "done": []}
        job.parts.mkdir(parents=True, exist_ok=True)
        self.blob = stored
        self.done: set[int] = {int(i) for i in stored["done"]}

    def finished(self, index: int) -> bool:
        return index in self.done and self.job.task.part(index).exists()

    def pending(self) -> list[int]:
        return [i for i in range(self.job.n_chunks) if not self.finished(i)]

    def record(self, index: int) -> None:
        self.done.add(int(index))
        self.blob["done"] = sorted(self.done)
        write_atomically(lambda p: p.write_text(json.dumps(self.blob)), self.path)

    def progress_bar(self, progress: bool) -> tqdm:
        n = self.job.n_chunks
        return tqdm(total=n, initial=n - len(self.pending()), desc=self.job.label, unit="chunk", disable=not progress)


def run_local(
    job: ChunkJob,
    model: Recommender,
    manifest: Manifest,
    *,
    progress: bool = True,
    on_chunk_done: Callable[[int], None] | None = None,
) -> None:
    """The single-process engine: every unfinished chunk, in order, with `model`."""
    with manifest.progress_bar(progress) as bar:
        for index in manifest.pending():
            job.task.run_chunk(model, job.chunk_rows(index), index, job.starts[index])
            manifest.record(index)
            bar.update(1)
            if on_chunk_done is not None:
                on_chunk_done(index)


def combine(job: ChunkJob) -> Path:
    """Write every part, in chunk order (one row group each), into `job.out`; remove the parts folder."""
    schema = job.task.schema
    missing = [str(job.task.part(i)) for i in range(job.n_chunks) if not job.task.part(i).exists()]
    if missing:
        raise RuntimeError(
            f"{len(missing)} part(s) missing after the run, e.g. {missing[0]}: on a Ray cluster the output "
            "folder must be on storage every node shares"
        )

    def write(path: Path) -> None:
        with pq.ParquetWriter(path, schema) as writer:
            for index in range(job.n_chunks):
                writer.write_table(pq.read_table(job.task.part(index), schema=schema))
            if not job.n_chunks:
                writer.write_table(schema.empty_table())

    job.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(write, job.out)
    shutil.rmtree(job.parts, ignore_errors=True)
    return job.out

"""Batch scoring: the top K catalog items for many users, to a Parquet file — chunked, resumable, local or Ray.

    python -m attnrec score --checkpoint DIR --users FILE|all --k 10 --out top.parquet [--exclude-seen]
                            [--chunk-size 256] [--engine local|ray] [--address ADDR] [--workers N]

Output schema (one row per user × rank; users in the order given, ranks 1..K; fewer than K rows for a user
only when --exclude-seen leaves fewer items):

    user_id  string
    rank     int32    1 = the highest score S (the order of torch.topk in Recommender.top_k)
    item_id  string
    score    float64  the score S of the pair

The ranking is the model's own (`Recommender.top_k`, the Recommend page's list): `score_chunk` is only that
call per user, laid out as rows. Chunks, resuming and engines are `attnrec.scale`'s (see attnrec.scale.chunks):
chunk i's rows go to `<out>.parts/part-<i>.parquet`, a rerun with the same fingerprint (users, K,
exclude-seen, chunk size, the model's weights, catalog and interactions) skips finished chunks, and the
combined file has the same bytes whether the run was interrupted or not and on either engine.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from attnrec.command_parsers import score_parser
from attnrec.scale.chunks import new_job
from attnrec.scale.engine import JOB_ERRORS, engine_device, run_job

if TYPE_CHECKING:
    from attnrec.model import Recommender

__all__ = ["SCHEMA", "score_chunk", "score_users", "read_users", "cli_main"]

SCHEMA = pa.schema([("user_id", pa.string()), ("rank", pa.int32()), ("item_id", pa.string()), ("score", pa.float64())])


def read_users(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file with a user_id column (ids read as strings; other columns are ignored)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"users file {path} not found")
    if path.suffix.lower() == ".parquet":
        users = pd.read_parquet(path)
    else:
        users = pd.read_csv(path, dtype={"user_id": str})
    return _checked_users(users, str(path))


def _checked_users(users: pd.DataFrame, where: str = "users") -> pd.DataFrame:
    if "user_id" not in users.columns:
        raise ValueError(f"{where} lacks the column user_id")
    if users["user_id"].isna().any():
        row = int(np.flatnonzero(users["user_id"].isna().to_numpy())[0])
        raise ValueError(f"{where}: row {row} has an empty user_id")
    return pd.DataFrame({"user_id": users["user_id"].astype(str).to_numpy()})


def score_chunk(model: Recommender, users: pd.DataFrame, first_row: int, *, k: int, exclude_seen: bool) -> pa.Table:
    """The top-k rows of one chunk of users (column user_id), in SCHEMA: `model.top_k` for each user, in
    order. A pure function of its arguments; every engine calls it, on the same chunks. (first_row, the
    chunk's offset, is part of the chunk-function contract; the rows do not need it.)"""
    frames = []
    for user in users["user_id"].tolist():
        top = model.top_k(user, k=k, exclude_seen=exclude_seen)
        frames.append(
            pd.DataFrame(
                {
                    "user_id": np.full(len(top), user, dtype=object),
                    "rank": top["rank"].to_numpy().astype(np.int32),
                    "item_id": top["item_id"].to_numpy(dtype=object),
                    "score": top["s"].to_numpy().astype(np.float64),
                }
            )
        )
    if not frames:
        return SCHEMA.empty_table()
    return pa.Table.from_pandas(pd.concat(frames, ignore_index=True), schema=SCHEMA, preserve_index=False)


def score_users(
    model: Recommender,
    users_df: pd.DataFrame | None,
    k: int,
    out_path: str | Path,
    *,
    exclude_seen: bool = False,
    chunk_size: int = 256,
    progress: bool = True,
    on_chunk_done: Callable[[int], None] | None = None,
    engine: str = "local",
    checkpoint: str | Path | None = None,
    address: str | None = None,
    workers: int | None = None,
) -> Path:
    """Write the top `k` items of every user in `users_df` (column user_id; None: every catalog user, in catalog
    order) to `out_path` (Parquet, SCHEMA). engine / checkpoint / address / workers: as in
    `attnrec.explain.batch.explain_pairs` (the Ray workers load the model from `checkpoint`)."""
    users = _checked_users(pd.DataFrame({"user_id": model.user_ids}) if users_df is None else users_df)
    if int(k) < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    unknown = ~users["user_id"].isin(set(model.user_ids)).to_numpy()
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise ValueError(f"users row {row}: unknown id '{users['user_id'].iloc[row]}' (user_id)")
    plan = {"job": "score", "k": int(k), "exclude_seen": bool(exclude_seen), "n_users": len(users)}
    job = new_job(
        "scoring",
        out_path,
        users,
        chunk_size=chunk_size,
        plan=plan,
        model=model,
        compute=functools.partial(score_chunk, k=int(k), exclude_seen=bool(exclude_seen)),
        schema=SCHEMA,
        checkpoint=checkpoint,
    )
    return run_job(
        job, model, engine=engine, address=address, workers=workers, progress=progress, on_chunk_done=on_chunk_done
    )


def cli_main(argv: Sequence[str] | None = None) -> int:
    """`attnrec score ...`; returns the exit status (0 ok, 2 bad input)."""
    return run(score_parser().parse_args(list(sys.argv[1:] if argv is None else argv)))


def run(args: argparse.Namespace) -> int:
    """`attnrec score` with its parsed arguments (`attnrec.command_parsers.score_parser`)."""
    try:
        from attnrec.model import Recommender

        users = None if args.users == "all" else read_users(args.users)
        model = Recommender.load(args.checkpoint, engine_device(args))
        out = score_users(
            model,
            users,
            args.k,
            args.out,
            exclude_seen=args.exclude_seen,
            chunk_size=args.chunk_size,
            progress=not args.no_progress,
            engine=args.engine,
            checkpoint=args.checkpoint,
            address=args.address,
            workers=args.workers,
        )
    except JOB_ERRORS as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"attnrec score: error: {message}", file=sys.stderr)
        return 2
    n_users = len(model.user_ids) if users is None else len(users)
    print(f"wrote {out} ({pq.ParquetFile(out).metadata.num_rows} rows: top {args.k} for {n_users} users)")
    return 0

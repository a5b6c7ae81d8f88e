"""Explain many (user, item) pairs to a Parquet file: chunked, resumable, with a progress bar.

Output schema (one row per pair × method × group; rows ordered by pair, then method as given, then
group in the target's order):

    pair              int64    row number of the pair in the pairs file (0-based)
    user_id           string
    item_id           string
    method            string   registry key ("ig", "shapley_exact", ...)
    level             string   "fields" | "dimensions"
    baseline          string   "zeros" | "mean" | "unknown"
    group             string   "user: budget", "item: price" (fields) or a dimension name (dimensions)
    side              string   "user" | "item" | "both" (a dimension pairs X_i with Y_i)
    attribution       float64  the group's share of S − S(baseline) according to the method
    rank              int32    1 = largest |attribution| within the pair and method (values within float32
                               rounding of each other are ties, taken in group order: metrics.snap_noise)
    s                 float64  the score S of the pair
    s_baseline        float64  S with both sides at the baseline
    completeness_gap  float64  Σ attributions − (S − S(baseline)) for the pair and method
    convergence_delta float64  Captum's own delta (IG, DeepLift, GradientSHAP); NaN otherwise

Resuming and engines: the pairs are cut into chunks of `chunk_size`; `explain_chunk` (one pure function:
a chunk of pairs in, its rows out) makes each chunk's rows, and `attnrec.scale` runs the job — in this process
(`engine="local"`) or under Ray Data (`engine="ray"`, on a local Ray or a cluster). Chunk i is written to
`<out>.parts/part-<i>.parquet`, and `<out>.parts/manifest.json` lists the finished chunks with a fingerprint
of everything that shapes the output (pairs, methods, parameters, level, baseline, chunk size, the model's
weights and catalog). A re-run with the same fingerprint skips finished chunks, whichever engine wrote them;
a different fingerprint starts over. When all chunks exist they are combined, in order, into `out` (the
same bytes whether or not the run was interrupted, and on either engine) and the parts folder is removed.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from attnrec.command_parsers import explain_parser
from attnrec.explain.engine import explain
from attnrec.explain.metrics import snap_noise
from attnrec.explain.model_targets import BASELINES, LEVELS, default_baseline, targets_for
from attnrec.explain.registry import METHODS, method, resolve_params
from attnrec.scale.chunks import new_job
from attnrec.scale.engine import JOB_ERRORS, engine_device, run_job

if TYPE_CHECKING:
    from attnrec.model import Recommender

__all__ = ["explain_pairs", "explain_chunk", "read_pairs", "cli_main", "SCHEMA"]

SCHEMA = pa.schema(
    [
        ("pair", pa.int64()),
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("method", pa.string()),
        ("level", pa.string()),
        ("baseline", pa.string()),
        ("group", pa.string()),
        ("side", pa.string()),
        ("attribution", pa.float64()),
        ("rank", pa.int32()),
        ("s", pa.float64()),
        ("s_baseline", pa.float64()),
        ("completeness_gap", pa.float64()),
        ("convergence_delta", pa.float64()),
    ]
)


def read_pairs(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file with columns user_id and item_id (ids read as strings)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"pairs file {path} not found")
    if path.suffix.lower() == ".parquet":
        pairs = pd.read_parquet(path)
    else:
        pairs = pd.read_csv(path, dtype={"user_id": str, "item_id": str})
    return _checked_pairs(pairs, str(path))


def _checked_pairs(pairs: pd.DataFrame, where: str = "pairs") -> pd.DataFrame:
    missing = [c for c in ("user_id", "item_id") if c not in pairs.columns]
    if missing:
        raise ValueError(f"{where} lacks column(s) {', '.join(missing)}; it needs user_id and item_id")
    if pairs[["user_id", "item_id"]].isna().any().any():
        row = int(np.flatnonzero(pairs[["user_id", "item_id"]].isna().any(axis=1).to_numpy())[0])
        raise ValueError(f"{where}: row {row} has an empty user_id or item_id")
    return pd.DataFrame(
        {"user_id": pairs["user_id"].astype(str).to_numpy(), "item_id": pairs["item_id"].astype(str).to_numpy()}
    )


def explain_chunk(
    model: Recommender,
    pairs: pd.DataFrame,
    first_row: int,
    *,
    methods: Sequence[str],
    params: dict,
    level: str,
    baseline: str,
) -> pa.Table:
    """The rows of one chunk of pairs (columns user_id, item_id; `first_row`: the first pair's number), in
    SCHEMA. A pure function of its arguments: every engine calls it, on the same chunks."""
    try:
        user_rows, item_rows = model.user_rows(list(pairs["user_id"])), model.item_rows(list(pairs["item_id"]))
    except KeyError as err:
        raise ValueError(f"pairs rows {first_row}..{first_row + len(pairs) - 1}: {err.args[0]}") from None
    target = targets_for(model, user_rows, item_rows, level, baseline)
    sides = [g.side for g in target.groups]
    frames = []
    for key in methods:
        a = explain(target, key, params[key])
        b, g = a.groups.shape
        order = np.argsort(-snap_noise(np.abs(a.groups), a.s, a.s_baseline), axis=1, kind="stable")
        rank = np.empty_like(order)
        rank[np.arange(b)[:, None], order] = np.arange(1, g + 1)[None, :]
        per_pair = functools.partial(np.repeat, repeats=g)
        delta = a.convergence_delta if a.convergence_delta is not None else np.full(b, np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "pair": per_pair(np.arange(first_row, first_row + b, dtype=np.int64)),
                    "user_id": per_pair(pairs["user_id"].to_numpy()),
                    "item_id": per_pair(pairs["item_id"].to_numpy()),
                    "method": key,
                    "level": level,
                    "baseline": baseline,
                    "group": np.tile(a.group_names, b),
                    "side": np.tile(sides, b),
                    "attribution": a.groups.reshape(-1),
                    "rank": rank.reshape(-1).astype(np.int32),
                    "s": per_pair(a.s),
                    "s_baseline": per_pair(a.s_baseline),
                    "completeness_gap": per_pair(a.completeness_gap),
                    "convergence_delta": per_pair(delta),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    # Same row order as the docstring promises: by pair, then method, then group.
    frame["_method"] = frame["method"].map({k: i for i, k in enumerate(methods)})
    frame = frame.sort_values(["pair", "_method"], kind="stable").drop(columns="_method")
    return pa.Table.from_pandas(frame.reset_index(drop=True), schema=SCHEMA, preserve_index=False)


def explain_pairs(
    model: Recommender,
    pairs_df: pd.DataFrame,
    methods: Sequence[str],
    out_path: str | Path,
    *,
    chunk_size: int = 256,
    level: str = "fields",
    baseline: str | None = None,
    params: dict | None = None,
    progress: bool = True,
    on_chunk_done: Callable[[int], None] | None = None,
    engine: str = "local",
    checkpoint: str | Path | None = None,
    address: str | None = None,
    workers: int | None = None,
) -> Path:
    """Explain every (user_id, item_id) row of `pairs_df` with each method; write `out_path` (Parquet).

    baseline: None → the model's `default_baseline` (the one every page starts from).
    params: {method key: {parameter: value}}. on_chunk_done(i) is called after chunk i is safely on
    disk (tests use it to simulate an interruption). Returns the output path. See the module
    docstring for the schema and how resuming works.
    engine: "local" (this process) or "ray" (Ray Data; each worker loads the model from `checkpoint`, the
    folder `model` was loaded from; `address` a Ray cluster, None a local Ray; `workers` actors, None one
    per CPU). The output is the same bytes on either engine.
    """
    pairs = _checked_pairs(pairs_df)
    _check_ids(model, pairs)
    methods = [method(k).key for k in methods]
    if not methods:
        raise ValueError("name at least one method")
    baseline = baseline or default_baseline(model)
    if level not in LEVELS or baseline not in BASELINES:
        raise ValueError(f"level must be one of {LEVELS} and baseline one of {BASELINES}")
    params = {k: resolve_params(k, (params or {}).get(k)) for k in methods}
    for key in methods:
        if level not in METHODS[key].levels:
            raise ValueError(f"{METHODS[key].name} does not work at the {level} level")
    limited = [k for k in methods if METHODS[k].max_groups is not None]
    if limited and len(pairs):
        n_groups = len(
            targets_for(
                model,
                model.user_rows(pairs["user_id"][:1].tolist()),
                model.item_rows(pairs["item_id"][:1].tolist()),
                level,
                baseline,
            ).groups
        )
        for key in limited:
            if not METHODS[key].applies(level, n_groups):
                raise ValueError(
                    f"{key} needs ≤ {METHODS[key].max_groups} groups; this model has {n_groups} at the "
                    f"{level} level. Use shapley_sampling instead"
                )

    plan = {
        "job": "explain",
        "methods": methods,
        "params": params,
        "level": level,
        "baseline": baseline,
        "n_pairs": len(pairs),
    }
    job = new_job(
        "explaining",
        out_path,
        pairs,
        chunk_size=chunk_size,
        plan=plan,
        model=model,
        compute=functools.partial(explain_chunk, methods=methods, params=params, level=level, baseline=baseline),
        schema=SCHEMA,
        checkpoint=checkpoint,
    )
    return run_job(
        job, model, engine=engine, address=address, workers=workers, progress=progress, on_chunk_done=on_chunk_done
    )


def _check_ids(model, pairs: pd.DataFrame) -> None:
    """Every pair's ids are in the model's catalog, checked before any work (a worker's error would be later
    and wordier)."""
    for column, known in (("user_id", set(model.user_ids)), ("item_id", set(model.item_ids))):
        unknown = ~pairs[column].isin(known).to_numpy()
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise ValueError(f"pairs row {row}: unknown id '{pairs[column].iloc[row]}' ({column})")


def _parse_params(items: Sequence[str]) -> dict:
    """["ig.n_steps=32", "shapley_sampling.n_samples=50"] → {"ig": {"n_steps": 32}, ...} (JSON values)."""
    params: dict = {}
    for item in items:
        name, sep, raw = item.partition("=")
        key, dot, param = name.partition(".")
        if not sep or not dot:
            raise ValueError(f"--param takes METHOD.NAME=VALUE, got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        params.setdefault(key, {})[param] = value
    return params


def cli_main(argv: Sequence[str] | None = None) -> int:
    """`attnrec explain ...`; returns the exit status (0 ok, 2 bad input)."""
    return run(explain_parser().parse_args(list(sys.argv[1:] if argv is None else argv)))


def run(args: argparse.Namespace) -> int:
    """`attnrec explain` with its parsed arguments (`attnrec.command_parsers.explain_parser`)."""
    try:
        from attnrec.model import Recommender

        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        pairs = read_pairs(args.pairs)
        model = Recommender.load(args.checkpoint, engine_device(args))
        out = explain_pairs(
            model,
            pairs,
            methods,
            args.out,
            chunk_size=args.chunk_size,
            level=args.level,
            baseline=args.baseline,
            params=_parse_params(args.param),
            progress=not args.no_progress,
            engine=args.engine,
            checkpoint=args.checkpoint,
            address=args.address,
            workers=args.workers,
        )
    except JOB_ERRORS as err:
        print(f"attnrec explain: error: {err}", file=sys.stderr)
        return 2
    print(
        f"wrote {out} ({pq.ParquetFile(out).metadata.num_rows} rows: {len(pairs)} pairs × {len(methods)} "
        f"method(s) × groups)"
    )
    return 0

"""Reading and summarising batch-explain Parquet files (`attnrec explain … --out x.parquet`): read with
pyarrow only, checked against `attnrec.explain.batch.SCHEMA`, summarised per method."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Union

import numpy as np
import pandas as pd

from attnrec.explain.metrics import kendall_tau_rows
from attnrec.explain.registry import method_name

if TYPE_CHECKING:
    import pyarrow as pa

# A path, the file's bytes, or a binary file object (an upload).
BatchSource = Union[str, Path, bytes, bytearray, memoryview, IO[bytes]]


class BatchFileError(ValueError):
    """A file that is not a readable batch-explain Parquet output; the message says what is wrong."""


def _read_table(source: BatchSource) -> pa.Table:
    # Size limits (rows, uncompressed and decoded bytes: attnrec.limits) are checked from the file's
    # metadata and batch by batch by the data layer's reader, before the table is built.
    from attnrec.data.io import read_parquet_arrow
    from attnrec.data.types import DataError

    reader: str | bytes
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if path.suffix.lower() != ".parquet":
            raise BatchFileError(f"{path.name or path}: only .parquet files are read here")
        if not path.is_file():
            raise BatchFileError(f"{path}: no such file")
        reader, name = str(path), path.name
    else:
        data = source if isinstance(source, (bytes, bytearray, memoryview)) else source.read()
        if not len(data):
            raise BatchFileError("the file is empty (0 bytes)")
        reader, name = bytes(data), "the upload"
    try:
        return read_parquet_arrow(reader, name)
    except DataError as err:
        raise BatchFileError(str(err).replace("file the upload: ", "")) from None


def read_batch_explanations(source: BatchSource) -> pd.DataFrame:
    """A batch-explain output (path, bytes or binary file object) as a frame with SCHEMA's columns.

    Read with pyarrow only; columns are cast to the schema's plain types, extra columns are dropped.
    Raises BatchFileError with a plain message for anything else (not Parquet, missing columns,
    wrong types, no rows)."""
    import pyarrow as pa

    from attnrec.explain.batch import SCHEMA

    table = _read_table(source)
    missing = [f.name for f in SCHEMA if f.name not in table.column_names]
    if missing:
        raise BatchFileError(
            f"this is not an `attnrec explain` output: column(s) {', '.join(missing)} missing "
            f"(it has {', '.join(table.column_names[:8]) or 'no columns'}"
            f"{'…' if len(table.column_names) > 8 else ''})"
        )
    columns = []
    for field in SCHEMA:
        column = table.column(field.name)
        try:
            columns.append(column.cast(field.type))
        except (pa.ArrowException, ValueError):
            raise BatchFileError(f"column '{field.name}' holds {column.type}, expected {field.type}") from None
    table = pa.table(columns, schema=SCHEMA)
    if table.num_rows == 0:
        raise BatchFileError("the file has the right columns but no rows")
    frame = table.to_pandas()
    for name in ("user_id", "item_id", "method", "level", "baseline", "group", "side"):
        if frame[name].isna().any():
            row = int(frame[name].isna().to_numpy().argmax())
            raise BatchFileError(f"column '{name}' has empty values (row {row})")
    return frame


@dataclass
class BatchSummary:
    overview: dict  # pairs, rows, methods, levels, baselines, groups
    per_method: pd.DataFrame  # per method: pairs, groups, completeness, most often first group
    top_groups: pd.DataFrame  # per method × group: mean |attribution|, mean attribution, share ranked 1 / top 3
    agreement: pd.DataFrame | None  # per method × pair: τ with attention (dimension-level files with attention)


def summarize_batch(frame: pd.DataFrame) -> BatchSummary:
    """Per-method distributions and top groups of a `read_batch_explanations` frame."""
    overview = {
        "pairs": int(frame["pair"].nunique()),
        "rows": int(len(frame)),
        "methods": list(dict.fromkeys(frame["method"])),
        "levels": sorted(frame["level"].unique()),
        "baselines": sorted(frame["baseline"].unique()),
        "groups": int(frame["group"].nunique()),
    }
    per_pair = frame.drop_duplicates(["method", "pair"])
    change = (per_pair["s"] - per_pair["s_baseline"]).abs()
    per_pair = per_pair.assign(
        abs_gap=per_pair["completeness_gap"].abs(),
        relative_gap=per_pair["completeness_gap"].abs() / np.maximum(change, 1e-8),
        abs_delta=per_pair["convergence_delta"].abs(),
    )
    firsts = frame[frame["rank"] == 1]
    rows = []
    for key, part in per_pair.groupby("method", sort=False):
        first = firsts[firsts["method"] == key]["group"].value_counts()
        rows.append(
            {
                "method": method_name(key),
                "key": key,
                "pairs": int(part["pair"].nunique()),
                "groups": int(frame.loc[frame["method"] == key, "group"].nunique()),
                "median |completeness gap|": float(part["abs_gap"].median()),
                "median relative gap": float(part["relative_gap"].median()),
                "share within 5%": float((part["relative_gap"] <= 0.05).mean()),
                "median |convergence delta|": float(part["abs_delta"].median())
                if part["abs_delta"].notna().any()
                else np.nan,
                "most often first": first.index[0] if len(first) else "",
                "share first": float(first.iloc[0] / part["pair"].nunique()) if len(first) else np.nan,
            }
        )
    per_method = pd.DataFrame(rows)
    grouped = frame.assign(
        magnitude=frame["attribution"].abs(), first=frame["rank"] == 1, top3=frame["rank"] <= 3
    ).groupby(["method", "group"], sort=False)
    top_groups = grouped.agg(
        mean_abs_attribution=("magnitude", "mean"),
        mean_attribution=("attribution", "mean"),
        share_ranked_first=("first", "mean"),
        share_in_top_3=("top3", "mean"),
    ).reset_index()
    top_groups.insert(1, "name", top_groups["method"].map(method_name))
    top_groups = top_groups.sort_values(
        ["method", "mean_abs_attribution"], ascending=[True, False], kind="stable"
    ).reset_index(drop=True)
    return BatchSummary(overview, per_method, top_groups, _batch_agreement(frame))


def _batch_agreement(frame: pd.DataFrame) -> pd.DataFrame | None:
    """τ per pair between the file's attention rows and each other method's |attribution| (dimension level)."""
    dims = frame[frame["level"] == "dimensions"]
    if "attention" not in set(dims["method"]) or dims["method"].nunique() < 2:
        return None
    wide = dims.pivot_table(
        index=["baseline", "pair"], columns=["method", "group"], values="attribution", aggfunc="first", sort=False
    )
    attention = wide["attention"]
    frames = []
    for key in dict.fromkeys(dims["method"]):
        if key == "attention":
            continue
        values = wide[key].reindex(columns=attention.columns)
        ok = values.notna().all(axis=1) & attention.notna().all(axis=1)
        taus = kendall_tau_rows(attention[ok].to_numpy(float), np.abs(values[ok].to_numpy(float)))
        index = attention[ok].index
        frames.append(
            pd.DataFrame(
                {"method": method_name(key), "key": key, "pair": index.get_level_values("pair"), "kendall_tau": taus}
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else None

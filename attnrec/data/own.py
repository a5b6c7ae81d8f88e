"""Your own data: users, items and interactions tables (CSV, TSV or Parquet) plus a schema JSON.

The schema's published form is the JSON Schema `attnrec/data/schema.json` (shipped with the package; every
key is described there and in the README). In short (every key but the two ids is optional; unknown keys are
errors, so typos are caught):
    {"name": "my films",                                 # the dataset's name (default: the folder's)
     "user_id": "uid", "item_id": "iid",
     "item_name": "title",                               # display only: names items beside their ids
     "files": {"users": "u.user",                        # default users/items/interactions .csv/.parquet
               "interactions": {"path": "u.data", "separator": "\t", "header": false,
                                "columns": ["uid", "iid", "rating", "ts"]}},
     "label": {"column": "rating", "threshold": 4},     # label = rating ≥ threshold; omit → every row positive
     "timestamp": "ts",
     "user_features": {"age": {"kind": "numeric"}, "tags": {"kind": "multi", "separator": ";"},
                       "zip3": {"kind": "categorical", "column": "zip", "prefix": 3}},
     "item_features": {"year": {"kind": "date", "column": "released", "part": "year", "format": "%d-%b-%Y"},
                       "genres": {"kind": "flags", "columns": ["Action", "Comedy", "Drama"]}},
     "aligned_pairs": [{"user": "fav_genre", "item": "genre", "name": "genre"}],
     "aligned_dimensions": [...],                        # aligned mode written out in full (see the JSON Schema)
     "missing_values": ["", "?"]}                       # cells read as missing (default shown)

Derived features (computed at load, then ordinary features): "date" → a number (year, month or weekday)
from a date column; "prefix": N on a categorical → its first N characters; "flags" → several 0/1 columns
as one multi-valued field whose values are the columns set to 1. The loaded `Dataset.schema` holds the
resulting kinds (numeric / categorical / multi), each derived spec keeping its recipe under "derived".

Loading validates everything first and builds the Dataset only when all is well (never half-loads);
each problem is a DataError naming the file, the row (header = row 1; a file without a header row counts
from 1) and the column, or for the schema the key path. Nothing is ever unpickled: text is parsed as text
and Parquet through pyarrow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

from attnrec.data.cells import (
    check_known_ids,
    check_unique_ids,
    clean_text,
    file_of,
    missing_mask,
    parse_numeric,
    require_columns,
    row_number,
)
from attnrec.data.derived import compiled_schema, derive, is_derived
from attnrec.data.io import read_table
from attnrec.data.own_schema import NUMBER_PATTERN, TABLE_ROLES, load_schema
from attnrec.data.types import DataError, Dataset, DataWarning

__all__ = [
    "load_own_dataset",
    "read_table",
    "TableSource",
    "check_trainable",
    "schema_tables",
]

# a path, a table already read by `read_table`, or (filename, bytes) from an upload
TableSource = Union[str, Path, pd.DataFrame, tuple[str, bytes]]
# ---------- loading ----------


def _read(source, default_name: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        frame = source.copy()  # keeps attrs (source_file, row_numbers) when read_table made it
        frame.attrs.setdefault("source_file", default_name)
        return frame
    if isinstance(source, tuple):
        filename, data = source
        return read_table(data, filename)
    return read_table(source)


def load_own_dataset(
    users: TableSource,
    items: TableSource,
    interactions: TableSource,
    schema: dict | str | Path | bytes,
    name: str = "own data",
    source: str = "",
) -> Dataset:
    """Validate and load three tables + a schema. Each table: a path, (filename, bytes), or a DataFrame
    from `read_table`; schema: dict, path or bytes. Raises DataError on the first problem found."""
    schema = load_schema(schema)
    missing_values = schema["missing_values"]
    tables = {
        "users": _read(users, "users"),
        "items": _read(items, "items"),
        "interactions": _read(interactions, "interactions"),
    }
    u, i, x = tables["users"], tables["items"], tables["interactions"]
    derived = {
        side: {k: spec for k, spec in schema[f"{side}_features"].items() if is_derived(spec)}
        for side in ("user", "item")
    }

    # 1. every column the schema names exists
    require_columns(u, [schema["user_id"]], "the schema's user_id")
    require_columns(i, [schema["item_id"]], "the schema's item_id")
    for side, frame in (("user", u), ("item", i)):
        features = schema[f"{side}_features"]
        require_columns(frame, [c for c in features if c not in derived[side]], f"named in {side}_features")
        for key, spec in derived[side].items():
            sources = spec["columns"] if spec["kind"] == "flags" else [spec.get("column", key)]
            require_columns(frame, sources, f"the source of {side} feature '{key}'")
            if key in frame.columns and key not in sources:
                raise DataError(
                    f"{side} feature '{key}' is derived from {sources} but the file already has a "
                    f"column '{key}'; give the feature another name",
                    file=file_of(frame),
                    column=key,
                )
        pair_columns = [p[side] for p in schema["aligned_pairs"] if p[side] not in derived[side]]
        require_columns(frame, pair_columns, "named in aligned_pairs")
    require_columns(x, [schema["user_id"], schema["item_id"]], "interactions need both ids")
    if schema.get("label"):
        require_columns(x, [schema["label"]["column"]], "the schema's label column")
    if schema.get("timestamp"):
        require_columns(x, [schema["timestamp"]], "the schema's timestamp")

    # 2. ids unique and present, interactions point at known ids
    check_unique_ids(u, schema["user_id"], missing_values)
    check_unique_ids(i, schema["item_id"], missing_values)
    for column in (schema["user_id"], schema["item_id"]):
        mask = missing_mask(x[column], missing_values)
        if mask.any():
            raise DataError("id is missing", file=file_of(x), row=row_number(x, int(np.argmax(mask))), column=column)
    check_known_ids(x, schema["user_id"], set(u[schema["user_id"]].astype(str).str.strip()), "user")
    check_known_ids(x, schema["item_id"], set(i[schema["item_id"]].astype(str).str.strip()), "item")

    # 3. numbers are numbers
    numeric = {
        side: [c for c, s in schema[f"{side}_features"].items() if s["kind"] == "numeric"] for side in ("user", "item")
    }
    for side in ("user", "item"):
        numeric[side] += [
            p[side] for p in schema["aligned_pairs"] if p.get("kind") == "numeric" and p[side] not in derived[side]
        ]
    parsed = {
        "user": {c: parse_numeric(u, c, missing_values=missing_values) for c in numeric["user"]},
        "item": {c: parse_numeric(i, c, missing_values=missing_values) for c in numeric["item"]},
    }
    label = None
    if schema.get("label"):
        label = parse_numeric(x, schema["label"]["column"], required=True, missing_values=missing_values)
    timestamp = _parse_timestamp(x, schema["timestamp"], missing_values) if schema.get("timestamp") else None

    # 4. derived features (dates, prefixes, flag groups); each bad cell names its file, row and column
    made = {
        side: {key: derive(frame, key, spec, missing_values) for key, spec in derived[side].items()}
        for side, frame in (("user", u), ("item", i))
    }
    dropped = {
        side: {c for spec in derived[side].values() if spec["kind"] == "flags" for c in spec["columns"]}
        - set(schema[f"{side}_features"])
        - {p[side] for p in schema["aligned_pairs"]}
        for side in ("user", "item")
    }

    # 5. all valid: build
    users_table = _side_table(
        u, schema["user_id"], {**parsed["user"], **made["user"]}, missing_values, "user_id", drop=dropped["user"]
    )
    items_table = _side_table(
        i, schema["item_id"], {**parsed["item"], **made["item"]}, missing_values, "item_id", drop=dropped["item"]
    )
    schema = compiled_schema(schema, derived)
    frame = pd.DataFrame(
        {
            # .array, not .to_numpy(): an Arrow string column stays one (no Python str per row)
            "user_id": x[schema["user_id"]].astype(str).str.strip().array,
            "item_id": x[schema["item_id"]].astype(str).str.strip().array,
        }
    )
    frame["label"] = (label.to_numpy() >= schema["label"]["threshold"]).astype(int) if label is not None else 1
    if timestamp is not None:
        frame["timestamp"] = timestamp.to_numpy()
    frame = collapse_repeats(frame)
    dataset = Dataset(
        name=name, users=users_table, items=items_table, interactions=frame, schema=schema, source=source or name
    )
    check_trainable(dataset, file_of(x), labelled=label is not None)
    return dataset


def check_trainable(dataset: Dataset, file: str | None = None, labelled: bool = True) -> None:
    """Refuse interactions nothing can be learned from; note (and warn about) a label that separates nothing.

    At least 2 interactions and 2 positives are needed (training holds some out for validation, the
    leave-one-out evaluation one per user). When a label column is given but every row is positive
    under its threshold, the label carries no information: the model learns from sampled negatives
    only, as with no label column; that is allowed but said, in `dataset.notes` and as a DataWarning.
    """
    import warnings

    interactions = dataset.interactions
    if len(interactions) < 2:
        raise DataError(
            f"has only {len(interactions)} interaction (after merging repeated user–item rows); "
            f"training needs at least 2",
            file=file,
        )
    positives = int(interactions["label"].sum())
    if positives < 2:
        raise DataError(
            f"only {positives} interaction(s) are positive under this label threshold; training needs at least 2",
            file=file,
        )
    if labelled and positives == len(interactions):
        column = (dataset.schema.get("label") or {}).get("column", "label")
        threshold = (dataset.schema.get("label") or {}).get("threshold")
        note = (
            f"every interaction is positive under the label threshold ({column} ≥ {threshold:g}): the label "
            f"separates nothing, so the model learns only from randomly sampled negatives. Raise the "
            f"threshold if low ratings should count as negatives."
        )
        dataset.notes.append(note)
        warnings.warn(DataWarning(f"{dataset.name}: {note}"), stacklevel=3)


def collapse_repeats(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (user, item): repeated rows keep the largest label and the latest timestamp."""
    if not frame.duplicated(["user_id", "item_id"]).any():
        return frame.reset_index(drop=True)
    agg = {"label": "max", **({"timestamp": "max"} if "timestamp" in frame else {})}
    return frame.groupby(["user_id", "item_id"], as_index=False, sort=False).agg(agg)


def _parse_timestamp(frame: pd.DataFrame, column: str, missing_values) -> pd.Series:
    cells = frame[column]
    mask = missing_mask(cells, missing_values)
    if mask.any():
        raise DataError(
            "timestamp is missing", file=file_of(frame), row=row_number(frame, int(np.argmax(mask))), column=column
        )
    as_text = cells.astype(str).str.strip()
    if as_text.map(lambda t: bool(NUMBER_PATTERN.match(t))).all():
        return parse_numeric(frame, column, required=True, missing_values=missing_values, limit=None)
    parsed = pd.to_datetime(as_text, errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(
            f"'{as_text.iloc[pos]}' is neither a number nor a date/time",
            file=file_of(frame),
            row=row_number(frame, pos),
            column=column,
        )
    return parsed


def _side_table(
    frame: pd.DataFrame, id_column: str, numbers: dict[str, pd.Series], missing_values, index_name: str, drop=()
) -> pd.DataFrame:
    """The side's table for display and encoding: the file's columns (parsed numbers and derived features
    replacing their source where they share its name), flag columns folded into their group, new derived
    features after them."""
    table = pd.DataFrame(index=pd.Index(frame[id_column].astype(str).str.strip().to_numpy(), name=index_name))
    for column in frame.columns:
        if column == id_column or column in drop:
            continue
        values = numbers[column] if column in numbers else clean_text(frame[column], missing_values)
        table[column] = values.to_numpy()
    for column, values in numbers.items():
        if column not in table.columns:
            table[column] = values.to_numpy()
    return table


# ---------- files named by the schema ----------


def schema_tables(directory: str | Path, schema: dict) -> dict[str, TableSource]:
    """Each table of a data folder: the file the schema's "files" names (read with its separator, header
    and encoding), else users / items / interactions with .csv, .tsv, .parquet or .pq."""
    directory = Path(directory)
    files = schema.get("files") or {}
    out: dict[str, TableSource] = {}
    for role in TABLE_ROLES:
        spec = files.get(role)
        if spec is None:
            out[role] = _default_table(directory, role)
            continue
        spec = {"path": spec} if isinstance(spec, str) else spec
        path = directory / spec["path"]
        if not path.is_file():
            raise DataError(f"the {role} file named in the schema's files.{role} was not found", file=spec["path"])
        kind = spec.get("format")
        if kind is None and path.suffix.lower() not in (".csv", ".tsv", ".parquet", ".pq"):
            kind = "csv"  # u.user, u.data: delimited text
        columns = spec.get("columns") if spec.get("header") is False else None
        out[role] = read_table(
            path,
            spec["path"],
            format=kind,
            separator=spec.get("separator"),
            columns=columns,
            encoding=spec.get("encoding", "utf-8"),
        )
    return out


def _default_table(directory: Path, stem: str) -> Path:
    for suffix in (".csv", ".tsv", ".parquet", ".pq"):
        if (directory / f"{stem}{suffix}").exists():
            return directory / f"{stem}{suffix}"
    raise DataError(
        f'no {stem}.csv, {stem}.tsv or {stem}.parquet in {directory} (or name the file in the schema\'s "files")',
        file=f"{stem}.csv",
    )

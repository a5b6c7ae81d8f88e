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

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

from attnrec.data.io import first_data_row, read_table
from attnrec.data.types import DataError, Dataset, DataWarning
from attnrec.limits import LIMITS

__all__ = [
    "load_schema",
    "validate_schema",
    "load_own_dataset",
    "read_table",
    "TableSource",
    "DEFAULT_MISSING",
    "missing_mask",
    "require_columns",
    "check_unique_ids",
    "parse_numeric",
    "check_known_ids",
    "row_number",
    "check_trainable",
    "json_schema",
    "check_json_schema",
    "schema_tables",
]

# a path, a table already read by `read_table`, or (filename, bytes) from an upload
TableSource = Union[str, Path, pd.DataFrame, tuple[str, bytes]]
DEFAULT_MISSING = ("", "?")
SCHEMA_KEYS = {
    "user_id",
    "item_id",
    "label",
    "timestamp",
    "user_features",
    "item_features",
    "aligned_pairs",
    "aligned_dimensions",
    "missing_values",
    "item_name",
    "name",
    "description",
    "files",
}
FEATURE_KINDS = {"categorical", "numeric", "multi"}  # what a loaded feature is (and a pair may be)
DERIVED_KINDS = {"date", "flags"}  # computed at load into a FEATURE_KIND
FEATURE_KEYS = {"kind", "separator", "column", "part", "format", "prefix", "columns", "names"}
TABLE_ROLES = ("users", "items", "interactions")
DATE_PARTS = {"year": lambda d: d.year, "month": lambda d: d.month, "weekday": lambda d: d.weekday()}
JSON_SCHEMA = "schema.json"  # beside this module, shipped as package data
PAIR_KEYS = {"user", "item", "name", "kind", "range"}
LABEL_KEYS = {"column", "threshold"}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# ---------- schema ----------


def load_schema(source: dict | str | Path | bytes, filename: str = "schema.json") -> dict:
    """Read and validate a schema from a dict, a JSON file path, or uploaded bytes."""
    if isinstance(source, dict):
        return validate_schema(source, filename)
    if isinstance(source, (bytes, bytearray)):
        text, name = _decode_json_bytes(bytes(source), filename), filename
    else:
        path = Path(source)
        name = path.name
        if not path.exists():
            raise DataError("schema file not found", file=str(path))
        text = _decode_json_bytes(path.read_bytes(), name)
    if not text.strip():
        raise DataError("the schema file is empty", file=name)
    try:
        blob = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})", file=name) from None
    return validate_schema(blob, name)


def _decode_json_bytes(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("is not valid UTF-8 text", file=name) from None


def validate_schema(schema: dict, file: str = "schema.json") -> dict:
    """Check keys, kinds and types; returns a normalised copy (defaults filled in)."""
    if not isinstance(schema, dict):
        raise DataError("the schema must be a JSON object", file=file)
    unknown = sorted(set(schema) - SCHEMA_KEYS)
    if unknown:
        raise DataError(f"unknown schema key(s) {unknown}; allowed: {sorted(SCHEMA_KEYS)}", file=file)
    for key in ("user_id", "item_id"):
        if not isinstance(schema.get(key), str) or not schema[key]:
            raise DataError(f"schema needs '{key}': the name of the id column", file=file)
    out = dict(schema)
    label = schema.get("label")
    if label is not None:
        if not isinstance(label, dict) or set(label) - LABEL_KEYS or "column" not in label:
            raise DataError('\'label\' must be {"column": name, "threshold": number}', file=file)
        threshold = label.get("threshold", 1)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not np.isfinite(threshold):
            raise DataError(f"label threshold must be a finite number, got {threshold!r}", file=file)
        out["label"] = {"column": label["column"], "threshold": threshold}
    if "timestamp" in schema and not isinstance(schema["timestamp"], str):
        raise DataError("'timestamp' must be a column name", file=file)
    for side in ("user", "item"):
        features = schema.get(f"{side}_features", {})
        if not isinstance(features, dict):
            raise DataError(f"'{side}_features' must map column names to {{\"kind\": ...}}", file=file)
        normalised = {}
        for column, spec in features.items():
            spec = {"kind": spec} if isinstance(spec, str) else spec
            if not isinstance(spec, dict) or set(spec) - FEATURE_KEYS:
                raise DataError(
                    f"{side} feature '{column}': allowed keys are {sorted(FEATURE_KEYS)}", file=file, column=column
                )
            kind = spec.get("kind", "categorical")
            if kind not in FEATURE_KINDS | DERIVED_KINDS:
                raise DataError(
                    f"{side} feature '{column}': unknown kind '{kind}'; use one of "
                    f"{sorted(FEATURE_KINDS | DERIVED_KINDS)}",
                    file=file,
                    column=column,
                )
            spec = {**spec, "kind": kind, **({"separator": spec.get("separator", ";")} if kind == "multi" else {})}
            if kind == "flags" and "names" in spec and len(spec["names"]) != len(spec.get("columns", [])):
                raise DataError(
                    f"{side} feature '{column}': 'names' has {len(spec['names'])} entries but "
                    f"'columns' has {len(spec.get('columns', []))}; give one name per column",
                    file=file,
                    column=column,
                )
            normalised[column] = spec
        out[f"{side}_features"] = normalised
    pairs = schema.get("aligned_pairs", [])
    if not isinstance(pairs, list):
        raise DataError("'aligned_pairs' must be a list", file=file)
    for i, pair in enumerate(pairs):
        if not isinstance(pair, dict) or set(pair) - PAIR_KEYS or not {"user", "item"} <= set(pair):
            raise DataError(
                f"aligned_pairs[{i}] must have 'user' and 'item' columns (optional: name, kind, range)", file=file
            )
        if pair.get("kind", "categorical") not in FEATURE_KINDS:
            raise DataError(f"aligned_pairs[{i}]: unknown kind '{pair['kind']}'", file=file)
    out["aligned_pairs"] = [dict(p) for p in pairs]
    missing = schema.get("missing_values", list(DEFAULT_MISSING))
    if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
        raise DataError("'missing_values' must be a list of strings", file=file)
    out["missing_values"] = missing
    check_json_schema(schema, file)
    for role, spec in (schema.get("files") or {}).items():
        path = spec if isinstance(spec, str) else spec["path"]
        if Path(path).is_absolute() or ".." in Path(path).parts or "\\" in path:
            raise DataError(
                f"at files.{role}: '{path}' must be a path inside the schema's folder (relative, no '..')", file=file
            )
        if isinstance(spec, dict) and spec.get("header") is False and not spec.get("columns"):
            raise DataError(
                f"at files.{role}: a file without a header row needs 'columns' (its column names)", file=file
            )
    return out


def json_schema() -> dict:
    """The published JSON Schema of the own-data schema (attnrec/data/schema.json)."""
    from importlib.resources import files

    return json.loads(files("attnrec.data").joinpath(JSON_SCHEMA).read_text(encoding="utf-8"))


def _validator():
    global _VALIDATOR
    if _VALIDATOR is None:
        from jsonschema import Draft202012Validator

        _VALIDATOR = Draft202012Validator(json_schema())
    return _VALIDATOR


_VALIDATOR = None


def check_json_schema(schema: dict, file: str = "schema.json") -> None:
    """Validate against the JSON Schema; the first problem becomes a DataError naming the file and the key
    path (e.g. "at item_features.year.part: 'decade' is not one of ['year', 'month', 'weekday']")."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(schema))
    if error is None:
        return
    if error.validator == "oneOf" and error.context:  # say what the closest alternative missed
        # an object is judged by the object form, not by "is not one of the short names"
        relevant = [
            e
            for e in error.context
            if not (isinstance(error.instance, dict) and not e.relative_path and e.validator in ("enum", "type"))
        ]
        error = best_match(relevant or error.context)
    path = _key_path(error.absolute_path)
    message = error.message
    if error.validator == "not":
        message = f"has keys that do not go with its kind ({json.dumps(error.instance)[:200]})"
    elif error.validator == "const" and path.endswith(".kind"):  # e.g. "part" given to a flags feature
        parent = path[: -len(".kind")]
        message = f"the keys given need kind {error.validator_value!r}, not {error.instance!r}"
        path = parent
    raise DataError(f"at {path or 'the top level'}: {message}", file=file)


def _key_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ---------- cell-level checks shared with the restaurants loader ----------


def row_number(frame: pd.DataFrame, position: int) -> int:
    """The spreadsheet row (header = 1) of the table's `position`-th data row."""
    rows = frame.attrs.get("row_numbers")
    return int(rows[position]) if rows is not None and position < len(rows) else position + first_data_row


def _file(frame: pd.DataFrame) -> str | None:
    return frame.attrs.get("source_file")


def missing_mask(column: pd.Series, missing_values: Iterable[str] = DEFAULT_MISSING) -> np.ndarray:
    """True where a cell is missing: NA/None, or a string among `missing_values` (after strip)."""
    markers = set(missing_values)
    if _is_plain_numbers(column):  # vectorised, same answer: a number is missing only when NA
        return column.isna().to_numpy(dtype=bool)
    if isinstance(column.dtype, pd.StringDtype):  # every cell a str or NA: no Python loop over millions of rows
        return (column.isna() | column.str.strip().isin(list(markers))).to_numpy(dtype=bool, na_value=True)
    return np.array(
        [
            cell is None
            or (isinstance(cell, str) and cell.strip() in markers)
            or (not isinstance(cell, str) and _is_na(cell))
            for cell in column.tolist()
        ],
        dtype=bool,
    )


def _is_plain_numbers(column: pd.Series) -> bool:
    """A numpy bool / integer / float column (Parquet numbers): every cell is a number or NaN."""
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf"


def _is_na(cell) -> bool:
    try:
        return bool(pd.isna(cell))
    except (TypeError, ValueError):  # list-like cells are values, not missing
        return False


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str = "") -> None:
    present = set(frame.columns)
    for column in columns:
        if column not in present:
            raise DataError(
                f"missing column{(' (' + what + ')') if what else ''}; the file has {list(frame.columns)}",
                file=_file(frame),
                column=column,
            )


def check_unique_ids(frame: pd.DataFrame, column: str, missing_values: Iterable[str] = DEFAULT_MISSING) -> None:
    missing = missing_mask(frame[column], missing_values)
    if missing.any():
        raise DataError(
            "id is missing", file=_file(frame), row=row_number(frame, int(np.argmax(missing))), column=column
        )
    ids = frame[column].astype(str).str.strip()
    duplicated = ids.duplicated(keep="first").to_numpy()
    if duplicated.any():
        pos = int(np.argmax(duplicated))
        first = int(np.argmax((ids == ids.iloc[pos]).to_numpy()))
        raise DataError(
            f"duplicate id '{ids.iloc[pos]}' (first seen at row {row_number(frame, first)})",
            file=_file(frame),
            row=row_number(frame, pos),
            column=column,
        )


def parse_numeric(
    frame: pd.DataFrame,
    column: str,
    *,
    required: bool = False,
    missing_values: Iterable[str] = DEFAULT_MISSING,
    limit: float | None = LIMITS.magnitude,
) -> pd.Series:
    """The column as float64 (missing → NaN). Text, NaN, ±inf or |value| > `limit` in a cell is a DataError.

    The magnitude rule (attnrec.limits: `magnitude`) is the one every loader shares: beyond it float32
    encodings and standardisation (x², sums) overflow and a feature silently turns to zeros. Only
    timestamps, which are merely ordered, pass `limit=None`."""
    fast = _numbers_as_they_are(frame[column], required, limit)
    if fast is not None:
        return pd.Series(fast, index=frame.index, name=column)
    cells = frame[column].tolist()
    missing = missing_mask(frame[column], missing_values)
    out = np.full(len(cells), np.nan)
    for pos, cell in enumerate(cells):
        if missing[pos]:
            if required:
                raise DataError(
                    "value is missing but a number is required",
                    file=_file(frame),
                    row=row_number(frame, pos),
                    column=column,
                )
            continue
        if isinstance(cell, str):
            text = cell.strip()
            if not _NUMBER.match(text):
                kind = "NaN or infinity" if text.lower().lstrip("+-") in ("nan", "inf", "infinity") else "text"
                raise DataError(
                    f"{kind} '{text}' where a finite number is expected",
                    file=_file(frame),
                    row=row_number(frame, pos),
                    column=column,
                )
            value = float(text)
        elif isinstance(cell, (bool, np.bool_)):
            value = float(cell)
        elif isinstance(cell, (int, float, np.integer, np.floating)):
            value = float(cell)
        else:
            raise DataError(f"'{cell}' is not a number", file=_file(frame), row=row_number(frame, pos), column=column)
        if not np.isfinite(value):
            raise DataError(
                f"{value} where a finite number is expected (NaN/inf not allowed)",
                file=_file(frame),
                row=row_number(frame, pos),
                column=column,
            )
        if limit is not None and abs(value) > limit:
            raise DataError(
                f"{value:g} is too large in magnitude (limit {limit:g}); rescale this column",
                file=_file(frame),
                row=row_number(frame, pos),
                column=column,
            )
        out[pos] = value
    return pd.Series(out, index=frame.index, name=column)


def _numbers_as_they_are(column: pd.Series, required: bool, limit: float | None) -> np.ndarray | None:
    """A numeric column with nothing to refuse, as float64 (vectorised); None sends it to the cell-by-cell
    path, which names the first bad cell."""
    if not _is_plain_numbers(column):
        return None
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    if required and missing.any():
        return None
    present = values[~missing]
    if not np.isfinite(present).all() or (limit is not None and (np.abs(present) > limit).any()):
        return None
    return values


def check_known_ids(frame: pd.DataFrame, column: str, known: set[str], what: str) -> None:
    ids = frame[column].astype(str).str.strip()
    unknown = ~ids.isin(known).to_numpy()
    if unknown.any():
        pos = int(np.argmax(unknown))
        raise DataError(
            f"{what} id '{ids.iloc[pos]}' is not in the {what}s table ({int(unknown.sum())} row(s) like this)",
            file=_file(frame),
            row=row_number(frame, pos),
            column=column,
        )


def clean_text(column: pd.Series, missing_values: Iterable[str] = DEFAULT_MISSING) -> pd.Series:
    """Strings stripped, missing markers → NaN (for display and categorical features)."""
    missing = missing_mask(column, missing_values)
    if isinstance(column.dtype, pd.StringDtype):  # vectorised, the same cells
        stripped = column.str.strip().astype(object).to_numpy(copy=True)
        stripped[missing] = np.nan
        return pd.Series(stripped, index=column.index, name=column.name, dtype=object)
    values = [np.nan if m else str(c).strip() for c, m in zip(column.tolist(), missing)]
    return pd.Series(values, index=column.index, name=column.name, dtype=object)


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
        side: {k: spec for k, spec in schema[f"{side}_features"].items() if _is_derived(spec)}
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
                    file=_file(frame),
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
            raise DataError("id is missing", file=_file(x), row=row_number(x, int(np.argmax(mask))), column=column)
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
        side: {key: _derive(frame, key, spec, missing_values) for key, spec in derived[side].items()}
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
    schema = _compiled(schema, derived)
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
    check_trainable(dataset, _file(x), labelled=label is not None)
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
            "timestamp is missing", file=_file(frame), row=row_number(frame, int(np.argmax(mask))), column=column
        )
    as_text = cells.astype(str).str.strip()
    if as_text.map(lambda t: bool(_NUMBER.match(t))).all():
        return parse_numeric(frame, column, required=True, missing_values=missing_values, limit=None)
    parsed = pd.to_datetime(as_text, errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(
            f"'{as_text.iloc[pos]}' is neither a number nor a date/time",
            file=_file(frame),
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


# ---------- derived features ----------


def _is_derived(spec: dict) -> bool:
    return spec.get("kind") in DERIVED_KINDS or "prefix" in spec


def _derive(frame: pd.DataFrame, key: str, spec: dict, missing_values) -> pd.Series:
    if spec["kind"] == "date":
        return _date_part(
            frame, spec.get("column", key), spec["part"], spec.get("format", "%Y-%m-%d"), missing_values
        ).rename(key)
    if spec["kind"] == "flags":
        return _flags(
            frame, spec["columns"], spec.get("names") or spec["columns"], missing_values, _flag_separator(spec)
        ).rename(key)
    text = clean_text(frame[spec.get("column", key)], missing_values)  # a prefix of a categorical
    return text.map(lambda v: v[: spec["prefix"]] if isinstance(v, str) else v).rename(key)


def _date_part(frame: pd.DataFrame, column: str, part: str, fmt: str, missing_values) -> pd.Series:
    """year / month / weekday (Monday = 0) of each date, as float64 (missing → NaN)."""
    from datetime import date, datetime

    take = DATE_PARTS[part]
    missing = missing_mask(frame[column], missing_values)
    out = np.full(len(frame), np.nan)
    for pos, cell in enumerate(frame[column].tolist()):
        if missing[pos]:
            continue
        if isinstance(cell, (datetime, date, pd.Timestamp)):  # a Parquet date column
            out[pos] = float(take(cell))
            continue
        text = str(cell).strip()
        try:
            out[pos] = float(take(datetime.strptime(text, fmt)))
        except ValueError:
            raise DataError(
                f"'{text}' is not a date in the format '{fmt}'",
                file=_file(frame),
                row=row_number(frame, pos),
                column=column,
            ) from None
    return pd.Series(out, index=frame.index)


_FLAG_TRUE, _FLAG_FALSE = {"1", "1.0", "true", "yes"}, {"0", "0.0", "false", "no"}


def _flag_separator(spec: dict) -> str:
    names = spec.get("names") or spec["columns"]
    return next(sep for sep in ("|", ";", "/", "\x1f") if not any(sep in n for n in names))


def _flags(frame: pd.DataFrame, columns: list[str], names: list[str], missing_values, separator: str) -> pd.Series:
    """One multi-valued cell per row: the names of the flag columns that are 1 (a missing flag is not set)."""
    chosen: list[list[str]] = [[] for _ in range(len(frame))]
    for column, name in zip(columns, names):
        missing = missing_mask(frame[column], missing_values)
        for pos, cell in enumerate(frame[column].tolist()):
            if missing[pos]:
                continue
            text = str(cell).strip().lower()
            if text in _FLAG_TRUE:
                chosen[pos].append(name)
            elif text not in _FLAG_FALSE:
                raise DataError(
                    f"'{str(cell).strip()}' where a flag (0 or 1) is expected",
                    file=_file(frame),
                    row=row_number(frame, pos),
                    column=column,
                )
    return pd.Series([separator.join(c) if c else np.nan for c in chosen], index=frame.index, dtype=object)


def _compiled(schema: dict, derived: dict) -> dict:
    """The schema the rest of attnrec reads: each derived feature as the kind it became (numeric, categorical,
    multi), its recipe kept under "derived"."""
    out = dict(schema)
    for side in ("user", "item"):
        features = {}
        for key, spec in schema[f"{side}_features"].items():
            if key in derived[side]:
                kind = {"date": "numeric", "flags": "multi"}.get(spec["kind"], "categorical")
                spec = {
                    "kind": kind,
                    **({"separator": _flag_separator(spec)} if kind == "multi" else {}),
                    "derived": dict(spec),
                }
            features[key] = spec
        out[f"{side}_features"] = features
    return out


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

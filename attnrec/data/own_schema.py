"""The own-data schema: loading it (a dict, a path, JSON bytes) and checking it, first against the JSON Schema
shipped beside this module (`attnrec/data/schema.json`), then the rules a JSON Schema cannot say. The schema's
keys are described in attnrec.data.own's docstring, the JSON Schema and the README. No Streamlit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from attnrec.data.types import DataError

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
NUMBER_PATTERN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


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

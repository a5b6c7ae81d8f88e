"""Derived features of the own-data schema, computed at load into ordinary features: "date" → a number
(year, month or weekday) from a date column; "prefix": N on a categorical → its first N characters; "flags" →
several 0/1 columns as one multi-valued field whose values are the columns set to 1."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from attnrec.data.cells import clean_text, file_of, missing_mask, row_number
from attnrec.data.own_schema import DATE_PARTS, DERIVED_KINDS
from attnrec.data.types import DataError


def is_derived(spec: dict) -> bool:
    return spec.get("kind") in DERIVED_KINDS or "prefix" in spec


def derive(frame: pd.DataFrame, key: str, spec: dict, missing_values: Iterable[str]) -> pd.Series:
    """The derived feature `key` of a schema spec (date part, flags or a prefix) as a column of `frame`."""
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
                file=file_of(frame),
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
                    file=file_of(frame),
                    row=row_number(frame, pos),
                    column=column,
                )
    return pd.Series([separator.join(c) if c else np.nan for c in chosen], index=frame.index, dtype=object)


def compiled_schema(schema: dict, derived: dict) -> dict:
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

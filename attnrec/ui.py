"""The one Streamlit-aware module of attnrec: small widgets the pages share.

Editable number tables: cells are text so anything typed reaches our parser, which names the bad cell;
while a table has a bad cell the caller keeps computing with the last good numbers.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

__all__ = ["EntryError", "parse_number", "parse_number_table", "numbers_to_frame", "number_editor",
           "selected_points"]


class EntryError(ValueError):
    """A table cell that is not a finite number; the message names the table, row and column."""


def parse_number(value, where: str) -> float:
    """One cell to a float, or EntryError saying what is wrong with it and where."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        # The editor hands back NaN/None for a cell the user cleared.
        raise EntryError(f"{where} is empty; enter a number")
    text = str(value).strip()
    if not text:
        raise EntryError(f"{where} is empty; enter a number")
    try:
        number = float(text)
    except ValueError:
        raise EntryError(f"{where}: '{text}' is not a number") from None
    if not math.isfinite(number):
        raise EntryError(f"{where}: '{text}' is not a finite number (NaN and ±inf are not allowed)")
    return number


def parse_number_table(frame: pd.DataFrame, label: str) -> np.ndarray:
    """Every cell of an edited table to float64 (rows × columns); the first bad cell raises EntryError."""
    values = np.empty(frame.shape, dtype=np.float64)
    for r, row_name in enumerate(frame.index):
        for c, column in enumerate(frame.columns):
            values[r, c] = parse_number(frame.iat[r, c], f"{label}, row '{row_name}', column '{column}'")
    return values


def _number_text(value: float) -> str:
    # Shortest text that reads back as the same float ("1" rather than "1.0").
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def numbers_to_frame(values, row_names: Sequence[str], column_names: Sequence[str]) -> pd.DataFrame:
    array = np.asarray(values, dtype=np.float64).reshape(len(row_names), len(column_names))
    return pd.DataFrame([[_number_text(v) for v in row] for row in array],
                        index=list(row_names), columns=list(column_names), dtype="str")


def number_editor(label: str, values, row_names: Sequence[str], column_names: Sequence[str],
                  key: str) -> tuple[np.ndarray, str | None]:
    """An editable table of numbers.

    Returns (numbers, error): the edited numbers when every cell is a finite number; otherwise `values`
    unchanged (the last good state) and the message, which is also shown under the table.
    Pass the last good numbers as `values` each run: with a key and a fixed row count, Streamlit keeps
    the user's edits on top of them, so re-passing already-edited numbers is harmless.
    """
    base = numbers_to_frame(values, row_names, column_names)
    config = {str(c): st.column_config.TextColumn(str(c), width="small") for c in base.columns}
    edited = st.data_editor(base, key=key, num_rows="fixed", column_config=config)
    try:
        return parse_number_table(edited, label), None
    except EntryError as error:
        st.error(f"{error}. Still showing the results for the last valid {label}.")
        return np.asarray(values, dtype=np.float64).reshape(base.shape), str(error)


def selected_points(event) -> list[list]:
    """customdata of the points clicked in a `st.plotly_chart(..., on_select="rerun")` event."""
    if not event:
        return []
    selection = event.get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", {})
    points = selection.get("points", []) if isinstance(selection, dict) else getattr(selection, "points", [])
    return [list(p["customdata"]) for p in points if p.get("customdata") is not None]

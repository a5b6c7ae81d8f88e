"""Typed numbers, parsed: a cell or a comma-separated vector to finite floats, or an error naming where.

No Streamlit here: the app's editable tables (attnrec.app.widgets.number_editor) and its URL vectors use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from attnrec.limits import LIMITS

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

# Typed numbers beyond this are refused: products of two such values and the attention logits stay far
# inside float32 (finite for |x|, |y| up to 1e4 is what attend promises; 1e6 leaves headroom). The limit
# lives in attnrec.limits with the others (the Walkthrough's URL state reads the same one).
MAX_TYPED_MAGNITUDE = LIMITS.typed_magnitude


class EntryError(ValueError):
    """A table cell that is not a finite number; the message names the table, row and column."""


def parse_number(value: object, where: str) -> float:
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
    if abs(number) > MAX_TYPED_MAGNITUDE:
        raise EntryError(f"{where}: '{text}' is too large; keep |value| ≤ {MAX_TYPED_MAGNITUDE:g}")
    return number


def parse_number_table(frame: pd.DataFrame, label: str) -> np.ndarray:
    """Every cell of an edited table to float64 (rows × columns); the first bad cell raises EntryError."""
    values = np.empty(frame.shape, dtype=np.float64)
    for r, row_name in enumerate(frame.index):
        for c, column in enumerate(frame.columns):
            values[r, c] = parse_number(frame.iat[r, c], f"{label}, row '{row_name}', column '{column}'")
    return values


def number_text(value: float) -> str:
    # Shortest text that reads back as the same float ("1" rather than "1.0").
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def numbers_to_frame(values: ArrayLike, row_names: Sequence[str], column_names: Sequence[str]) -> pd.DataFrame:
    array = np.asarray(values, dtype=np.float64).reshape(len(row_names), len(column_names))
    return pd.DataFrame(
        [[number_text(v) for v in row] for row in array],
        index=list(row_names),
        columns=list(column_names),
        dtype="str",
    )


def parse_vector(text: str | None, d: int) -> list[float] | None:
    """ "0.5,1,-2" → [0.5, 1.0, -2.0] when it holds exactly d finite numbers; otherwise None."""
    if text is None:
        return None
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        return None
    if len(values) != d or not all(math.isfinite(v) and abs(v) <= MAX_TYPED_MAGNITUDE for v in values):
        return None
    return values


def vector_text(values: Iterable[float]) -> str:
    return ",".join(number_text(v) for v in values)

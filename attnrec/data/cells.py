"""Cell-level checks shared by the own-data loader and the restaurants loader: missing cells, required
columns, unique and known ids, numbers parsed as text, row numbers as the file counts them. Each problem is a
DataError naming the file, row and column."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from attnrec.data.io import first_data_row
from attnrec.data.own_schema import DEFAULT_MISSING, NUMBER_PATTERN
from attnrec.data.types import DataError
from attnrec.limits import LIMITS


def row_number(frame: pd.DataFrame, position: int) -> int:
    """The spreadsheet row (header = 1) of the table's `position`-th data row."""
    rows = frame.attrs.get("row_numbers")
    return int(rows[position]) if rows is not None and position < len(rows) else position + first_data_row


def file_of(frame: pd.DataFrame) -> str | None:
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
                file=file_of(frame),
                column=column,
            )


def check_unique_ids(frame: pd.DataFrame, column: str, missing_values: Iterable[str] = DEFAULT_MISSING) -> None:
    missing = missing_mask(frame[column], missing_values)
    if missing.any():
        raise DataError(
            "id is missing", file=file_of(frame), row=row_number(frame, int(np.argmax(missing))), column=column
        )
    ids = frame[column].astype(str).str.strip()
    duplicated = ids.duplicated(keep="first").to_numpy()
    if duplicated.any():
        pos = int(np.argmax(duplicated))
        first = int(np.argmax((ids == ids.iloc[pos]).to_numpy()))
        raise DataError(
            f"duplicate id '{ids.iloc[pos]}' (first seen at row {row_number(frame, first)})",
            file=file_of(frame),
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
                    file=file_of(frame),
                    row=row_number(frame, pos),
                    column=column,
                )
            continue
        if isinstance(cell, str):
            text = cell.strip()
            if not NUMBER_PATTERN.match(text):
                kind = "NaN or infinity" if text.lower().lstrip("+-") in ("nan", "inf", "infinity") else "text"
                raise DataError(
                    f"{kind} '{text}' where a finite number is expected",
                    file=file_of(frame),
                    row=row_number(frame, pos),
                    column=column,
                )
            value = float(text)
        elif isinstance(cell, (bool, np.bool_)):
            value = float(cell)
        elif isinstance(cell, (int, float, np.integer, np.floating)):
            value = float(cell)
        else:
            raise DataError(f"'{cell}' is not a number", file=file_of(frame), row=row_number(frame, pos), column=column)
        if not np.isfinite(value):
            raise DataError(
                f"{value} where a finite number is expected (NaN/inf not allowed)",
                file=file_of(frame),
                row=row_number(frame, pos),
                column=column,
            )
        if limit is not None and abs(value) > limit:
            raise DataError(
                f"{value:g} is too large in magnitude (limit {limit:g}); rescale this column",
                file=file_of(frame),
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
            file=file_of(frame),
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

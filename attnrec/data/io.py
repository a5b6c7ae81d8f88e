"""Safe table reading: CSV (strict UTF-8, rectangular) and Parquet (via pyarrow), never pickle.

Every problem becomes a `DataError` naming the file, the row and the column. Rows are counted like a
spreadsheet: the header is row 1, the first data row is row 2 (for Parquet too, so messages read alike).
CSV cells come back as strings exactly as written; deciding what is missing or numeric is the caller's job.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from attnrec.data.types import DataError

__all__ = ["read_table", "first_data_row", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
first_data_row = 2  # spreadsheet numbering: header is row 1


def read_table(source: str | Path | bytes, filename: str | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet table from a path or from bytes (a browser upload) plus its filename.

    The format follows the file name's suffix. CSV values are strings (`dtype=object`); Parquet keeps
    its column types. Raises DataError for empty files, non-UTF-8 bytes, ragged rows, duplicate or
    blank header names, unreadable Parquet.
    """
    if isinstance(source, (bytes, bytearray)):
        if not filename:
            raise DataError("a filename is needed to read uploaded bytes (its suffix picks the format)")
        data, name = bytes(source), filename
    else:
        path = Path(source)
        name = filename or path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DataError("file not found", file=str(path)) from None
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return _read_csv(data, name)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(data, name)
    raise DataError(f"unsupported file type '{suffix or name}'; use .csv or .parquet", file=name)


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    if not data.strip():
        raise DataError("the file is empty", file=name)
    text = _decode_utf8(data, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    header = [h.strip() for h in header]
    _check_header(header, name)
    rows, row_numbers = [], []
    for record in reader:
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # blank lines (often a trailing newline) carry nothing
        if len(record) != len(header):
            raise DataError(f"has {len(record)} fields but the header has {len(header)} "
                            f"(a missing or extra comma, or an unquoted comma inside a value)",
                            file=name, row=reader.line_num)
        rows.append(record)
        row_numbers.append(reader.line_num)
    if not rows:
        raise DataError("has a header but no data rows", file=name)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.attrs["source_file"] = name
    # file line of each row, for error messages; an array because pandas deep-copies attrs often
    frame.attrs["row_numbers"] = np.asarray(row_numbers, dtype=np.int64)
    return frame


def _decode_utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        start = err.start
        line_start = data.rfind(b"\n", 0, start) + 1
        row = data.count(b"\n", 0, start) + 1
        header = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip().split(",")
        field_index = data[line_start:start].count(b",")  # good enough to point at the column
        column = header[field_index].strip() if field_index < len(header) else None
        raise DataError(f"is not valid UTF-8 text (byte 0x{data[start]:02X}); save the file as UTF-8",
                        file=name, row=row, column=column) from None


def _check_header(header: list[str], name: str) -> None:
    for i, column in enumerate(header):
        if not column:
            raise DataError(f"header field {i + 1} is blank; every column needs a name", file=name, row=1)
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise DataError("the header names this column twice", file=name, row=1, column=column)
        seen.add(column)


def _read_parquet(data: bytes, name: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not data:
        raise DataError("the file is empty", file=name)
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"is not a readable Parquet file ({err})", file=name) from None
    frame = table.to_pandas()
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_header(list(frame.columns), name)
    if frame.empty:
        raise DataError("has no data rows", file=name)
    frame.attrs["source_file"] = name
    frame.attrs["row_numbers"] = np.arange(first_data_row, first_data_row + len(frame))
    return frame

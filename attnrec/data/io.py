"""Safe table reading: CSV (strict UTF-8, rectangular) and Parquet (via pyarrow), never pickle.

Every problem becomes a `DataError` naming the file, the row and the column: a parse error of any kind
(csv, UTF-8, pyarrow, overflow) never escapes as its own exception. Rows are counted like a spreadsheet:
the header is row 1, the first data row is row 2 (for Parquet too, so messages read alike).
CSV cells come back as strings exactly as written; deciding what is missing or numeric is the caller's job.

Size limits (attnrec.limits) are checked before memory is spent: a CSV stops at the first row past the
row or cell limit; a Parquet file's row count and uncompressed size are read from its footer before any
data, and its values are measured batch by batch (dictionary-encoded strings are counted expanded, the
"Parquet bomb") before the table is built.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from attnrec.data.types import DataError
from attnrec.limits import LIMITS, Limits, mb

if TYPE_CHECKING:  # pyarrow is imported where it is used (it costs the app's cold start otherwise)
    import pyarrow as pa

__all__ = ["read_table", "read_parquet_arrow", "first_data_row", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
ENCODINGS = ("utf-8", "latin-1")
first_data_row = 2  # spreadsheet numbering: header is row 1


def read_table(
    source: str | Path | bytes,
    filename: str | None = None,
    limits: Limits = LIMITS,
    *,
    format: str | None = None,
    separator: str | None = None,
    columns: list[str] | None = None,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Read a CSV/TSV or Parquet table from a path or from bytes (a browser upload) plus its filename.

    The format follows the file name's suffix (.csv comma, .tsv tab, .parquet/.pq), or `format`
    ("csv" | "tsv" | "parquet") for any other name (e.g. MovieLens' u.data). Text options: `separator` (one
    character), `columns` (the file has no header row: these are its column names; rows then count from 1),
    `encoding` ("utf-8" or "latin-1"). CSV values are strings (`dtype=object`); Parquet keeps its column
    types. Raises DataError for empty files, undecodable bytes, ragged rows, duplicate or blank header
    names, unreadable Parquet.
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
        except OSError as err:  # a folder, no permission, an I/O error
            raise DataError(f"cannot be read ({err.strerror or err})", file=str(path)) from None
    suffix = Path(name).suffix.lower()
    kind = format or {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix)
    if kind is None and separator is not None:
        kind = "csv"
    if kind in ("csv", "tsv"):
        if encoding not in ENCODINGS:
            raise DataError(f"unsupported encoding '{encoding}'; use one of {list(ENCODINGS)}", file=name)
        delimiter = separator or ("\t" if kind == "tsv" else ",")
        if len(delimiter) != 1 or delimiter in '\r\n"':
            raise DataError(
                f"the separator must be one character other than a quote or a line break, got {delimiter!r}", file=name
            )
        return _read_csv(data, name, limits, delimiter=delimiter, columns=columns, encoding=encoding)
    if kind == "parquet":
        return _read_parquet(data, name, limits)
    raise DataError(f"unsupported file type '{suffix or name}'; use .csv, .tsv or .parquet", file=name)


def _read_csv(
    data: bytes,
    name: str,
    limits: Limits = LIMITS,
    delimiter: str = ",",
    columns: list[str] | None = None,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    if not data.strip():
        raise DataError("the file is empty", file=name)
    text = _decode_utf8(data, name, delimiter) if encoding == "utf-8" else data.decode(encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [str(h).strip() for h in columns] if columns is not None else [h.strip() for h in next(reader)]
        _check_header(header, name)
        _check_width(len(header), name, limits)
        max_rows = min(limits.table_rows, limits.table_cells // max(len(header), 1))
        rows: list[list[str]] = []
        row_numbers: list[int] = []
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank lines (often a trailing newline) carry nothing
            if len(record) != len(header):
                what = "comma" if delimiter == "," else f"separator {delimiter!r}"
                raise DataError(
                    f"has {len(record)} fields but the header has {len(header)} "
                    f"(a missing or extra {what}, or an unquoted {what} inside a value)",
                    file=name,
                    row=reader.line_num,
                )
            if len(rows) >= max_rows:
                raise DataError(
                    _too_many_rows(f"more than {len(rows):,}", len(header), limits), file=name, row=reader.line_num
                )
            rows.append(record)
            row_numbers.append(reader.line_num)
    except csv.Error as err:
        # The reader stops on the record it could not parse; line_num counts the lines read so far.
        if "field larger than field limit" in str(err):
            problem = (
                f"a cell is longer than {csv.field_size_limit():,} characters (an unclosed quote, or a "
                f"value too long for a table cell)"
            )
        else:
            problem = f"cannot be read as CSV ({err})"
        raise DataError(problem, file=name, row=max(reader.line_num, 1)) from None
    if not rows:
        raise DataError("has a header but no data rows" if columns is None else "has no data rows", file=name)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.attrs["source_file"] = name
    # file line of each row, for error messages; an array because pandas deep-copies attrs often
    frame.attrs["row_numbers"] = np.asarray(row_numbers, dtype=np.int64)
    return frame


def _too_many_rows(count: str, columns: int, limits: Limits) -> str:
    cap = min(limits.table_rows, limits.table_cells // max(columns, 1))
    return (
        f"has {count} data rows; the limit is {cap:,} rows for a table of {columns} column(s) "
        f"(at most {limits.table_rows:,} rows and {limits.table_cells:,} cells)"
    )


def _check_width(columns: int, name: str, limits: Limits) -> None:
    if columns > limits.table_columns:
        raise DataError(f"has {columns:,} columns, over the limit of {limits.table_columns:,}", file=name, row=1)


def _decode_utf8(data: bytes, name: str, delimiter: str = ",") -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        start = err.start
        line_start = data.rfind(b"\n", 0, start) + 1
        row = data.count(b"\n", 0, start) + 1
        header = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip().split(delimiter)
        field_index = data[line_start:start].count(delimiter.encode())  # good enough to point at the column
        column = header[field_index].strip() if field_index < len(header) else None
        raise DataError(
            f"is not valid UTF-8 text (byte 0x{data[start]:02X}); save the file as UTF-8",
            file=name,
            row=row,
            column=column,
        ) from None


def _check_header(header: list[str], name: str) -> None:
    for i, column in enumerate(header):
        if not column:
            raise DataError(f"header field {i + 1} is blank; every column needs a name", file=name, row=1)
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise DataError("the header names this column twice", file=name, row=1, column=column)
        seen.add(column)


def _read_parquet(data: bytes, name: str, limits: Limits = LIMITS) -> pd.DataFrame:
    import pyarrow as pa

    table = read_parquet_arrow(data, name, limits)
    try:
        frame = table.to_pandas()
    except (pa.ArrowException, OverflowError, ValueError, TypeError) as err:
        # e.g. a timestamp outside what pandas can hold
        raise DataError(f"has values that cannot be converted to a table ({_first_line(err)})", file=name) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_header(list(frame.columns), name)
    if frame.empty:
        raise DataError("has no data rows", file=name)
    frame.attrs["source_file"] = name
    frame.attrs["row_numbers"] = np.arange(first_data_row, first_data_row + len(frame))
    return frame


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def read_parquet_arrow(source: bytes | str | Path, name: str, limits: Limits = LIMITS) -> pa.Table:
    """A Parquet file (bytes or a path) as a pyarrow Table, refused with a DataError when it is not
    Parquet or when it would take more than `limits` allow.

    Before any data is read, the footer's row count, column count and uncompressed size are checked.
    The data is then read in batches with text columns kept dictionary-encoded, and each batch's
    decoded size is added up (a short dictionary repeated over millions of rows is counted at its full,
    expanded size) so a small file that would expand to gigabytes is refused after one batch.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise DataError("the file is empty", file=name)
        data = bytes(source)

        def opened():
            return pa.BufferReader(data)
    else:

        def opened():
            return str(source)

    try:
        footer = pq.ParquetFile(opened())
        metadata = footer.metadata
        rows, columns = metadata.num_rows, metadata.num_columns
        _check_width(columns, name, limits)
        if rows > min(limits.table_rows, limits.table_cells // max(columns, 1)):
            raise DataError(_too_many_rows(f"{rows:,}", columns, limits) + " (from the file's metadata)", file=name)
        stored = sum(max(metadata.row_group(g).total_byte_size, 0) for g in range(metadata.num_row_groups))
        if stored > limits.parquet_bytes:
            raise DataError(
                f"holds {mb(stored)} of data once uncompressed, over the {mb(limits.parquet_bytes)} "
                f"limit (from the file's metadata)",
                file=name,
            )
        text = [f.name for f in footer.schema_arrow if _is_text(f.type)]
        reader = pq.ParquetFile(opened(), read_dictionary=text)
        batches: list[pa.RecordBatch] = []
        decoded = 0
        for batch in reader.iter_batches(batch_size=16_384):
            decoded += _decoded_bytes(batch)
            if decoded > limits.parquet_decoded_bytes:
                raise DataError(
                    f"expands to more than {mb(limits.parquet_decoded_bytes)} once its values are "
                    f"decoded ({len(batches) * 16_384 + batch.num_rows:,} of {rows:,} rows read); "
                    f"refused before reading the rest",
                    file=name,
                )
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=reader.schema_arrow if not batches else batches[0].schema)
        return pa.table([_undictionary(c) for c in table.columns], names=table.column_names)
    except DataError:
        raise
    except (pa.ArrowException, OSError, ValueError, TypeError, OverflowError, IndexError, KeyError) as err:
        raise DataError(f"is not a readable Parquet file ({_first_line(err)})", file=name) from None


def _is_text(kind) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def _decoded_bytes(batch) -> int:
    """What `batch` takes once dictionaries are expanded and strings become Python objects (~56 bytes each)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            lengths = pc.binary_length(column.dictionary.cast(pa.large_binary()))
            total += int(pc.sum(pc.take(lengths, column.indices)).as_py() or 0) + 56 * len(column)
        elif _is_text(column.type):
            total += column.nbytes + 56 * len(column)
        else:
            total += column.nbytes
    return total


def _undictionary(column):
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column

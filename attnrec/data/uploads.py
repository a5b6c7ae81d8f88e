"""Untrusted uploads in, plain bytes out: size limits, a defended zip reader, tables and JSON from uploads.

Nothing here trusts a file's name or its own description of itself: a zip's declared sizes are
checked, then the bytes actually inflated are counted while reading (a bomb can lie in its header);
entry names may not leave the archive (`../`, absolute paths, drive letters). Every refusal is a
`DataError` naming the file. No Streamlit here. Elsewhere: checkpoint sniffing (attnrec.checkpoint_sniff),
the column mapping → schema (attnrec.data.mapping), the Data page's upload state (attnrec.data.upload_state).
"""

from __future__ import annotations

import json
import posixpath
import stat
import zipfile
from io import BytesIO
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from attnrec.data.types import DataError
from attnrec.limits import LIMITS, Limits, mb

if TYPE_CHECKING:  # pandas is imported where it is used (the app's cold start)
    import pandas as pd

__all__ = [
    "UploadLimits",
    "LIMITS",
    "check_size",
    "read_zip",
    "split_tables",
    "read_uploaded_table",
    "read_uploaded_zip",
    "role_of",
    "parse_json_upload",
    "TABLE_ROLES",
]

TABLE_ROLES = ("users", "items", "interactions")
_TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
_ROLE_WORDS = {  # file-name words that say which table a file is (first match wins, in this order)
    "interactions": ("interaction", "rating", "ratings", "review", "click", "event", "feedback"),
    "users": ("user", "users", "customer", "consumer", "member"),
    "items": ("item", "items", "product", "place", "restaurant", "movie", "catalog"),
}


# The limits live in attnrec.limits; `UploadLimits` / `LIMITS` stay importable from here.
UploadLimits = Limits


def _mb(n: int) -> str:
    return mb(n)


def check_size(data: bytes, filename: str, limit: int | None = None) -> None:
    """Refuse an empty upload or one over `limit` bytes (default: LIMITS.file_bytes)."""
    limit = LIMITS.file_bytes if limit is None else limit
    if len(data) == 0:
        raise DataError("the file is empty", file=filename)
    if len(data) > limit:
        raise DataError(f"is {_mb(len(data))}, over the {_mb(limit)} limit per file", file=filename)


def _safe_member_name(name: str, archive: str) -> str:
    """The entry's path if it stays inside the archive; a DataError for traversal tricks."""
    if "\x00" in name:
        raise DataError(f"entry name {name!r} contains a NUL byte", file=archive)
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise DataError(f"entry '{name}' has an absolute path; zip entries must be relative", file=archive)
    parts = PurePosixPath(unified).parts
    if ".." in parts:
        raise DataError(f"entry '{name}' points outside the archive ('..' in its path)", file=archive)
    return posixpath.normpath(unified)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def read_zip(data: bytes, filename: str, limits: UploadLimits = LIMITS) -> dict[str, bytes]:
    """The files inside an uploaded zip, by base name, after every defence has passed.

    Folders and macOS metadata (`__MACOSX/`, `._*`, `.DS_Store`) are skipped. Refused: not a zip,
    encrypted entries, symlinks, names with `..` or absolute paths, more than `zip_entries` files,
    declared or actual inflated size over the limits, a compression ratio over `zip_ratio`, two
    entries with the same base name.
    """
    check_size(data, filename, limits.file_bytes)
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as err:
        raise DataError(f"is not a readable zip archive ({err})", file=filename) from None
    with archive:
        infos = []
        for info in archive.infolist():
            path = _safe_member_name(info.filename, filename)
            base = posixpath.basename(path)
            if info.is_dir() or path.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store":
                continue
            if _is_symlink(info):
                raise DataError(
                    f"entry '{info.filename}' is a symbolic link; only plain files are accepted", file=filename
                )
            if info.flag_bits & 0x1:
                raise DataError(f"entry '{info.filename}' is encrypted; upload an unencrypted zip", file=filename)
            infos.append((info, base))
        if not infos:
            raise DataError("the zip holds no files", file=filename)
        if len(infos) > limits.zip_entries:
            raise DataError(
                f"the zip holds {len(infos)} files, more than the {limits.zip_entries} allowed", file=filename
            )
        declared = sum(info.file_size for info, _ in infos)
        if declared > limits.zip_total_bytes:
            raise DataError(
                f"the zip would inflate to {_mb(declared)}, over the {_mb(limits.zip_total_bytes)} limit (a zip bomb?)",
                file=filename,
            )
        files: dict[str, bytes] = {}
        total = 0
        for info, base in infos:
            if base in files:
                raise DataError(f"two entries are named '{base}'; keep one per name", file=filename)
            if info.file_size > limits.zip_entry_bytes:
                raise DataError(
                    f"entry '{info.filename}' would inflate to {_mb(info.file_size)}, over the "
                    f"{_mb(limits.zip_entry_bytes)} limit per file (a zip bomb?)",
                    file=filename,
                )
            _check_ratio(info.filename, info.file_size, info.compress_size, limits, filename)
            content = _read_member(archive, info, limits, filename)
            total += len(content)
            if total > limits.zip_total_bytes:  # the headers lied about the sizes
                raise DataError(f"the zip inflates past {_mb(limits.zip_total_bytes)} (a zip bomb?)", file=filename)
            files[base] = content
    return files


def _check_ratio(entry: str, inflated: int, compressed: int, limits: UploadLimits, archive: str) -> None:
    # Tiny entries compress oddly (a 1 kB run of commas may shrink 200×); only ratios that matter count.
    if inflated > 1024 * 1024 and inflated > limits.zip_ratio * max(compressed, 1):
        raise DataError(
            f"entry '{entry}' inflates {inflated / max(compressed, 1):.0f}× (limit "
            f"{limits.zip_ratio:.0f}×): refused as a likely zip bomb",
            file=archive,
        )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: UploadLimits, filename: str) -> bytes:
    """Inflate one entry in chunks, stopping as soon as it exceeds what its header declared."""
    cap = min(info.file_size, limits.zip_entry_bytes)
    chunks, size = [], 0
    try:
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(1024 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    raise DataError(
                        f"entry '{info.filename}' inflates past its declared size {info.file_size} bytes (a zip bomb?)",
                        file=filename,
                    )
                _check_ratio(info.filename, size, info.compress_size, limits, filename)
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as err:
        raise DataError(f"entry '{info.filename}' cannot be read ({err})", file=filename) from None
    return b"".join(chunks)


def role_of(filename: str) -> str | None:
    """Which table a file name suggests: 'users', 'items', 'interactions', or None."""
    stem = PurePosixPath(filename).stem.lower().replace("-", "_").replace(" ", "_")
    for role, words in _ROLE_WORDS.items():
        if any(word in stem for word in words):
            return role
    return None


def split_tables(files: dict[str, bytes], archive: str) -> dict[str, tuple[str, bytes]]:
    """Assign a zip's table files to users / items / interactions by their names.

    Returns role → (file name, bytes). Refuses a zip with no tables, with two files for one role, or
    missing one of the three roles (the message lists what it found).
    """
    tables = {name: data for name, data in files.items() if name.lower().endswith(_TABLE_SUFFIXES)}
    if not tables:
        raise DataError(f"the zip holds no .csv or .parquet files (found: {', '.join(sorted(files))})", file=archive)
    found: dict[str, tuple[str, bytes]] = {}
    for name, data in sorted(tables.items()):
        role = role_of(name)
        if role is None:
            continue
        if role in found:
            raise DataError(f"both '{found[role][0]}' and '{name}' look like the {role} table; keep one", file=archive)
        found[role] = (name, data)
    missing = [r for r in TABLE_ROLES if r not in found]
    if missing:
        raise DataError(
            f"no {' or '.join(missing)} table found; name the files users.csv, items.csv and "
            f"interactions.csv (found: {', '.join(sorted(tables))})",
            file=archive,
        )
    return found


def parse_json_upload(data: bytes, filename: str, limit: int = 5 * 1024 * 1024) -> dict:
    """A JSON object from an upload (config.json, schema.json), with a clear error if it is not one."""
    check_size(data, filename, limit)
    try:
        blob = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError("is not UTF-8 text", file=filename) from None
    except json.JSONDecodeError as err:
        raise DataError(
            f"is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})", file=filename
        ) from None
    except RecursionError:
        raise DataError("nests too deeply to be a config", file=filename) from None
    if not isinstance(blob, dict):
        raise DataError(f"must hold a JSON object, not a {type(blob).__name__}", file=filename)
    return blob


# ---- tables from uploads ------------------------------------------------------------------------


def read_uploaded_table(filename: str, data: bytes, limits: UploadLimits = LIMITS) -> pd.DataFrame:
    """One uploaded CSV / Parquet file as a DataFrame (size-checked, read by the data layer's reader)."""
    from attnrec.data.io import read_table

    check_size(data, filename, limits.file_bytes)
    if not filename.lower().endswith(_TABLE_SUFFIXES):
        raise DataError("is not a .csv or .parquet file", file=filename)
    return read_table(data, filename)


def read_uploaded_zip(filename: str, data: bytes, limits: UploadLimits = LIMITS) -> dict:
    """A zip holding users / items / interactions tables → role → DataFrame (file names say the role)."""
    found = split_tables(read_zip(data, filename, limits), filename)
    return {role: read_uploaded_table(name, content, limits) for role, (name, content) in found.items()}


# The magnitude rule lives in attnrec.limits and is applied by the data layer's parse_numeric.
MAX_MAGNITUDE = LIMITS.magnitude

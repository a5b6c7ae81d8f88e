"""Untrusted uploads in, plain bytes out: size limits, a defended zip reader, checkpoint sniffing.

Nothing here trusts a file's name or its own description of itself: a zip's declared sizes are
checked, then the bytes actually inflated are counted while reading (a bomb can lie in its header);
entry names may not leave the archive (`../`, absolute paths, drive letters); a "checkpoint" must
really be safetensors — pickles and torch.save archives are recognised by their magic bytes and
refused, never opened. Every refusal is a `DataError` naming the file. No Streamlit here.
"""

from __future__ import annotations

import json
import posixpath
import stat
import struct
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from attnrec.data.types import DataError, Dataset
from attnrec.limits import LIMITS, Limits, mb

if TYPE_CHECKING:  # pandas is imported where it is used (the app's cold start)
    import pandas as pd

__all__ = [
    "UploadLimits",
    "LIMITS",
    "UploadState",
    "check_size",
    "read_zip",
    "split_tables",
    "sniff_safetensors",
    "read_uploaded_table",
    "read_uploaded_zip",
    "dataset_from_mapping",
    "build_schema",
    "suggest_roles",
    "suggest_id_column",
    "suggest_name_column",
    "suggest_threshold",
    "positive_share",
    "suggest_timestamp",
    "role_of",
    "FEATURE_ROLES",
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


# ---- checkpoints -------------------------------------------------------------------------------

_PICKLE_PROTOCOL_BYTE = b"\x80"  # pickle protocols 2-5 start with 0x80 <protocol>
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default format is a zip holding a pickle
_SAFETENSORS_DTYPES = {
    "F64",
    "F32",
    "F16",
    "BF16",
    "I64",
    "I32",
    "I16",
    "I8",
    "U8",
    "BOOL",
    "F8_E4M3",
    "F8_E5M2",
    "U16",
    "U32",
    "U64",
}


def sniff_safetensors(data: bytes, filename: str) -> dict:
    """Check that `data` is a well-formed safetensors file without loading any tensor.

    Returns the header (tensor name → {dtype, shape, data_offsets}). A pickle, a torch.save zip, or
    anything else is refused with a message saying what it looks like. The format: 8 bytes little-endian
    header length N, N bytes of JSON, then the raw tensor bytes the offsets point into.
    """
    check_size(data, filename)
    # Structure first: a safetensors header length's low byte may itself be 0x80, so magic bytes alone
    # cannot condemn a file; they only name what a file that fails the structure check looks like.
    problem = None
    header = None
    if len(data) < 8:
        problem = "is too short to be a safetensors file"
    else:
        (header_length,) = struct.unpack("<Q", data[:8])
        if header_length < 2 or 8 + header_length > len(data):
            problem = "is not a safetensors file (its header length does not fit the file)"
        else:
            try:
                header = json.loads(data[8 : 8 + header_length].decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                problem = "is not a safetensors file (its header is not JSON)"
            else:
                if not isinstance(header, dict):
                    problem = "is not a safetensors file (its header is not a JSON object)"
    if problem:
        if data[:1] == _PICKLE_PROTOCOL_BYTE or data[:4] == _ZIP_MAGIC or data[:1] == b"(":
            problem = (
                "looks like a pickle / torch.save file; attnrec never opens those because unpickling "
                "can run code. Save the weights with safetensors (Recommender.save does)"
            )
        raise DataError(problem, file=filename)
    assert isinstance(header, dict)  # no problem found means the header parsed as a JSON object
    body = len(data) - 8 - header_length
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if (
            not isinstance(entry, dict)
            or entry.get("dtype") not in _SAFETENSORS_DTYPES
            or not isinstance(entry.get("shape"), list)
            or not isinstance(entry.get("data_offsets"), list)
            or len(entry["data_offsets"]) != 2
        ):
            raise DataError(f"tensor '{name}' has a malformed safetensors header entry", file=filename)
        start, stop = entry["data_offsets"]
        if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start <= stop <= body):
            raise DataError(f"tensor '{name}' points outside the file's data", file=filename)
    return header


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


# ---- the column mapping → schema JSON -----------------------------------------------------------

ROLE_IGNORE, ROLE_CATEGORICAL, ROLE_NUMERIC, ROLE_MULTI = "ignore", "categorical", "numeric", "multi"
ROLE_HIDE = "hide"  # not a feature, and dropped from the kept tables (never shown: e.g. a hex geometry column)
FEATURE_ROLES = (ROLE_IGNORE, ROLE_CATEGORICAL, ROLE_NUMERIC, ROLE_MULTI, ROLE_HIDE)


def build_schema(
    *,
    user_id: str,
    item_id: str,
    label_column: str | None = None,
    label_threshold: float | None = None,
    user_roles: dict[str, str] | None = None,
    item_roles: dict[str, str] | None = None,
    separators: dict[str, str] | None = None,
    aligned_pairs: list[dict] | None = None,
    timestamp: str | None = None,
    missing_values: list[str] | None = None,
    name: str | None = None,
    item_name: str | None = None,
) -> dict:
    """The schema JSON (the CLI's format, `attnrec.data.own`) from what the Data page's widgets say.

    `user_roles` / `item_roles` map column → one of FEATURE_ROLES; `separators` maps "user:col" or
    "item:col" → separator for multi-valued columns; `aligned_pairs` is a list of {"user", "item",
    "name"?, "kind"?}. The result is validated by the data layer, so the page and the CLI agree.
    """
    from attnrec.data.own import validate_schema

    separators = separators or {}
    schema: dict = {"user_id": user_id, "item_id": item_id}
    if name:
        schema["name"] = name
    if label_column:
        schema["label"] = {
            "column": label_column,
            "threshold": 1 if label_threshold is None else _number(label_threshold),
        }
    if timestamp:
        schema["timestamp"] = timestamp
    if item_name:
        if (item_roles or {}).get(item_name) == ROLE_HIDE:
            raise DataError(f"item column '{item_name}' names the items, so it cannot be hidden", column=item_name)
        schema["item_name"] = item_name
    for side, roles, id_column in (("user", user_roles, user_id), ("item", item_roles, item_id)):
        features = {}
        for column, role in (roles or {}).items():
            if role not in FEATURE_ROLES:
                raise DataError(
                    f"{side} column '{column}': unknown role '{role}'; use one of {FEATURE_ROLES}", column=column
                )
            if role in (ROLE_IGNORE, ROLE_HIDE) or column == id_column:
                continue
            spec = {"kind": role}
            if role == ROLE_MULTI:
                separator = separators.get(f"{side}:{column}", ";")
                if not separator:
                    raise DataError(f"{side} column '{column}' is multi-valued but has no separator", column=column)
                spec["separator"] = separator
            features[column] = spec
        schema[f"{side}_features"] = features
    schema["aligned_pairs"] = [{k: v for k, v in pair.items() if v not in (None, "")} for pair in (aligned_pairs or [])]
    if missing_values is not None:
        schema["missing_values"] = list(missing_values)
    return validate_schema(schema, "the column mapping")


def _number(value) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number


def suggest_name_column(frame: pd.DataFrame, id_column: str | None = None) -> str | None:
    """A column that names the rows (title, name, label…), for display beside the ids; None when none looks so."""
    for word in ("name", "title", "label"):
        for column in frame.columns:
            if column != id_column and word in str(column).lower():
                return column
    return None


def suggest_roles(frame: pd.DataFrame, id_column: str | None = None, max_categories: int = 40) -> dict[str, str]:
    """A first guess at each column's role: numbers → numeric, few distinct values → categorical,
    cells holding ';' lists → multi, free text (names, addresses, URLs) → ignore. The user can change it."""
    from attnrec.data.own import DEFAULT_MISSING, missing_mask

    roles = {}
    for column in frame.columns:
        if column == id_column:
            continue
        present = frame[column][~missing_mask(frame[column], DEFAULT_MISSING)]
        texts = present.astype(str).str.strip()
        if texts.empty:
            roles[column] = ROLE_IGNORE
        elif _looks_numeric(texts) and texts.nunique() > 2:
            roles[column] = ROLE_NUMERIC
        elif texts.str.contains(";", regex=False).mean() > 0.2:
            roles[column] = ROLE_MULTI
        elif texts.nunique() <= max_categories:
            roles[column] = ROLE_CATEGORICAL
        else:
            roles[column] = ROLE_IGNORE
    return roles


def _looks_numeric(texts) -> bool:
    # Every cell a number. NaN/inf spelled out count as number-like, so a numeric column with an export
    # artefact stays numeric and validation names the bad cell. One word among numbers (a zip code
    # "78000S") means codes, not quantities: the suggestion is then categorical, which always loads.
    number_like = texts.str.fullmatch(r"[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|nan|inf|infinity)", case=False)
    return bool(number_like.all())


def suggest_id_column(frame: pd.DataFrame, hint: str = "") -> str:
    """The likeliest id column: its name says so ('id', plus the hint), then unique values, then leftmost.

    The name comes first on purpose: a user id column with a duplicate must stay the suggestion, so
    validation reports the duplicate instead of the mapping silently picking some other unique column.
    """

    def score(column: str) -> tuple:
        values = frame[column].astype(str).str.strip()
        unique = values.is_unique and (values != "").all()
        lowered = column.lower()
        named = "id" in lowered
        return (named and bool(hint) and hint in lowered, named, unique, -list(frame.columns).index(column))

    return max(frame.columns, key=score)


def suggest_threshold(values: Iterable) -> float | int:
    """Label threshold default: 1 for 0/1 labels; on a rating scale of 4 or more steps the upper quarter, the
    field's usual convention (1–5 stars → 4, half stars 0.5–5 → 4, 1–10 → 8, 0–100 → 75); on a shorter
    scale its midpoint, rounded up (0–2 → 1)."""
    import math

    import numpy as np
    import pandas as pd

    numbers = pd.to_numeric(pd.Series(list(values)), errors="coerce").dropna()
    # Only values the data layer accepts: "inf", "nan" or 1e308 make no midpoint (validation names them).
    numbers = numbers[np.isfinite(numbers) & (numbers.abs() <= LIMITS.magnitude)]
    if numbers.empty:
        return 1
    low, high = float(numbers.min()), float(numbers.max())
    if set(numbers.unique()) <= {0.0, 1.0}:
        return 1
    if high <= low:
        return _number(high)
    if high - low >= 3:
        return _number(math.ceil(low + 0.75 * (high - low)))
    return _number(math.ceil((low + high) / 2))


def positive_share(values: Iterable, threshold: float) -> tuple[float, int, int]:
    """(share of numeric values ≥ threshold, how many are numeric, how many are not) — what a threshold
    makes of a rating column before anything is validated (the Data page shows the share)."""
    import numpy as np
    import pandas as pd

    numbers = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce")
    finite = numbers[np.isfinite(numbers.astype(float))]
    share = float((finite >= float(threshold)).mean()) if len(finite) else float("nan")
    return share, int(len(finite)), int(len(numbers) - len(finite))


TIME_WORDS = ("timestamp", "time", "date", "datetime", "ts", "when", "created", "rated_at")


def suggest_timestamp(frame: pd.DataFrame, exclude: Collection[str] = ()) -> str | None:
    """The interactions column that looks like a time: named like one (timestamp, time, date, ts, …), else
    None (the Data page then offers "none": the hold-out is random)."""
    candidates = [c for c in frame.columns if c not in exclude]
    for word in TIME_WORDS:
        for column in candidates:
            lowered = str(column).strip().lower()
            if lowered == word or lowered.endswith(("_" + word, " " + word)) or lowered.startswith(word + "_"):
                return column
    return None


# ---- what the Data page remembers between reruns -------------------------------------------------


@dataclass
class UploadState:
    """The Data page's uploaded tables. A failed upload records its message and keeps the last good table.

    `fingerprints` stops a rerun from re-reading a file the uploader still holds; `errors` maps a
    role (or "zip") to the message of its last failed upload, cleared when that slot succeeds.
    """

    tables: dict = field(default_factory=dict)  # role → DataFrame
    sources: dict = field(default_factory=dict)  # role → file name it came from
    fingerprints: dict = field(default_factory=dict)  # slot → fingerprint of the last file handled
    errors: dict = field(default_factory=dict)  # slot → message

    @property
    def complete(self) -> bool:
        return all(role in self.tables for role in TABLE_ROLES)

    def accept_table(self, role: str, filename: str, data: bytes, fingerprint: object = None) -> bool:
        """Read one table upload into `role`; on failure record the message and keep what was there.

        The upload counts as handled (its fingerprint recorded) only once reading has finished, with
        its table or its error stored alongside: no outcome leaves the slot looking accepted."""
        if role not in TABLE_ROLES:
            raise ValueError(f"role must be one of {TABLE_ROLES}, got {role!r}")
        fingerprint = fingerprint if fingerprint is not None else (filename, len(data), hash(data))
        if self.fingerprints.get(role) == fingerprint:
            return role not in self.errors
        try:
            table = read_uploaded_table(filename, data)
        except DataError as err:
            self.errors[role], self.fingerprints[role] = str(err), fingerprint
            return False
        self.tables[role], self.sources[role], self.fingerprints[role] = table, filename, fingerprint
        self.errors.pop(role, None)
        self.errors.pop("zip", None)  # a failed zip is superseded by tables uploaded one by one
        return True

    def accept_zip(self, filename: str, data: bytes, fingerprint: object = None) -> bool:
        """Read a zip of the three tables; all three are replaced only if every one reads cleanly."""
        fingerprint = fingerprint if fingerprint is not None else (filename, len(data), hash(data))
        if self.fingerprints.get("zip") == fingerprint:
            return "zip" not in self.errors
        try:
            found = split_tables(read_zip(data, filename), filename)
            tables = {role: read_uploaded_table(name, content) for role, (name, content) in found.items()}
        except DataError as err:
            self.errors["zip"], self.fingerprints["zip"] = str(err), fingerprint
            return False
        self.tables.update(tables)
        self.sources.update({role: f"{filename}/{name}" for role, (name, _) in found.items()})
        self.fingerprints["zip"] = fingerprint
        for slot in ("zip", *TABLE_ROLES):
            self.errors.pop(slot, None)
        return True

    def withdraw(self, slot: str) -> None:
        """The uploader of `slot` was emptied: forget its failed file (a kept table stays)."""
        if slot in self.errors:
            self.errors.pop(slot)
            self.fingerprints.pop(slot, None)

    def ready_tables(self) -> dict:
        """The three tables to validate, or a DataError naming the slot while any upload slot is in error
        (a dataset must never be built from the other slots plus an older table)."""
        if self.errors:
            slot = next(iter(self.errors))
            what = "the zip" if slot == "zip" else f"the {slot} upload"
            raise DataError(
                f"{what} failed ({self.errors[slot]}); upload a readable file there, or remove it, "
                f"before keeping a dataset"
            )
        return dict(self.tables)


def dataset_from_mapping(tables: dict, mapping: dict, name: str, source: str = "upload") -> tuple[Dataset, dict]:
    """Validate the uploaded tables under a column mapping → (Dataset, schema). DataError if anything is off.

    `mapping` holds build_schema's keywords plus, optionally, "interaction_user" / "interaction_item":
    the interactions table's id columns when they are named differently from the users/items id columns
    (they are renamed to match, since the schema names each id once).
    """
    from attnrec.data.own import load_own_dataset

    missing = [role for role in TABLE_ROLES if role not in tables]
    if missing:
        raise DataError(f"upload the {' and '.join(missing)} table(s) first")
    if not str(name).strip():
        raise DataError("give the dataset a name")
    keywords = {k: v for k, v in mapping.items() if k not in ("interaction_user", "interaction_item")}
    schema = build_schema(**keywords)
    interactions = tables["interactions"]
    renames = {mapping.get("interaction_user"): schema["user_id"], mapping.get("interaction_item"): schema["item_id"]}
    renames = {old: new for old, new in renames.items() if old and old != new}
    if renames:
        clash = [new for new in renames.values() if new in interactions.columns and new not in renames]
        if clash:
            raise DataError(
                f"the interactions table already has a column '{clash[0]}'; map it as the id column or rename it",
                file=interactions.attrs.get("source_file"),
                column=clash[0],
            )
        attrs = dict(interactions.attrs)
        interactions = interactions.rename(columns=renames)
        interactions.attrs.update(attrs)
    # Hidden columns leave the kept tables (the schema never names them as features).
    users, items = (
        tables[role].drop(
            columns=[
                c
                for c, r in (mapping.get(f"{side}_roles") or {}).items()
                if r == ROLE_HIDE and c in tables[role].columns
            ]
        )
        for role, side in (("users", "user"), ("items", "item"))
    )
    for frame, role in ((users, "users"), (items, "items")):
        frame.attrs.update(tables[role].attrs)
    dataset = load_own_dataset(users, items, interactions, schema, name=str(name).strip(), source=source)
    if schema.get("aligned_pairs"):
        from attnrec.data.featurize import compile_aligned_pairs

        compile_aligned_pairs(dataset)  # a pair that shares no value is refused now, not later at Train
    return dataset, schema

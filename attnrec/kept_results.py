"""Model health's slow sections (the report card over a sample, attention vs attributions, the sanity checks),
kept on disk per model fingerprint and settings, so a restarted server or a new session shows them at once.

Like `attnrec.quality_store` (whose cache folder and fingerprint this uses), a result depends only on the model's
weights and configuration, its data and the settings, so it is stored as JSON under
`cache_dir()/kept/<kind>-<fingerprint>-<settings hash>.json`: the section's tables (pandas frames, written as
columns, index and values with their dtypes, so they come back equal) and its plain values (text, numbers).
JSON only: nothing read back is ever unpickled. A file that cannot be read, is of another format, model or
settings, or was written by other code (a changed attnrec: `code_version`) counts as absent, and a folder that
cannot be written keeps nothing (the page still shows what it computed).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import pandas as pd

from attnrec.quality_store import cache_dir, write_json

__all__ = ["FORMAT", "code_version", "keep", "kept", "path_for"]

FORMAT = 1
PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of attnrec's computing code (every module outside the app layer): a result kept by other code, such
    as an earlier version's report card, is not shown as this one's."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] != "app":
            digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _settings_text(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True, default=str)


def path_for(kind: str, model_print: str, settings: dict) -> Path:
    digest = hashlib.sha256(_settings_text(settings).encode()).hexdigest()[:16]
    return cache_dir() / "kept" / f"{kind}-{model_print}-{digest}.json"


def _frame_entry(frame: pd.DataFrame) -> dict:
    split = frame.to_dict(orient="split")
    index = frame.index
    return {
        "columns": [str(c) for c in split["columns"]],
        "index": split["index"],
        # A default index (0, 1, …; most frames here) comes back as one, also when the frame is empty.
        "range": [index.start, index.stop, index.step] if isinstance(index, pd.RangeIndex) else None,
        "data": split["data"],
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
    }


def _frame(entry: dict) -> pd.DataFrame:
    index = pd.RangeIndex(*entry["range"]) if entry.get("range") else entry["index"]
    if not entry["columns"]:
        return pd.DataFrame(index=index)
    return pd.DataFrame(entry["data"], columns=entry["columns"], index=index).astype(entry["dtypes"])


def keep(kind: str, model_print: str, settings: dict, frames: dict[str, pd.DataFrame], values: dict) -> Path | None:
    """Write one section's result; the path, or None when the cache folder cannot be written."""
    path = path_for(kind, model_print, settings)
    data = {
        "format": FORMAT,
        "kind": kind,
        "fingerprint": model_print,
        "settings": _settings_text(settings),
        "code": code_version(),
        "frames": {name: _frame_entry(frame) for name, frame in frames.items()},
        "values": values,
    }
    try:
        return write_json(path, data, prefix=".kept-")
    except OSError:
        return None


def kept(kind: str, model_print: str, settings: dict) -> tuple[dict[str, pd.DataFrame], dict] | None:
    """(frames, values) kept for this section, model and settings, or None."""
    path = path_for(kind, model_print, settings)
    try:
        data = json.loads(path.read_text())
        if (
            data.get("format") != FORMAT
            or data.get("kind") != kind
            or data.get("fingerprint") != model_print
            or data.get("settings") != _settings_text(settings)
            or data.get("code") != code_version()
        ):
            return None
        return {name: _frame(entry) for name, entry in data["frames"].items()}, dict(data["values"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None

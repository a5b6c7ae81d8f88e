"""A dataset stored *as kept* in a workspace folder (see attnrec.workspace for the layout): reading it back.

    <folder>/attnrec-dataset.json   what the dataset is: format, name, source, notes, schema
            /users.parquet, items.parquet, interactions.parquet   its tables as kept (ids as a column)

`attnrec.data.load_dataset` reads such a folder like any other; the tables go through the project's bounded
Parquet reader and nothing is ever unpickled. Writing one is `attnrec.workspace.Workspace.save_dataset`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from attnrec.data.types import Dataset

__all__ = [
    "DATASET_FILE",
    "DATASET_FORMAT",
    "DATASET_VERSION",
    "ID_COLUMN",
    "TABLES",
    "is_workspace_dataset",
    "read_workspace_dataset",
]

DATASET_FILE = "attnrec-dataset.json"
DATASET_FORMAT, DATASET_VERSION = "attnrec-dataset", 1
ID_COLUMN = "__attnrec_id__"  # the index of users / items, stored as a column
TABLES = ("users", "items", "interactions")


def is_workspace_dataset(folder: str | Path) -> bool:
    return (Path(folder) / DATASET_FILE).is_file()


def read_workspace_dataset(folder: str | Path) -> Dataset:
    """The `Dataset` stored in `folder` (see the module docstring); DataError naming the file when damaged."""
    from attnrec.data.io import read_table
    from attnrec.data.types import DataError, Dataset

    folder = Path(folder)
    meta_file = folder / DATASET_FILE
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"cannot read it ({err})", file=str(meta_file)) from None
    if not isinstance(meta, dict) or meta.get("format") != DATASET_FORMAT or meta.get("version") != DATASET_VERSION:
        raise DataError(f"not an {DATASET_FORMAT} v{DATASET_VERSION} file", file=str(meta_file))
    if not isinstance(meta.get("name"), str) or not isinstance(meta.get("schema"), dict):
        raise DataError("lacks a dataset name or schema", file=str(meta_file))
    frames = {}
    for role in TABLES:
        path = folder / f"{role}.parquet"
        if not path.is_file():
            raise DataError("is missing", file=str(path))
        frame = read_table(path)
        if role != "interactions":
            if ID_COLUMN not in frame.columns:
                raise DataError(f"has no '{ID_COLUMN}' column", file=str(path))
            frame = frame.set_index(ID_COLUMN)
            frame.index = frame.index.astype(str)
            index_name = (meta.get("index_names") or {}).get(role)
            frame.index.name = index_name if isinstance(index_name, str) else None
        frames[role] = frame
    missing = [c for c in ("user_id", "item_id", "label") if c not in frames["interactions"].columns]
    if missing:
        raise DataError(f"has no '{missing[0]}' column", file=str(folder / "interactions.parquet"))
    notes = meta.get("notes") or []
    return Dataset(
        meta["name"],
        frames["users"],
        frames["items"],
        frames["interactions"],
        meta["schema"],
        source=str(folder),
        notes=[str(n) for n in notes if isinstance(n, str)],
    )

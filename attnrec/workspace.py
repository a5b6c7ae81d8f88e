"""Your work survives a reload: kept datasets and trained or uploaded models live in a workspace folder.

Layout (one folder per thing, so deleting one is removing one folder):

    <root>/datasets/<name>/attnrec-dataset.json   what the dataset is: format, name, source, notes, schema
                          /users.parquet, items.parquet, interactions.parquet   its tables as kept
    <root>/models/<name>/config.json, model.safetensors                       an ordinary checkpoint

A dataset is stored *as kept* (the validated tables the session used, ids as a column), not re-derived from
the upload, so a reloaded dataset is the same object the model was trained on. `attnrec.data.load_dataset`
reads such a folder like any other (the CLI and the library can use it too); the tables go through the
project's bounded Parquet reader and nothing is ever unpickled. A saved model's config names its dataset
by that folder, so `Recommender.load` finds it again after a restart.

The root is `$ATTNREC_WORKSPACE`, else `workspace/` beside the app (ignored by git). A shared server that
signs users in (Streamlit's `st.user`) gives each one a sub-folder (`namespaced`); without sign-in there is
one workspace per server. Writes go to a temporary sibling folder first and are renamed into place, so a
crash never leaves a half-written dataset or model that a later start would list.
No Streamlit in here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

# The folder format of a kept dataset lives with the other loaders (attnrec.data reads it without this module).
from attnrec.data.stored import (
    DATASET_FILE,
    DATASET_FORMAT,
    DATASET_VERSION,
    ID_COLUMN,
    is_workspace_dataset,
    read_workspace_dataset,
)

if TYPE_CHECKING:
    from attnrec.data.types import Dataset
    from attnrec.model import Recommender

__all__ = [
    "Workspace",
    "workspace_root",
    "WORKSPACE_ENV",
    "DATASET_FILE",
    "is_workspace_dataset",
    "read_workspace_dataset",
    "safe_name",
]

WORKSPACE_ENV = "ATTNREC_WORKSPACE"
MAX_NAME = 80


# `workspace/` beside the app (the repository root), resolved once: pages ask for the workspace on every rerun.
DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "workspace"


def workspace_root() -> Path:
    """$ATTNREC_WORKSPACE, else `workspace/` beside the app (the repository root)."""
    configured = os.environ.get(WORKSPACE_ENV)
    return Path(configured).expanduser() if configured else DEFAULT_ROOT


def safe_name(name: str) -> str:
    """A folder name for a dataset or model name: no separators, no dot-files, bounded length.

    Different names may map to the same folder only when they differ in characters a folder cannot hold;
    the original name is kept inside (dataset JSON / checkpoint config) and shown in the app."""
    text = "".join(c if c.isalnum() or c in " -_.()" else "_" for c in str(name).strip())[:MAX_NAME].strip(" .")
    if not text:
        raise ValueError(f"{name!r} cannot name a workspace folder")
    return text


@dataclass(frozen=True)
class SavedModel:
    name: str  # as shown (the folder name)
    path: Path
    dataset_name: str | None
    config: dict


class Workspace:
    """One workspace folder: save, list, load and delete datasets and models (module docstring)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else workspace_root()

    @classmethod
    def namespaced(cls, root: str | Path | None, user_key: str | None) -> "Workspace":
        """The workspace of one signed-in user (a hash of `user_key`, e.g. their e-mail), or the shared one."""
        base = Path(root) if root is not None else workspace_root()
        if not user_key:
            return cls(base)
        return cls(base / "users" / hashlib.sha256(user_key.encode("utf-8")).hexdigest()[:16])

    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    # ---- datasets ----
    def dataset_folder(self, name: str) -> Path:
        return self.datasets_dir / safe_name(name)

    def save_dataset(self, dataset: Dataset) -> Path:
        """Store `dataset` as kept (replacing one of the same name); returns its folder."""
        meta = {
            "format": DATASET_FORMAT,
            "version": DATASET_VERSION,
            "name": dataset.name,
            "source": str(dataset.source),
            "notes": list(dataset.notes),
            "schema": dataset.schema,
            "index_names": {role: getattr(dataset, role).index.name for role in ("users", "items")},
        }

        def write(folder: Path) -> None:
            for role in ("users", "items"):
                table = getattr(dataset, role)
                frame = table.reset_index(drop=True)
                frame.insert(0, ID_COLUMN, [str(i) for i in table.index])
                _to_parquet(frame, folder / f"{role}.parquet")
            _to_parquet(dataset.interactions.reset_index(drop=True), folder / "interactions.parquet")
            (folder / DATASET_FILE).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")

        return self._write_folder(self.dataset_folder(dataset.name), write)

    def dataset_names(self) -> list[str]:
        """Names of the stored datasets (as saved), sorted; unreadable folders are skipped."""
        names = []
        for folder in sorted(self.datasets_dir.iterdir()) if self.datasets_dir.is_dir() else []:
            try:
                meta = json.loads((folder / DATASET_FILE).read_text(encoding="utf-8"))
                names.append(str(meta["name"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return names

    def load_dataset(self, name: str) -> Dataset:
        return read_workspace_dataset(self.dataset_folder(name))

    def delete_dataset(self, name: str) -> list[str]:
        """Remove a dataset and the models trained on it; returns the names of those models."""
        gone = [m.name for m in self.models() if m.dataset_name == name]
        for model in gone:
            self.delete_model(model)
        _remove(self.dataset_folder(name))
        return gone

    # ---- models ----
    def save_model(self, model: Recommender, name: str) -> Path:
        """Store a checkpoint of `model` under `name`. A built-in dataset is referenced by name; any other is
        saved here first (unless it already is) and referenced by its folder, so a restart finds it."""
        from attnrec.checkpoint import BUILTIN_DATASETS, CONFIG_FILE, save

        dataset = model.dataset
        reference = None
        if dataset is not None:
            if dataset.name in BUILTIN_DATASETS and not is_workspace_dataset(dataset.source or "."):
                reference = dataset.name
            elif is_workspace_dataset(self.dataset_folder(dataset.name)):
                reference = str(self.dataset_folder(dataset.name))
            else:
                reference = str(self.save_dataset(dataset))

        def write(folder: Path) -> None:
            save(model, folder)
            # the checkpoint's own reference may be an upload's file names (a reference implies a dataset)
            if reference is not None and dataset is not None:
                config_file = folder / CONFIG_FILE
                config = json.loads(config_file.read_text(encoding="utf-8"))
                config["dataset"] = {"name": dataset.name, "reference": reference}
                config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")

        return self._write_folder(self.models_dir / safe_name(name), write)

    def models(self) -> list[SavedModel]:
        from attnrec.checkpoint import CheckpointError, read_config

        found = []
        for folder in sorted(self.models_dir.iterdir()) if self.models_dir.is_dir() else []:
            try:
                config = read_config(folder)
            except (CheckpointError, OSError):
                continue
            found.append(SavedModel(folder.name, folder, (config.get("dataset") or {}).get("name"), config))
        return found

    def delete_model(self, name: str) -> None:
        _remove(self.models_dir / safe_name(name))

    # ---- writing ----
    def _write_folder(self, final: Path, write) -> Path:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        try:
            write(staging)
            old = final.with_name(f".{final.name}.old")
            if final.exists():
                _remove(old)
                final.rename(old)
            staging.rename(final)
            _remove(old)
        except BaseException:
            _remove(staging)
            raise
        return final


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    # Object columns holding mixed values (numbers and text) are stored as text, as an upload reads them.
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: v if v is None or isinstance(v, str) or pd.isna(v) else str(v))
    out.columns = [str(c) for c in out.columns]
    out.to_parquet(path, index=False)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()

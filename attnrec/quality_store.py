"""Model health's held-out quality (the model against popularity and BPR-MF), computed once per model and kept.

Training the BPR-MF baseline is what made Model health take a minute to open. The table depends only on the
model's weights and configuration, the data and the settings (k, BPR-MF epochs, seed), so it is computed once
and stored as JSON under a fingerprint of those:
- beside a checkpoint as `quality.json` (`write_beside`; `attnrec train` writes it after saving, and
  `python -m attnrec.quality_store FOLDER…` fills it for saved checkpoints, e.g. the shipped ones), read when its
  fingerprint still matches the weights;
- in a cache folder outside the repository, one file per fingerprint: $ATTNREC_CACHE_DIR, else
  ~/.cache/attnrec (`cache_dir()`), written whenever the page computes the table, and after the Data page
  trains a model (`compute_and_store`, in the training job's thread).
A stored table is the very numbers `compute` returns (JSON keeps every float64 exactly; tested).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from attnrec.data.types import Dataset
    from attnrec.model import Recommender

__all__ = [
    "CACHE_ENV",
    "MF_EPOCHS",
    "QUALITY_FILE",
    "cache_dir",
    "fingerprint",
    "settings_key",
    "compute",
    "compute_and_store",
    "stored",
    "store",
    "write_beside",
    "write_for_checkpoint",
    "write_json",
]

CACHE_ENV = "ATTNREC_CACHE_DIR"
QUALITY_FILE = "quality.json"
FORMAT = 1
# BPR-MF's epochs in the table by default (Model health's setting, `attnrec train`, the Data page's job).
MF_EPOCHS = 60
# Configuration keys that describe a saved checkpoint rather than the model (see `fingerprint`).
NOT_FINGERPRINTED = ("created", "saved_at", "dataset", "dimension_names")


def cache_dir() -> Path:
    """Where computed tables are kept: $ATTNREC_CACHE_DIR, else ~/.cache/attnrec (never inside the checkout)."""
    chosen = os.environ.get(CACHE_ENV, "").strip()
    return Path(chosen).expanduser() if chosen else Path.home() / ".cache" / "attnrec"


def fingerprint(model: Recommender) -> str:
    """A hash of everything the held-out table depends on: weights, configuration, and the interactions.

    What saving adds to a model's configuration is left out (when it was saved, the dataset's reference, the
    dimension names the featurizer gives), so a model trained in the browser and then saved to the workspace
    keeps its fingerprint when a restarted server loads it back: its kept table is found again."""
    digest = hashlib.sha256()
    config = {k: v for k, v in (model.config or {}).items() if k not in NOT_FINGERPRINTED}
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.numpy().tobytes())
    interactions = model.attached_dataset.interactions
    digest.update(
        pd.util.hash_pandas_object(interactions[["user_id", "item_id", "label"]].astype(str), index=False)
        .to_numpy()
        .tobytes()
    )
    return digest.hexdigest()[:32]


def settings_key(k: int, mf_epochs: int, seed: int = 0) -> str:
    return f"k={int(k)},mf_epochs={int(mf_epochs)},seed={int(seed)}"


def compute(
    model: Recommender,
    dataset: Dataset | None = None,
    k: int = 10,
    mf_epochs: int = MF_EPOCHS,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """(table, protocol): `attnrec.health.metrics_against_baselines` on the model's leave-one-out split."""
    from attnrec.health import held_out_split, metrics_against_baselines

    split = held_out_split(model, dataset if dataset is not None else model.attached_dataset)
    table = metrics_against_baselines(model, split, k=k, mf_epochs=mf_epochs, seed=seed, progress=progress)
    return table, split.describe()


def _plain(value):
    """numpy scalars as Python numbers (float64 → float keeps every bit), arrays as lists; anything else as text."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def write_json(path: Path, data: dict, prefix: str = ".attnrec-") -> Path:
    """`data` as JSON at `path`, written whole then renamed, so a reader (another session) never sees half a file;
    numpy numbers and arrays are written as `_plain` says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=prefix, suffix=".tmp", delete=False) as out:
        json.dump(data, out, indent=1, default=_plain)
    os.replace(out.name, path)
    return path


def _entry(table: pd.DataFrame, protocol: dict) -> dict:
    return json.loads(
        json.dumps(
            {"columns": list(table.columns), "rows": table.to_dict(orient="records"), "protocol": protocol},
            default=_plain,
        )
    )


def _table(entry: dict) -> tuple[pd.DataFrame, dict]:
    return pd.DataFrame(entry["rows"], columns=entry["columns"]), entry["protocol"]


def _read(path: Path, print_: str) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("fingerprint") != print_:
        return None  # another model's (re-trained weights in the same folder) or an older format
    return data


def _write(path: Path, print_: str, key: str, entry: dict) -> Path:
    data = _read(path, print_) or {"format": FORMAT, "fingerprint": print_, "settings": {}}
    data["settings"][key] = entry
    return write_json(path, data, prefix=".quality-")


def stored(
    model: Recommender,
    k: int = 10,
    mf_epochs: int = MF_EPOCHS,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    print_: str | None = None,
) -> tuple[pd.DataFrame, dict] | None:
    """(table, protocol) stored for this model and settings — beside `checkpoint`, else in the cache — or None."""
    print_ = print_ or fingerprint(model)
    key = settings_key(k, mf_epochs, seed)
    places = ([Path(checkpoint) / QUALITY_FILE] if checkpoint else []) + [cache_dir() / "quality" / f"{print_}.json"]
    for path in places:
        data = _read(path, print_)
        if data and key in data.get("settings", {}):
            return _table(data["settings"][key])
    return None


def store(
    model: Recommender,
    table: pd.DataFrame,
    protocol: dict,
    k: int = 10,
    mf_epochs: int = MF_EPOCHS,
    seed: int = 0,
    print_: str | None = None,
) -> Path | None:
    """Keep a computed table in the cache folder; None (nothing kept) when the folder cannot be written."""
    print_ = print_ or fingerprint(model)
    try:
        return _write(
            cache_dir() / "quality" / f"{print_}.json",
            print_,
            settings_key(k, mf_epochs, seed),
            _entry(table, protocol),
        )
    except OSError:
        return None


def compute_and_store(
    model: Recommender,
    progress: Callable[[str], None] | None = None,
    k: int = 10,
    mf_epochs: int = MF_EPOCHS,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict]:
    """`compute` on the model's own data, then `store` it in the cache folder (what the Data page runs after it
    trains a model, so Model health reads the table instead of computing it); returns (table, protocol)."""
    table, protocol = compute(model, k=k, mf_epochs=mf_epochs, seed=seed, progress=progress)
    store(model, table, protocol, k=k, mf_epochs=mf_epochs, seed=seed)
    return table, protocol


def write_beside(
    model: Recommender,
    folder: str | Path,
    k: int = 10,
    mf_epochs: int = MF_EPOCHS,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, Path]:
    """Compute the table and write it as folder/quality.json (for a saved checkpoint); returns (table, path)."""
    table, protocol = compute(model, k=k, mf_epochs=mf_epochs, seed=seed, progress=progress)
    path = _write(
        Path(folder) / QUALITY_FILE, fingerprint(model), settings_key(k, mf_epochs, seed), _entry(table, protocol)
    )
    return table, path


def write_for_checkpoint(
    folder: str | Path, progress: Callable[[str], None] | None = None
) -> tuple[pd.DataFrame, Path]:
    """Load a saved checkpoint as the app does and write its quality.json (default settings): what Model health
    then reads instead of computing. `attnrec train` calls it after saving; returns (table, path)."""
    from attnrec.model import Recommender

    model = Recommender.load(folder, device="cpu")
    return write_beside(model, folder, progress=progress)


def _announce(folder: str) -> Callable[[str], None]:
    """A `progress` callback printing each step's label after the checkpoint folder's name."""
    return lambda name: print(f"{folder}: {name}…", flush=True)


def main(argv: list[str] | None = None) -> int:
    """python -m attnrec.quality_store CHECKPOINT_FOLDER…: write quality.json beside each (default settings)."""
    from attnrec.device import apply_threads

    apply_threads()
    folders = list(sys.argv[1:] if argv is None else argv)
    if not folders:
        print(main.__doc__, file=sys.stderr)
        return 2
    for folder in folders:
        table, path = write_for_checkpoint(folder, progress=_announce(folder))
        print(f"{path}\n{table.to_string(index=False, float_format=lambda v: f'{v:.3f}')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Checkpoints across the browser: uploaded safetensors + config.json in, a zip of both out.

An upload is untrusted: the weights file must pass `sniff_safetensors` (pickles and torch.save files
are refused by their bytes, never opened), config.json must be a JSON object, and only then does the
engine's own `attnrec.checkpoint.load` rebuild the model — it checks every tensor's shape against the
config. Finally the model must fit the chosen dataset: the columns its featurizer was fitted on must
exist there. Every failure is an `UploadError` whose message says which file and what to do.
"""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from attnrec.checkpoint import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, load, save
from attnrec.data.types import DataError
from attnrec.data.uploads import check_size, parse_json_upload, read_zip, sniff_safetensors

__all__ = ["UploadError", "checkpoint_zip_bytes", "split_checkpoint_files", "load_uploaded_checkpoint"]


class UploadError(DataError):
    """An uploaded checkpoint that cannot be used with this dataset."""


def checkpoint_zip_bytes(model) -> bytes:
    """`model` saved as model.safetensors + config.json inside one zip, for a download button."""
    with tempfile.TemporaryDirectory(prefix="attnrec-ckpt-") as folder:
        save(model, folder)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in (WEIGHTS_FILE, CONFIG_FILE):
                archive.write(Path(folder) / name, arcname=name)
    return buffer.getvalue()


def split_checkpoint_files(files: dict[str, bytes]) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """From uploaded files (a zip of both, or the two files) pick (weights name, bytes), (config name, bytes).

    The weights are the one `.safetensors` file, the config the one `.json` file; other names
    (`.pt`, `.pth`, `.bin`, `.pkl`) are refused outright with the reason.
    """
    if len(files) == 1 and next(iter(files)).lower().endswith(".zip"):
        name, data = next(iter(files.items()))
        files = read_zip(data, name)
    weights = [(n, b) for n, b in files.items() if n.lower().endswith(".safetensors")]
    configs = [(n, b) for n, b in files.items() if n.lower().endswith(".json")]
    risky = [n for n in files if n.lower().endswith((".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt"))]
    if risky:
        raise UploadError(f"'{risky[0]}' is a pickle-based format that can run code when opened; attnrec only "
                          f"reads {WEIGHTS_FILE} (safetensors) + {CONFIG_FILE}", file=risky[0])
    if len(weights) != 1 or len(configs) != 1:
        raise UploadError(f"a checkpoint is exactly one .safetensors file and one .json config; got "
                          f"{len(weights)} .safetensors and {len(configs)} .json "
                          f"({', '.join(sorted(files)) or 'nothing'})")
    return weights[0], configs[0]


def _config_problem(config: dict, config_name: str) -> None:
    from attnrec.model import MODEL_KEYS

    missing = [k for k in (*MODEL_KEYS, "featurizer") if k not in config]
    if missing:
        raise UploadError(f"lacks {', '.join(missing)}; is this an attnrec config.json?", file=config_name)


# Sizes no sensible attnrec model exceeds; a config asking for more is refused before anything is allocated.
SIZE_LIMITS = {"d": 4096, "heads": 64, "hidden": 16384, "user_columns": 200_000, "item_columns": 200_000}


def _check_sizes(config: dict, header: dict, config_name: str) -> None:
    """Every size in the config is a whole number in range, and the model it describes is no bigger than
    the weights file actually holds — so a tiny upload cannot make the server allocate gigabytes."""
    for key, limit in SIZE_LIMITS.items():
        value = config.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not (0 if key == "hidden" else 1) <= value <= limit:
            raise UploadError(f"'{key}' must be a whole number between {0 if key == 'hidden' else 1} and {limit}, "
                              f"got {value!r}", file=config_name)
    if not isinstance(config.get("tied"), bool):
        raise UploadError(f"'tied' must be true or false, got {config.get('tied')!r}", file=config_name)
    d, heads = config["d"], config["heads"]
    attention = heads * d * d * (1 if config["tied"] else 2)
    encoders = 2 * d if config.get("mode") == "aligned" else d * (config["user_columns"] + config["item_columns"])
    stored = sum(_elements(entry["shape"]) for name, entry in header.items() if name != "__metadata__")
    if attention + encoders > stored:
        raise UploadError(f"describes a model with at least {attention + encoders:,} weights but the weights file "
                          f"holds {stored:,}; the config and the weights do not belong together", file=config_name)


def _elements(shape) -> int:
    count = 1
    for size in shape:
        count *= int(size)
    return count


def _columns_needed(featurizer_blob: dict) -> dict[str, set[str]]:
    """The raw columns a featurizer JSON reads on each side (aligned rules or latent fields)."""
    needed: dict[str, set[str]] = {"user": set(), "item": set()}
    if featurizer_blob.get("mode") == "aligned":
        for dimension in featurizer_blob.get("dimensions") or []:
            for side in needed:
                rule = dimension[side]
                if "constant" not in rule and "id_values" not in rule:  # those read the row's id, no column
                    needed[side].add(str(rule["column"]))
        return needed
    for side in needed:
        for field in featurizer_blob["sides"][side]["fields"]:
            if field.get("kind") != "id":
                needed[side].add(str(field["name"]))
    return needed


def _check_fits_dataset(config: dict, dataset, config_name: str) -> None:
    try:
        needed = _columns_needed(config["featurizer"])
    except (KeyError, TypeError, AttributeError) as err:
        raise UploadError(f"its featurizer cannot be read ({err})", file=config_name) from None
    for side, table in (("user", dataset.users), ("item", dataset.items)):
        absent = sorted(needed[side] - set(map(str, table.columns)))
        if absent:
            raise UploadError(f"this checkpoint was trained on {side} column(s) {', '.join(absent)} that dataset "
                              f"'{dataset.name}' does not have; pick the dataset it was trained on",
                              file=config_name)


def load_uploaded_checkpoint(weights: tuple[str, bytes], config: tuple[str, bytes], dataset):
    """A CPU `Recommender` from uploaded (name, bytes) pairs, attached to `dataset`; UploadError if not."""
    weights_name, weights_bytes = weights
    config_name, config_bytes = config
    check_size(weights_bytes, weights_name)
    header = sniff_safetensors(weights_bytes, weights_name)
    blob = parse_json_upload(config_bytes, config_name)
    if blob.get("format") != "attnrec-checkpoint":
        raise UploadError("is not an attnrec checkpoint config (no \"format\": \"attnrec-checkpoint\")",
                          file=config_name)
    _config_problem(blob, config_name)
    _check_sizes(blob, header, config_name)
    _check_fits_dataset(blob, dataset, config_name)
    with tempfile.TemporaryDirectory(prefix="attnrec-upload-") as folder:
        (Path(folder) / WEIGHTS_FILE).write_bytes(weights_bytes)
        (Path(folder) / CONFIG_FILE).write_bytes(config_bytes)
        try:
            return load(folder, device="cpu", dataset=dataset)
        except CheckpointError as err:
            # The engine names the temporary folder; the user only knows the names they uploaded.
            message = str(err).replace(str(Path(folder) / WEIGHTS_FILE), weights_name)
            message = message.replace(str(Path(folder) / CONFIG_FILE), config_name).replace(folder, "upload")
            raise UploadError(message) from None
        except (DataError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise UploadError(f"does not fit dataset '{dataset.name}': {err}", file=config_name) from None

"""Checkpoints: `model.safetensors` (weights) + `config.json` (everything else). Never pickle.

A checkpoint folder may come from anyone (an upload, a download), so loading reads only the
safetensors format and JSON, and checks every tensor's name and shape against the shapes the config
implies before any weight is used.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

__all__ = ["CheckpointError", "save", "load", "read_config", "WEIGHTS_FILE", "CONFIG_FILE", "BUILTIN_DATASETS"]

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "attnrec-checkpoint"
VERSION = 1
BUILTIN_DATASETS = ("restaurants", "synthetic")


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be used; the message says which file and why."""


def dataset_reference(dataset) -> dict:
    """How to find the dataset again: a built-in name, or the folder it was read from."""
    name = str(getattr(dataset, "name", ""))
    source = str(getattr(dataset, "source", ""))
    reference = name if name in BUILTIN_DATASETS else source
    return {"name": name, "reference": reference}


def save(model, path) -> Path:
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    config = dict(model.config)
    if model.dataset is not None and "dataset" not in config:
        config["dataset"] = dataset_reference(model.dataset)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    config.update(format=FORMAT, version=VERSION, featurizer=model.featurizer.to_json(),
                  dimension_names=list(model.dimension_names),
                  tensors={k: list(v.shape) for k, v in state.items()})
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": FORMAT})
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, default=_json_default))
    return folder


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in config.json")


def read_config(path) -> dict:
    file = Path(path) / CONFIG_FILE
    if not file.is_file():
        raise CheckpointError(f"{file} not found: a checkpoint folder holds {WEIGHTS_FILE} and {CONFIG_FILE}")
    try:
        config = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{file} is not valid JSON: {err}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{file} is not an attnrec checkpoint config (no \"format\": \"{FORMAT}\")")
    return config


def _read_weights(file: Path) -> dict[str, torch.Tensor]:
    if not file.is_file():
        raise CheckpointError(f"{file} not found")
    head = file.read_bytes()[:2]
    try:
        return load_file(str(file))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        hint = ""
        if head[:1] == b"\x80" or head == b"PK":
            hint = " It looks like a pickle / torch.save file, which attnrec never loads (it can run code)."
        raise CheckpointError(f"{file} is not a valid safetensors file ({err}).{hint}") from None


def _default_featurizer_from_json(blob: dict):
    from attnrec.data.featurize import Featurizer
    return Featurizer.from_json(blob)


def load(path, device="auto", dataset=None, *, featurizer_from_json=None):
    """Rebuild a `Recommender` from a checkpoint folder, attach `dataset` (or the one named in the
    config), move it to `device` and put it in eval mode."""
    from attnrec.device import resolve_device
    from attnrec.model import MODEL_KEYS, Recommender

    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} not found")
    config = read_config(folder)
    missing = [k for k in (*MODEL_KEYS, "featurizer") if k not in config]
    if missing:
        raise CheckpointError(f"{folder / CONFIG_FILE} lacks {', '.join(missing)}")
    target = resolve_device(device)
    state = _read_weights(folder / WEIGHTS_FILE)
    featurizer = (featurizer_from_json or _default_featurizer_from_json)(config["featurizer"])
    model_config = {k: v for k, v in config.items() if k not in ("featurizer", "tensors", "format", "version")}
    try:
        model = Recommender(model_config, featurizer)
    except ValueError as err:
        raise CheckpointError(f"{folder / CONFIG_FILE}: {err}") from None
    _check_shapes(folder, state, model.state_dict())
    model.load_state_dict(state, strict=True)
    if dataset is None:
        stored = config.get("dataset") or {}
        if not stored.get("reference"):
            raise CheckpointError(f"{folder / CONFIG_FILE} names no dataset; pass dataset=")
        from attnrec.data import load_dataset
        dataset = load_dataset(stored["reference"], schema=stored.get("schema"))
    model.attach(dataset)
    return model.to(target).eval()


def _check_shapes(folder: Path, found: dict, expected: dict) -> None:
    file = folder / WEIGHTS_FILE
    extra = sorted(set(found) - set(expected))
    absent = sorted(set(expected) - set(found))
    if absent:
        raise CheckpointError(f"{file} lacks tensor '{absent[0]}' (expected shape {list(expected[absent[0]].shape)} "
                              f"from {CONFIG_FILE})")
    if extra:
        raise CheckpointError(f"{file} has unexpected tensor '{extra[0]}' (shape {list(found[extra[0]].shape)}) "
                              f"that {CONFIG_FILE} does not describe")
    for name, tensor in expected.items():
        if tuple(found[name].shape) != tuple(tensor.shape):
            raise CheckpointError(f"tensor '{name}' in {file} has shape {list(found[name].shape)} but "
                                  f"{CONFIG_FILE} implies {list(tensor.shape)}")
        if not found[name].dtype.is_floating_point:
            raise CheckpointError(f"tensor '{name}' in {file} has dtype {found[name].dtype}; expected floats")
        if not torch.isfinite(found[name]).all():
            raise CheckpointError(f"tensor '{name}' in {file} contains NaN or ±inf")

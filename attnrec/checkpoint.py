"""Checkpoints: `model.safetensors` (weights) + `config.json` (everything else). Never pickle.

A checkpoint folder may come from anyone (an upload, a download), so loading reads only the
safetensors format and JSON. The config must pass the strict schema (attnrec.config_schema: known keys,
finite numbers, sizes in range); the model it describes is then built on PyTorch's "meta" device, which
allocates nothing, so its exact tensor shapes are known and counted against `checkpoint_weights`
(attnrec.limits) and compared with the safetensors header before any tensor is read or any weight allocated.
`load_bytes` does the same from bytes held in memory (an upload): no temporary files, so a full disk
cannot break it; `checkpoint_bytes` is the inverse, for downloads.

This module knows the file format, not the model: the loaders are handed the class to build
(`model_class`, e.g. `attnrec.model.Recommender`, whose `load` classmethod passes itself), so
attnrec.model and attnrec.checkpoint do not import each other in a circle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

if TYPE_CHECKING:
    from attnrec.data.featurize import Featurizer
    from attnrec.data.types import Dataset

# The model class (attnrec.model.Recommender, which imports this module: so typed here as a Module).
M = TypeVar("M", bound=torch.nn.Module)

__all__ = [
    "CheckpointError",
    "save",
    "load",
    "load_bytes",
    "checkpoint_bytes",
    "read_config",
    "WEIGHTS_FILE",
    "CONFIG_FILE",
    "BUILTIN_DATASETS",
]

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "attnrec-checkpoint"
VERSION = 1
BUILTIN_DATASETS = ("restaurants", "synthetic")


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be used; the message says which file and why."""


def dataset_reference(dataset: Dataset) -> dict:
    """How to find the dataset again: a built-in name, or the folder it was read from."""
    name = str(getattr(dataset, "name", ""))
    source = str(getattr(dataset, "source", ""))
    reference = name if name in BUILTIN_DATASETS else source
    return {"name": name, "reference": reference}


def _state_and_config(model) -> tuple[dict, dict]:
    config = dict(model.config)
    if model.dataset is not None and "dataset" not in config:
        config["dataset"] = dataset_reference(model.dataset)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    config.update(
        format=FORMAT,
        version=VERSION,
        featurizer=model.featurizer.to_json(),
        dimension_names=list(model.dimension_names),
        tensors={k: list(v.shape) for k, v in state.items()},
    )
    return state, config


def save(model: torch.nn.Module, path: str | Path) -> Path:
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    state, config = _state_and_config(model)
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": FORMAT})
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, default=_json_default))
    return folder


def checkpoint_bytes(model: torch.nn.Module) -> tuple[bytes, bytes]:
    """(model.safetensors, config.json) as bytes, built in memory: what `save` writes, without a disk."""
    from safetensors.torch import save as save_bytes

    state, config = _state_and_config(model)
    return (
        save_bytes(state, metadata={"format": FORMAT}),
        json.dumps(config, indent=2, default=_json_default).encode("utf-8"),
    )


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in config.json")


def read_config(path: str | Path) -> dict:
    file = Path(path) / CONFIG_FILE
    if not file.is_file():
        raise CheckpointError(f"{file} not found: a checkpoint folder holds {WEIGHTS_FILE} and {CONFIG_FILE}")
    try:
        config = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{file} is not valid JSON: {err}") from None
    except RecursionError:
        raise CheckpointError(f"{file} nests too deeply to be a config") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f'{file} is not an attnrec checkpoint config (no "format": "{FORMAT}")')
    return config


def _safetensors_hint(head: bytes) -> str:
    if head[:1] == b"\x80" or head[:2] == b"PK":
        return " It looks like a pickle / torch.save file, which attnrec never loads (it can run code)."
    return ""


def _file_header(file: Path) -> dict[str, tuple[str, list[int]]]:
    """name → (dtype, shape) from a safetensors file's header; the tensors themselves are not read."""
    from safetensors import safe_open

    if not file.is_file():
        raise CheckpointError(f"{file} not found")
    try:
        with safe_open(str(file), framework="pt") as handle:
            return {
                name: (handle.get_slice(name).get_dtype(), list(handle.get_slice(name).get_shape()))
                for name in handle.keys()
            }
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        with open(file, "rb") as stream:
            head = stream.read(2)
        raise CheckpointError(f"{file} is not a valid safetensors file ({err}).{_safetensors_hint(head)}") from None


def _read_weights(file: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(file))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{file} is not a valid safetensors file ({err})") from None


def _default_featurizer_from_json(blob: dict):
    from attnrec.data.featurize import Featurizer

    return Featurizer.from_json(blob)


def load(
    path: str | Path,
    device: str | torch.device = "auto",
    dataset: Dataset | None = None,
    *,
    model_class: type[M],
    featurizer_from_json: Callable[[dict], Featurizer] | None = None,
) -> M:
    """Rebuild a `model_class` (attnrec.model.Recommender) from a checkpoint folder, attach `dataset` (or the
    one named in the config), move it to `device` and put it in eval mode. `Recommender.load(path)` calls this."""
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} not found")
    config = read_config(folder)
    file = folder / WEIGHTS_FILE
    return _build(
        config,
        lambda: _file_header(file),
        lambda: _read_weights(file),
        str(folder / CONFIG_FILE),
        str(file),
        device,
        dataset,
        featurizer_from_json,
        upload=False,
        model_class=model_class,
    )


def load_bytes(
    weights: bytes,
    config: dict,
    *,
    model_class: type[M],
    weights_name: str = WEIGHTS_FILE,
    config_name: str = CONFIG_FILE,
    device: str | torch.device = "cpu",
    dataset: Dataset | None = None,
    header: dict | None = None,
) -> M:
    """`load` from bytes in memory (an upload): the config as parsed JSON, the weights as safetensors bytes.

    The stored dataset reference is ignored: pass `dataset`. `header` (from `sniff_safetensors`) saves
    parsing the safetensors header twice."""
    from safetensors.torch import load as load_weights

    def read_header():
        if header is None:
            from attnrec.checkpoint_sniff import sniff_safetensors

            parsed = sniff_safetensors(weights, weights_name)
        else:
            parsed = header
        return {n: (e["dtype"], list(e["shape"])) for n, e in parsed.items() if n != "__metadata__"}

    def read_state():
        try:
            return load_weights(bytes(weights))
        except (SafetensorError, ValueError, RuntimeError) as err:
            raise CheckpointError(f"{weights_name} is not a valid safetensors file ({err})") from None

    return _build(
        config,
        read_header,
        read_state,
        config_name,
        weights_name,
        device,
        dataset,
        None,
        upload=True,
        model_class=model_class,
    )


def _model_config(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in ("featurizer", "tensors", "format", "version")}


def expected_shapes(
    config: dict, featurizer: Featurizer, model_class: Callable[..., torch.nn.Module]
) -> dict[str, list[int]]:
    """The exact tensor shapes the model `config` describes, found by building a `model_class` on the "meta"
    device (no memory is allocated for its weights). ValueError if the config describes no valid model."""
    with torch.device("meta"):
        model = model_class(_model_config(config), featurizer)
    return {name: list(tensor.shape) for name, tensor in model.state_dict().items()}


def _build(
    config: dict,
    read_header,
    read_state,
    config_name: str,
    weights_name: str,
    device,
    dataset,
    featurizer_from_json,
    upload: bool,
    model_class,
):
    from attnrec.config_schema import ConfigError, validate_config
    from attnrec.device import resolve_device
    from attnrec.limits import LIMITS

    try:
        config = validate_config(config, upload=upload)
    except ConfigError as err:
        raise CheckpointError(f"{config_name}: {err}") from None
    target = resolve_device(device)
    try:
        featurizer = (featurizer_from_json or _default_featurizer_from_json)(config["featurizer"])
        expected = expected_shapes(config, featurizer, model_class)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        raise CheckpointError(f"{config_name}: {err}") from None
    weights = sum(_elements(shape) for shape in expected.values())
    if weights > LIMITS.checkpoint_weights:
        raise CheckpointError(
            f"{config_name}: describes a model with {weights:,} weights, over the limit of "
            f"{LIMITS.checkpoint_weights:,}"
        )
    _check_shapes(config_name, weights_name, read_header(), expected)
    state = read_state()
    _check_values(weights_name, state)
    model = model_class(_model_config(config), featurizer)  # sizes now known to be in range and to match
    model.load_state_dict(state, strict=True)
    if dataset is None:
        stored = config.get("dataset") or {}
        if not stored.get("reference"):
            raise CheckpointError(f"{config_name} names no dataset; pass dataset=")
        from attnrec.data import load_dataset

        dataset = load_dataset(stored["reference"], schema=stored.get("schema"))
    model.attach(dataset)
    return model.to(target).eval()


def _elements(shape) -> int:
    count = 1
    for size in shape:
        count *= int(size)
    return count


def _check_shapes(config_name: str, file: str, found: dict, expected: dict) -> None:
    """Names and shapes from the safetensors header against the shapes the config implies."""
    config_file = Path(config_name).name
    extra = sorted(set(found) - set(expected))
    absent = sorted(set(expected) - set(found))
    mismatch = "; the config and the weights do not belong together"
    if absent:
        raise CheckpointError(
            f"{file} lacks tensor '{absent[0]}' (expected shape {expected[absent[0]]} from {config_file}){mismatch}"
        )
    if extra:
        raise CheckpointError(
            f"{file} has unexpected tensor '{extra[0]}' (shape {found[extra[0]][1]}) "
            f"that {config_file} does not describe"
        )
    for name, shape in expected.items():
        dtype, stored = found[name]
        if list(stored) != list(shape):
            raise CheckpointError(
                f"tensor '{name}' in {file} has shape {list(stored)} but {config_file} implies {list(shape)}{mismatch}"
            )
        if str(dtype).upper() not in ("F16", "BF16", "F32", "F64"):
            raise CheckpointError(f"tensor '{name}' in {file} has dtype {dtype}; expected floats")


def _check_values(file: str, state: dict) -> None:
    for name, tensor in state.items():
        if not tensor.dtype.is_floating_point:
            raise CheckpointError(f"tensor '{name}' in {file} has dtype {tensor.dtype}; expected floats")
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"tensor '{name}' in {file} contains NaN or ±inf")

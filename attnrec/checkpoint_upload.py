"""Checkpoints across the browser: uploaded safetensors + config.json in, a zip of both out.

An upload is untrusted: the weights file must pass `sniff_safetensors` (pickles and torch.save files
are refused by their bytes, never opened), config.json must be a JSON object that passes the strict
schema (attnrec.config_schema: known keys only, finite numbers, sizes in range), and the model must fit
the chosen dataset (the columns its featurizer was fitted on exist there). Only then does the engine's
`attnrec.checkpoint.load_bytes` count the weights the config implies (without allocating them), compare
them with the safetensors header, and rebuild the model — all in memory, never through a temporary
folder. Every failure is an `UploadError` whose message says which file and what to do.
"""

from __future__ import annotations

import io
import zipfile

from attnrec.checkpoint import CONFIG_FILE, WEIGHTS_FILE, CheckpointError, checkpoint_bytes, load_bytes
from attnrec.checkpoint_sniff import sniff_safetensors
from attnrec.config_schema import ConfigError, validate_config
from attnrec.data.types import DataError, Dataset
from attnrec.data.uploads import check_size, parse_json_upload, read_zip
from attnrec.limits import LIMITS
from attnrec.model import Recommender

__all__ = ["UploadError", "checkpoint_zip_bytes", "split_checkpoint_files", "load_uploaded_checkpoint"]


class UploadError(DataError):
    """An uploaded checkpoint that cannot be used with this dataset."""


def checkpoint_zip_bytes(model: Recommender) -> bytes:
    """`model` as model.safetensors + config.json inside one zip, for a download button (built in memory)."""
    weights, config = checkpoint_bytes(model)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(WEIGHTS_FILE, weights)
        archive.writestr(CONFIG_FILE, config)
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
        raise UploadError(
            f"'{risky[0]}' is a pickle-based format that can run code when opened; attnrec only "
            f"reads {WEIGHTS_FILE} (safetensors) + {CONFIG_FILE}",
            file=risky[0],
        )
    if len(weights) != 1 or len(configs) != 1:
        raise UploadError(
            f"a checkpoint is exactly one .safetensors file and one .json config; got "
            f"{len(weights)} .safetensors and {len(configs)} .json "
            f"({', '.join(sorted(files)) or 'nothing'})"
        )
    return weights[0], configs[0]


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
            raise UploadError(
                f"this checkpoint was trained on {side} column(s) {', '.join(absent)} that dataset "
                f"'{dataset.name}' does not have; pick the dataset it was trained on",
                file=config_name,
            )


def load_uploaded_checkpoint(weights: tuple[str, bytes], config: tuple[str, bytes], dataset: Dataset) -> Recommender:
    """A CPU `Recommender` from uploaded (name, bytes) pairs, attached to `dataset`; UploadError if not."""
    weights_name, weights_bytes = weights
    config_name, config_bytes = config
    check_size(weights_bytes, weights_name)
    header = sniff_safetensors(weights_bytes, weights_name)
    blob = parse_json_upload(config_bytes, config_name, LIMITS.config_bytes)
    try:
        blob = validate_config(blob, upload=True)
    except ConfigError as err:
        raise UploadError(str(err), file=config_name) from None
    _check_fits_dataset(blob, dataset, config_name)
    try:
        return load_bytes(
            weights_bytes,
            blob,
            model_class=Recommender,
            weights_name=weights_name,
            config_name=config_name,
            device="cpu",
            dataset=dataset,
            header=header,
        )
    except CheckpointError as err:
        raise UploadError(str(err)) from None
    except MemoryError:
        raise UploadError(
            "the server has not enough memory to load this model now; try again later", file=weights_name
        ) from None
    except (DataError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise UploadError(f"does not fit dataset '{dataset.name}': {err}", file=config_name) from None

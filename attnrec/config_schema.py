"""The strict schema of a checkpoint's config.json: known keys only, finite numbers, sizes in range.

A config may come from a stranger (an upload), so `validate_config` checks it before anything is built:
- every number anywhere in it is finite (JSON's `1e400`, `Infinity` and `NaN` are refused, with the path);
- only known top-level keys: the model's (`MODEL_KEYS`, required, and `MODEL_OPTIONS`, optional with
  their defaults, both below; attnrec.model reads them from here), then `FILE_KEYS`; anything else is named
  and refused;
- each model key has the type and range of its `MODEL_SPECS` entry (ranges from attnrec.limits).

To add a model option: add it to `MODEL_OPTIONS` below with its default; give it a rule in
`MODEL_SPECS` when "same type as the default" is not strict enough (a choice of words, a range).
The weights a config implies are then counted exactly, without allocating, by `attnrec.checkpoint`
(the model is built on PyTorch's "meta" device) and checked against `checkpoint_weights` and the
safetensors header before any tensor is read.
"""

from __future__ import annotations

import math

from attnrec.limits import LIMITS

__all__ = ["MODEL_KEYS", "MODEL_OPTIONS", "MODEL_SPECS", "FILE_KEYS", "ConfigError", "validate_config", "known_keys"]

FORMAT, VERSION = "attnrec-checkpoint", 1

# The config entries that fix the weights' shapes; checkpoints must carry all of them.
MODEL_KEYS = ("mode", "d", "heads", "tied", "temperature", "hidden", "user_columns", "item_columns")
# Optional entries and the value a checkpoint without them means (checkpoints from before they existed).
# "attention": the normaliser ("softmax" is the design document's); "presence_mask": a dimension with
# X_i·Y_i = 0 gets no attention; "null_slot": a last dimension "nothing" (X = Y = 0, always open) that
# attention may choose instead of any feature; "latent_dims": aligned only, learned taste dimensions from
# ids after the named ones; "encoder_offset": aligned only, per-dimension offsets (off in new models).
# "taste_block": the taste dimensions share one row of W per head, so attention weighs them as one block
# (each gets the same weight; the block acts like one matrix-factorisation slot). "prune": aligned only, the
# named dimensions' scale is relu(s), so training can switch a dimension off exactly.
MODEL_OPTIONS = {
    "attention": "softmax",
    "presence_mask": False,
    "null_slot": False,
    "latent_dims": 0,
    "encoder_offset": True,
    "taste_block": False,
    "prune": False,
}

# Per model key: ("int", low, high) | ("number", low_exclusive, high) | ("bool",) | ("choice", words).
MODEL_SPECS: dict[str, tuple] = {
    "mode": ("choice", ("aligned", "latent")),
    "d": ("int", 1, LIMITS.checkpoint_d),
    "heads": ("int", 1, LIMITS.checkpoint_heads),
    "tied": ("bool",),
    "temperature": ("number", 0.0, LIMITS.checkpoint_temperature),
    "hidden": ("int", 0, LIMITS.checkpoint_hidden),
    "user_columns": ("int", 0, LIMITS.checkpoint_columns),
    "item_columns": ("int", 0, LIMITS.checkpoint_columns),
    "use_ids": ("bool",),
    # attention variants (optional; defaults in MODEL_OPTIONS)
    "attention": ("choice", ("softmax", "sparsemax", "entmax15")),
    "presence_mask": ("bool",),
    "null_slot": ("bool",),
    "latent_dims": ("int", 0, LIMITS.checkpoint_d),
    "encoder_offset": ("bool",),
    "user_profile": ("choice", ("columns", "history")),
}

# Keys a checkpoint file holds besides the model's own, and the JSON type each must have.
FILE_KEYS: dict[str, type] = {
    "format": str,
    "version": int,
    "featurizer": dict,
    "tensors": dict,
    "dimension_names": list,
    "training": dict,
    "metrics": dict,
    "dataset": dict,
}
OPTIONAL_MODEL_KEYS = {"use_ids": False}  # written by every model, read by none of the shapes

MAX_DEPTH = 64


class ConfigError(ValueError):
    """A config.json that breaks the schema; the message names the key (or the path inside it)."""


def _model_keys() -> tuple[tuple[str, ...], dict]:
    return tuple(MODEL_KEYS), {**OPTIONAL_MODEL_KEYS, **MODEL_OPTIONS}


def known_keys() -> set[str]:
    """Every top-level key a config may hold."""
    required, optional = _model_keys()
    return set(required) | set(optional) | set(MODEL_SPECS) | set(FILE_KEYS)


def _check_finite(value, path: str, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ConfigError(f"nests deeper than {MAX_DEPTH} levels at {path}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path} is {value!r}; every number in a config must be finite")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(item, f"{path}[{i}]", depth + 1)


def _check_value(key: str, value, spec: tuple) -> None:
    kind = spec[0]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"'{key}' must be true or false, got {value!r}")
    elif kind == "int":
        low, high = spec[1], spec[2]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"'{key}' must be a whole number between {low} and {high}, got {value!r}")
    elif kind == "number":
        low, high = spec[1], spec[2]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value <= high:
            raise ConfigError(f"'{key}' must be a number above {low:g} and at most {high:g}, got {value!r}")
    elif kind == "choice":
        if value not in spec[1]:
            raise ConfigError(f"'{key}' must be one of {', '.join(map(repr, spec[1]))}, got {value!r}")


def _spec_from_default(default) -> tuple:
    if isinstance(default, bool):
        return ("bool",)
    if isinstance(default, int):
        return ("int", 0, LIMITS.checkpoint_d)
    if isinstance(default, float):
        return ("number", -LIMITS.checkpoint_temperature, LIMITS.checkpoint_temperature)
    return ("choice", (default,))


def validate_config(config: object, *, upload: bool = False) -> dict:
    """A checked copy of a checkpoint config; ConfigError on the first problem.

    `upload=True` (a file from a browser) also drops the stored dataset reference: an uploaded model is
    attached to the dataset its uploader picks, never to a path named inside the file."""
    if not isinstance(config, dict):
        raise ConfigError(f"must hold a JSON object, not {type(config).__name__}")
    if config.get("format") != FORMAT:
        raise ConfigError(f'is not an attnrec checkpoint config (no "format": "{FORMAT}")')
    _check_finite(config, "")
    required, optional = _model_keys()
    unknown = sorted(set(config) - known_keys())
    if unknown:
        raise ConfigError(
            f"has unknown key(s) {', '.join(map(repr, unknown))}; a checkpoint config holds only "
            f"{', '.join(sorted(known_keys()))}"
        )
    missing = [k for k in (*required, "featurizer") if k not in config]
    if missing:
        raise ConfigError(f"lacks {', '.join(missing)}; is this an attnrec config.json?")
    if config.get("version", VERSION) != VERSION:
        raise ConfigError(f"has version {config.get('version')!r}; this attnrec reads version {VERSION}")
    for key in {*required, *optional, *MODEL_SPECS}:
        if key in config:
            _check_value(key, config[key], MODEL_SPECS.get(key) or _spec_from_default(optional[key]))
    for key, kind in FILE_KEYS.items():
        if key in config and not isinstance(config[key], kind):
            raise ConfigError(
                f"'{key}' must be a JSON {kind.__name__.replace('str', 'string')}, got {type(config[key]).__name__}"
            )
    if "dimension_names" in config and not all(isinstance(n, str) for n in config["dimension_names"]):
        raise ConfigError("'dimension_names' must be a list of strings")
    out = dict(config)
    if upload:
        out.pop("dataset", None)
    return out

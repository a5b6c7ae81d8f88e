"""What explanations need from a model: `ExplainableModel`, a typed Protocol that `attnrec.model.Recommender`
satisfies. The explain helpers (`attnrec.explain.model_targets`, `attnrec.trust_plan`, `attnrec.trust_checks`)
take this, never the concrete class, and use nothing else of it: no weight matrix (W_U, W_V), no encoder
internals. The model must also be a `torch.nn.Module` (Captum hooks into its layers and the sanity checks
re-draw its parameters); `as_module` checks that where a target is built.

- raw-field level: `model(r_u, r_v)` (forward: S), with `featurizer`'s columns and groups as feature masks
  and its baseline rows;
- dimension level: `encode_user` / `encode_item` (X, Y from the raw rows) and `attention(x, y).s`, with
  `dimension_names` and `d`;
- catalog rows: `user_rows(ids)` / `item_rows(ids)`, and `device` to put tensors on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

import torch
from torch import nn

if TYPE_CHECKING:
    from attnrec.attention import AttentionTrace
    from attnrec.data.featurize import Featurizer

__all__ = ["ExplainableModel", "as_module"]


class ExplainableModel(Protocol):
    """The part of a recommender that explanations see (read-only)."""

    @property
    def featurizer(self) -> Featurizer: ...  # columns, groups (feature masks) and baseline rows of each side

    @property
    def dimension_names(self) -> list[str]: ...  # the d dimensions' names

    @property
    def d(self) -> int: ...

    @property
    def device(self) -> torch.device: ...

    def __call__(self, r_u: torch.Tensor, r_v: torch.Tensor) -> torch.Tensor: ...  # forward: S (B,)

    def encode_user(self, r_u: torch.Tensor) -> torch.Tensor: ...  # (B, R_u) → X (B, d)

    def encode_item(self, r_v: torch.Tensor) -> torch.Tensor: ...  # (B, R_v) → Y (B, d)

    def attention(self, x: torch.Tensor, y: torch.Tensor) -> AttentionTrace: ...  # .s: S from X, Y

    def user_rows(self, user_ids: str | Iterable[str]) -> torch.Tensor: ...  # raw rows of catalog users

    def item_rows(self, item_ids: str | Iterable[str]) -> torch.Tensor: ...  # raw rows of catalog items


def as_module(model: ExplainableModel) -> nn.Module:
    """`model` as the torch Module an explain target scores with (TypeError for anything else)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"explanations need a torch.nn.Module, got {type(model).__name__}")
    return model

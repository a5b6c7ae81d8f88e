"""The document's encoders f_θU, f_θV (§3.1 step 1): raw side matrix R → d-dimensional vector.

Aligned mode keeps dimension i meaning the same named thing on both sides, so the encoder may only
rescale and shift each dimension (never mix them): X = softplus(s) ⊙ R + o. Latent mode mixes freely:
a linear map of the dense raw matrix (one-hot / multi-hot / numbers / ids), optionally refined by a
small residual MLP; its d dimensions are then just "latent 1".."latent d".
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["AlignedEncoder", "LatentEncoder", "make_encoder"]

_SOFTPLUS_ONE = math.log(math.e - 1.0)  # softplus(_SOFTPLUS_ONE) == 1: start as the identity


class AlignedEncoder(nn.Module):
    """X = softplus(scale) ⊙ R (+ offset), per named dimension; the positive scale keeps the sign of R.

    `offset=False` (every model trained since the "attention worth reading" work): no per-dimension offset,
    so a named dimension can shrink to "absent" (0) but never turn into a constant that the heatmap would
    label as a feature. `latent_dims` k > 0 makes a hybrid: R's columns after the d named ones are one-hot
    ids, mapped by a bias-free linear layer to k learned "taste" dimensions appended after the named ones,
    so attention allocates between what the item is (named) and who liked it (taste).
    """

    def __init__(
        self,
        d: int,
        offset: bool = True,
        id_columns: int = 0,
        latent_dims: int = 0,
        taste_scale: float = 1.0,
        prune: bool = False,
    ):
        super().__init__()
        self.named = int(d)
        # prune: the scale is relu(s) instead of softplus(s), so training can switch a named dimension off
        # exactly (scale 0: X_i = 0 on every row, and a presence mask never opens it again).
        self.prune = bool(prune)
        # A constant factor on the taste outputs: a block of k dimensions that attention weighs as one gets
        # 1/k of the block's weight per dimension, so taste_scale = k lets the block speak as loud as one
        # named dimension (the L2 term in training is taken before this factor).
        self.taste_scale = float(taste_scale)
        self.scale = nn.Parameter(torch.full((d,), 1.0 if prune else _SOFTPLUS_ONE))
        self.offset = nn.Parameter(torch.zeros(d)) if offset else None
        self.taste = None
        if latent_dims:
            self.taste = nn.Linear(int(id_columns), int(latent_dims), bias=False)
            _normal_(self.taste.weight, std=0.1)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        x = self.positive_scale() * r[..., : self.named]
        if self.offset is not None:
            x = x + self.offset
        if self.taste is None:
            return x
        return torch.cat([x, self.taste_scale * self.taste(r[..., self.named :])], dim=-1)

    def positive_scale(self) -> torch.Tensor:
        return torch.relu(self.scale) if self.prune else nn.functional.softplus(self.scale)

    def dimension_scale(self) -> torch.Tensor:
        """The non-negative multiplier of each named dimension (what training learned it is worth)."""
        return self.positive_scale().detach()


def _normal_(weight: torch.Tensor, std: float) -> None:
    """nn.init.normal_, except on the "meta" device (checkpoint.expected_shapes builds a model there for its
    shapes alone): there torch runs its Python reference kernel, whose first call imports torch._dynamo — about
    1.5 s of CPU on the app's cold start, for values a meta tensor does not have."""
    if weight.device.type != "meta":
        nn.init.normal_(weight, std=std)


class LatentEncoder(nn.Module):
    """Linear map of the raw columns to d dims; with hidden > 0, plus a residual GELU MLP."""

    def __init__(self, n_columns: int, d: int, hidden: int = 0, init_std: float = 0.1):
        super().__init__()
        self.linear = nn.Linear(n_columns, d)
        # One-hot inputs have few active columns, so the default fan-in init would start X near 0.
        _normal_(self.linear.weight, std=init_std)
        nn.init.zeros_(self.linear.bias)
        self.mlp: nn.Sequential | None = None
        if hidden > 0:
            inner, outer = nn.Linear(d, hidden), nn.Linear(hidden, d)  # created in this order (seeded runs)
            nn.init.zeros_(outer.weight)  # start as the plain linear encoder
            nn.init.zeros_(outer.bias)
            self.mlp = nn.Sequential(nn.GELU(), inner, nn.GELU(), outer)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        x = self.linear(r)
        return x if self.mlp is None else x + self.mlp(x)


def make_encoder(
    mode: str,
    n_columns: int,
    d: int,
    hidden: int = 0,
    *,
    offset: bool = True,
    latent_dims: int = 0,
    id_columns: int = 0,
    taste_scale: float = 1.0,
    prune: bool = False,
) -> nn.Module:
    """d: the encoder's output width (named + latent_dims in aligned mode); aligned raw columns are the
    d − latent_dims named dimensions followed by `id_columns` one-hot id columns."""
    if mode == "aligned":
        named = d - latent_dims
        if n_columns != named + id_columns or named < 1 or latent_dims < 0 or (latent_dims > 0) != (id_columns > 0):
            raise ValueError(
                f"aligned mode needs one raw column per named dimension (plus the id columns when "
                f"it learns taste dimensions): got {n_columns} columns for {named} named dimensions, "
                f"{latent_dims} taste dimensions and {id_columns} id columns"
            )
        return AlignedEncoder(
            named, offset=offset, id_columns=id_columns, latent_dims=latent_dims, taste_scale=taste_scale, prune=prune
        )
    if mode == "latent":
        return LatentEncoder(n_columns, d, hidden)
    raise ValueError(f"unknown mode '{mode}'; choose 'aligned' or 'latent'")

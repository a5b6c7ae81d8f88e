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
    """X = softplus(scale) ⊙ R + offset, per named dimension; the positive scale keeps the sign of R."""

    def __init__(self, d: int):
        super().__init__()
        self.scale = nn.Parameter(torch.full((d,), _SOFTPLUS_ONE))
        self.offset = nn.Parameter(torch.zeros(d))

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(self.scale) * r + self.offset

    def dimension_scale(self) -> torch.Tensor:
        """The positive multiplier of each named dimension (what training learned it is worth)."""
        return nn.functional.softplus(self.scale).detach()


class LatentEncoder(nn.Module):
    """Linear map of the raw columns to d dims; with hidden > 0, plus a residual GELU MLP."""

    def __init__(self, n_columns: int, d: int, hidden: int = 0, init_std: float = 0.1):
        super().__init__()
        self.linear = nn.Linear(n_columns, d)
        # One-hot inputs have few active columns, so the default fan-in init would start X near 0.
        nn.init.normal_(self.linear.weight, std=init_std)
        nn.init.zeros_(self.linear.bias)
        self.mlp = None
        if hidden > 0:
            self.mlp = nn.Sequential(nn.GELU(), nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))
            nn.init.zeros_(self.mlp[-1].weight)  # start as the plain linear encoder
            nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        x = self.linear(r)
        return x if self.mlp is None else x + self.mlp(x)


def make_encoder(mode: str, n_columns: int, d: int, hidden: int = 0) -> nn.Module:
    if mode == "aligned":
        if n_columns != d:
            raise ValueError(f"aligned mode needs one raw column per named dimension: got {n_columns} "
                             f"columns for d={d}")
        return AlignedEncoder(d)
    if mode == "latent":
        return LatentEncoder(n_columns, d, hidden)
    raise ValueError(f"unknown mode '{mode}'; choose 'aligned' or 'latent'")

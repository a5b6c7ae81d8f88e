"""TrainConfig (every training option, and its validation) and the shipped recipes built from it (READABLE_HYBRID)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["TrainConfig", "READABLE_HYBRID", "readable_hybrid"]


@dataclass
class TrainConfig:
    mode: str = "latent"  # "aligned" (named dimensions) | "latent"
    d: int = 32  # latent only; aligned d = number of named dimensions
    heads: int = 2
    tied: bool = False
    temperature: float = 1.0
    hidden: int = 0  # latent only: width of the residual MLP after the linear map (0 = none)
    use_ids: bool = False  # latent only: one-hot user/item ids as extra columns
    features: str = "all"  # latent: "all" side fields, or "ids" only (needs use_ids)
    popularity: bool = False  # aligned: add the "popular place" dimension (training positives only)
    observed_negatives: bool = True  # train on label-0 rows too (False: sampled negatives only, like BPR-MF)
    l2: float = 0.0  # loss term l2 · mean(|X_u|² + |Y_i|² (+ |Y_j|²)) on the batch, as in BPR-MF
    loss: str = "bce"  # "bce" | "bpr"
    negatives: int = 4  # sampled negatives per positive
    epochs: int = 60
    batch_size: int = 256
    lr: float = 0.01
    weight_decay: float = 1e-4
    patience: int = 10  # epochs without a better validation score before stopping
    monitor: str = "val_auc"  # what early stopping maximises/minimises: "val_auc" | "val_loss" |
    # "last" (no early stopping: keep the final epoch, like the BPR-MF baseline)
    learn_scale: bool = True  # bpr: learn a of σ(a·S + b) with the rest (False: a stays at d²/H while
    # training, so l2 cannot be dodged by shrinking X, Y and growing a)
    seed: int = 0
    device: str = "auto"
    val_fraction: float = 0.1
    # Attention worth reading (docs/metrics.md, "attention quality"): every option defaults to the
    # design document's model.
    user_profile: str = "columns"  # aligned: "columns" (schema pairs) | "history" (mean over training positives)
    attention: str = "softmax"  # "softmax" (the document's) | "sparsemax" | "entmax15"
    presence_mask: bool = False  # a dimension with X_i·Y_i = 0 gets no attention (needs null_slot)
    null_slot: bool = False  # a "nothing" dimension attention may choose instead of any feature
    latent_dims: int = 0  # aligned: k learned taste dimensions from one-hot ids, after the named ones
    entropy_weight: float = 0.0  # loss term: weight · mean normalised entropy of A_U and A_V (over attention
    # units: a taste block counts once), or weight · (entropy − target)²
    entropy_target: float = 0.0  # > 0: hold the mean normalised entropy near this value instead of lowering it
    diversity_weight: float = 0.0  # loss term: weight · mean overlap Σ_i A_h,i·A_h',i between heads (heads differ)
    encoder_offset: bool = False  # aligned: per-dimension offsets (off: a named dimension never becomes a constant)
    taste_block: bool = False  # latent_dims: one attention logit for the whole taste block
    prune: bool = False  # aligned: relu scales, so a named dimension can be switched off exactly
    anneal_from: float = 0.0  # > 0: temperature starts here and falls geometrically to `temperature`
    anneal_epochs: int = 0  # over this many epochs; early stopping only judges epochs after it

    def check(self) -> None:
        problems = []
        if self.mode not in ("aligned", "latent"):
            problems.append(f"mode must be 'aligned' or 'latent', got {self.mode!r}")
        if self.monitor not in ("val_auc", "val_loss", "last"):
            problems.append(f"monitor must be 'val_auc', 'val_loss' or 'last', got {self.monitor!r}")
        if self.loss not in ("bce", "bpr"):
            problems.append(f"loss must be 'bce' or 'bpr', got {self.loss!r}")
        for name in ("d", "heads", "negatives", "epochs", "batch_size", "patience"):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name} must be at least 1")
        if self.hidden < 0:
            problems.append("hidden must be ≥ 0")
        if not (self.temperature > 0 and self.lr > 0 and self.weight_decay >= 0):
            problems.append("temperature and lr must be > 0, weight_decay ≥ 0")
        if not 0 < self.val_fraction < 1:
            problems.append("val_fraction must be between 0 and 1")
        if self.mode == "aligned" and self.use_ids:
            problems.append("use_ids applies to latent mode only (aligned: latent_dims adds the ids)")
        if self.user_profile not in ("columns", "history"):
            problems.append(f"user_profile must be 'columns' or 'history', got {self.user_profile!r}")
        elif self.user_profile == "history" and self.mode != "aligned":
            problems.append("user_profile='history' applies to aligned mode only")
        from attnrec.attention import NORMALIZERS

        if self.attention not in NORMALIZERS:
            problems.append(f"attention must be one of {', '.join(NORMALIZERS)}, got {self.attention!r}")
        if self.presence_mask and not self.null_slot:
            problems.append("presence_mask needs null_slot")
        if self.latent_dims < 0 or (self.latent_dims and self.mode != "aligned"):
            problems.append("latent_dims must be ≥ 0 and applies to aligned mode only")
        if self.anneal_from < 0 or self.anneal_epochs < 0 or (self.anneal_from > 0) != (self.anneal_epochs > 0):
            problems.append("anneal_from and anneal_epochs go together (both > 0, or both 0)")
        if not 0 <= self.entropy_target < 1:
            problems.append("entropy_target must be in [0, 1)")
        if not self.diversity_weight >= 0:
            problems.append("diversity_weight must be ≥ 0")
        if not self.entropy_weight >= 0:
            problems.append("entropy_weight must be ≥ 0")
        if self.features not in ("all", "ids"):
            problems.append(f"features must be 'all' or 'ids', got {self.features!r}")
        elif self.features == "ids" and not (self.mode == "latent" and self.use_ids):
            problems.append("features='ids' needs latent mode with use_ids")
        if self.popularity and self.mode != "aligned":
            problems.append("popularity applies to aligned mode only")
        if not self.l2 >= 0:
            problems.append("l2 must be ≥ 0")
        if problems:
            raise ValueError("; ".join(problems))


# The recipe of the shipped readable hybrid (docs/metrics.md, "Attention worth reading"): named dimensions from
# the users' history, a "popular place" dimension, a 16-dimension taste block learned from ids, 1.5-entmax with a
# presence mask and a null slot, 8 heads, temperature annealed 100 → 1, BPR-MF-like optimisation.
READABLE_HYBRID = {
    "mode": "aligned",
    "user_profile": "history",
    "popularity": True,
    "latent_dims": 16,
    "taste_block": True,
    "attention": "entmax15",
    "presence_mask": True,
    "null_slot": True,
    "heads": 8,
    "anneal_from": 100.0,
    "anneal_epochs": 100,
    "loss": "bpr",
    "lr": 0.01,
    "negatives": 1,
    "observed_negatives": False,
    "l2": 0.01,
    "weight_decay": 0.0,
    "learn_scale": False,
    "monitor": "last",
    "epochs": 200,
    "val_fraction": 0.03,
}


def readable_hybrid(**overrides: Any) -> TrainConfig:
    """TrainConfig of the readable hybrid recipe, with `overrides` (e.g. epochs, seed, device)."""
    return TrainConfig(**{**READABLE_HYBRID, **overrides})

"""Training: implicit feedback, sampled negatives, early stopping on a validation split, calibration.

Labels are binary (the data layer binarises ratings). Each epoch pairs every training positive with
`negatives` items drawn uniformly from the items the user has no positive with; observed negatives
(label 0 rows) join every epoch as negatives too, unless `observed_negatives=False`. Optional, BPR-MF-like:
`l2` (L2 on the batch's X and Y as a loss term), `learn_scale=False` (BPR: a stays at d²/H while training),
`monitor="last"` (no early stopping), `features="ids"` (latent ids only), `popularity` (aligned "popular place"
dimension, from the training positives only). The validation split (a seeded `val_fraction` of the
positives and observed negatives, with fixed sampled negatives) picks the epoch to keep: by default the one
with the best full-ranking validation AUC (`monitor="val_auc"`), or the lowest validation loss. At the end,
a and b of σ(a·S + b) are refit by logistic regression of the label on S over the validation pairs, so
"probability" means: chance this pair is a positive, in a pool with `negatives` random items per positive.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import pandas as pd
import torch

from attnrec.baselines import KeySet
from attnrec.data.types import Dataset
from attnrec.device import resolve_device, single_cpu_thread
from attnrec.model import Recommender
from attnrec.progress import progress_bar, wanted

__all__ = ["TrainConfig", "train", "TrainingStopped", "READABLE_HYBRID", "readable_hybrid"]


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


class _Best(TypedDict):
    """The epoch kept so far: its monitored value (lower is better), number, validation loss and weights."""

    value: float
    epoch: int
    val_loss: float
    state: dict[str, torch.Tensor]


class TrainingStopped(Exception):
    """Raised inside the loop when stop_event is set; train() catches it and keeps the best epoch."""


def _catalog_rows(catalog_ids: list[str], ids, what: str) -> np.ndarray:
    """Row of each id in the catalog (int64); an id not in it is a KeyError."""
    rows = pd.Index(catalog_ids).get_indexer(pd.Series(ids).astype(str))
    if (rows < 0).any():
        raise KeyError(f"{what} id '{list(ids)[int(np.argmax(rows < 0))]}' is not in the model's catalog")
    return rows.astype(np.int64)


class _Pairs:
    """Interaction pairs as row indices into the model's catalog."""

    def __init__(self, model: Recommender, dataset: Dataset):
        inter = dataset.interactions
        users = _catalog_rows(model.user_ids, inter["user_id"], "user")  # vectorised: no Python loop per row
        items = _catalog_rows(model.item_ids, inter["item_id"], "item")
        labels = inter["label"].to_numpy().astype(np.int64)
        self.n_items = len(model.item_ids)
        self.n_users = len(model.user_ids)
        keys = users * self.n_items + items
        self.positive_keys = np.unique(keys[labels == 1])
        self._positive = KeySet(self.positive_keys)  # sorted once: no re-sort per batch as np.isin would
        is_neg = (labels == 0) & ~self._positive.contains(keys)  # a pair seen as both counts as positive
        self.pos_u, self.pos_i = users[labels == 1], items[labels == 1]
        self.touched_keys = np.unique(keys)
        self.neg_u, self.neg_i = users[is_neg], items[is_neg]

    def sample_negatives(self, users: np.ndarray, count: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """`count` items per user with no positive for that user (rejection sampling, vectorised)."""
        u = np.repeat(users, count)
        j = rng.integers(0, self.n_items, len(u))
        for _ in range(50):
            bad = self._positive.contains(u * self.n_items + j)
            if not bad.any():
                break
            j[bad] = rng.integers(0, self.n_items, int(bad.sum()))
        return u, j


def _split(pairs: _Pairs, fraction: float, rng):
    def pick(n):
        mask = np.zeros(n, dtype=bool)
        mask[rng.permutation(n)[: max(1, int(round(fraction * n)))] if n else []] = True
        return mask

    val_pos, val_neg = pick(len(pairs.pos_u)), pick(len(pairs.neg_u))
    train = (pairs.pos_u[~val_pos], pairs.pos_i[~val_pos], pairs.neg_u[~val_neg], pairs.neg_i[~val_neg])
    val = (pairs.pos_u[val_pos], pairs.pos_i[val_pos], pairs.neg_u[val_neg], pairs.neg_i[val_neg])
    return train, val


def _pair_scores(model: Recommender, u, i) -> torch.Tensor:
    return model(model.user_matrix[u], model.item_matrix[i])


# An epoch with more pairs than this (positives × (1 + negatives) + observed negatives) is built and shuffled a
# shard at a time (`_sharded_bce_batches`): memory for one shard's pairs, not the whole epoch's (at 18M positives
# the epoch's arrays alone were ~3 GB). Smaller epochs are built whole, exactly as before.
EPOCH_SHARD_PAIRS = 8_000_000


def _sharded_bce_batches(train, pairs, config, rng, device):
    """BCE batches of a large epoch: positives (and observed negatives) in one seeded random order, cut into
    shards of about EPOCH_SHARD_PAIRS pairs; each shard samples its positives' negatives and is shuffled on its
    own. Every positive and observed negative appears once per epoch, each positive with `negatives` samples."""
    pos_u, pos_i, obs_u, obs_i = train
    pos_order, obs_order = rng.permutation(len(pos_u)), rng.permutation(len(obs_u))
    per_shard = max(1, EPOCH_SHARD_PAIRS // (1 + config.negatives))
    shards = max(1, -(-len(pos_u) // per_shard))
    obs_per_shard = -(-len(obs_u) // shards)
    for shard in range(shards):
        take = pos_order[shard * per_shard : (shard + 1) * per_shard]
        observed = obs_order[shard * obs_per_shard : (shard + 1) * obs_per_shard]
        part = (pos_u[take], pos_i[take], obs_u[observed], obs_i[observed])
        yield from _bce_batches(part, pairs, config, rng, device, shard=True)


def _bce_batches(train, pairs, config, rng, device, shard: bool = False):
    pos_u, pos_i, obs_u, obs_i = train
    if not shard and len(pos_u) * (1 + config.negatives) + len(obs_u) > EPOCH_SHARD_PAIRS:
        yield from _sharded_bce_batches(train, pairs, config, rng, device)
        return
    neg_u, neg_i = pairs.sample_negatives(pos_u, config.negatives, rng)
    # The epoch's pairs as int32 rows and float32 labels (half the memory of int64 / float64 at 10^7 pairs);
    # each batch goes back to int64 indices, so the numbers are the same.
    narrow = np.int32 if max(pairs.n_users, pairs.n_items) < 2**31 else np.int64
    u = np.concatenate([pos_u, neg_u, obs_u], dtype=narrow, casting="same_kind")
    del neg_u
    i = np.concatenate([pos_i, neg_i, obs_i], dtype=narrow, casting="same_kind")
    del neg_i
    y = np.zeros(len(u), dtype=np.float32)
    y[: len(pos_u)] = 1.0
    order = rng.permutation(len(u))
    size = config.batch_size * (1 + config.negatives)  # about batch_size positives per step
    for start in range(0, len(order), size):
        idx = order[start : start + size]
        yield (
            torch.as_tensor(u[idx].astype(np.int64), device=device),
            torch.as_tensor(i[idx].astype(np.int64), device=device),
            torch.as_tensor(y[idx], dtype=torch.float32, device=device),
        )


def _bpr_triples(pos_u, pos_i, obs_u, obs_i, pairs, negatives, rng):
    """(user, positive, negative): sampled negatives, plus each observed negative against a positive of its user."""
    u, j = pairs.sample_negatives(pos_u, negatives, rng)
    i = np.repeat(pos_i, negatives)
    if len(obs_u):
        by_user = {}
        for user, item in zip(pos_u.tolist(), pos_i.tolist()):
            by_user.setdefault(user, []).append(item)
        keep = np.array([user in by_user for user in obs_u.tolist()], dtype=bool)
        chosen = np.array(
            [by_user[user][rng.integers(len(by_user[user]))] for user in obs_u[keep].tolist()], dtype=np.int64
        )
        u, i, j = np.concatenate([u, obs_u[keep]]), np.concatenate([i, chosen]), np.concatenate([j, obs_i[keep]])
    return u, i, j


def _temperature_at(config: TrainConfig, epoch: int) -> float:
    """Temperature annealing: τ_start^(1−t) · τ^t with t = (epoch − 1) / anneal_epochs, then τ."""
    if not config.anneal_epochs or epoch > config.anneal_epochs:
        return float(config.temperature)
    t = (epoch - 1) / config.anneal_epochs
    return float(config.anneal_from ** (1 - t) * config.temperature**t)


def _head_overlap(trace) -> torch.Tensor:
    """Mean over pairs, sides and pairs of heads h ≠ h' of Σ_i A_h,i·A_h',i (0 = disjoint heads, 1 = the same
    single dimension)."""
    sides = []
    for a in (trace.a_u, trace.a_v):
        gram = a @ a.transpose(1, 2)  # (B, H, H)
        heads = a.shape[1]
        sides.append((gram.sum(dim=(1, 2)) - gram.diagonal(dim1=1, dim2=2).sum(-1)).mean() / (heads * (heads - 1)))
    return (sides[0] + sides[1]) / 2


def _normalised_entropy(trace, units: list[list[int]] | None = None) -> torch.Tensor:
    """Mean over pairs, heads and both sides of H(A)/log(#units) (0 = one unit, 1 = uniform); the weights
    of a unit (a taste block) are summed first, as attnrec.quality measures it."""
    a = torch.stack([trace.a_u, trace.a_v])
    if units is not None and len(units) != a.shape[-1]:
        member = torch.zeros(a.shape[-1], len(units), dtype=a.dtype, device=a.device)
        for j, unit in enumerate(units):
            member[unit, j] = 1.0
        a = a @ member
    n = a.shape[-1]
    return -(a * torch.log(a.clamp_min(1e-12))).sum(-1).mean() / math.log(n) if n > 1 else a.new_zeros(())


def _loss(model, config, batch):
    x = model.encode_user(model.user_matrix[batch[0]])
    y = model.encode_item(model.item_matrix[batch[1]])
    trace = model.attention(x, y)
    s = trace.s
    penalty = model.l2_terms(x) + model.l2_terms(y)
    sharpen = 0.0
    if config.diversity_weight and trace.a_u.shape[1] > 1:
        sharpen = config.diversity_weight * _head_overlap(trace)
    if config.entropy_weight:
        entropy = _normalised_entropy(trace, model.attention_units())
        sharpen = sharpen + config.entropy_weight * (
            (entropy - config.entropy_target) ** 2 if config.entropy_target else entropy
        )
    if config.loss == "bce":
        logits = model.calibration[0] * s + model.calibration[1]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, batch[2])
    else:
        y_j = model.encode_item(model.item_matrix[batch[2]])
        penalty = penalty + model.l2_terms(y_j)
        # The same scale a as BCE, so BPR also sees differences of order one from the first step.
        # |a|: a learned scale that crossed zero would turn "higher S ranks first" upside down (seen: AUC 0.20).
        margin = model.calibration[0].abs() * (s - model.attention(x, y_j).s)
        loss = -torch.nn.functional.logsigmoid(margin).mean()
    return loss + sharpen + (config.l2 * penalty.mean() if config.l2 else 0.0)


def _epoch_batches(train, pairs, config, rng, device):
    if config.loss == "bce":
        yield from _bce_batches(train, pairs, config, rng, device)
        return
    u, i, j = _bpr_triples(*train, pairs, config.negatives, rng)
    order = rng.permutation(len(u))
    for start in range(0, len(order), config.batch_size * config.negatives):
        idx = order[start : start + config.batch_size * config.negatives]
        yield tuple(torch.as_tensor(a[idx], device=device) for a in (u, i, j))


def _fixed_validation(val, pairs, config, rng, device):
    """Validation batches drawn once, so every epoch is judged on the same pairs."""
    pos_u, pos_i, obs_u, obs_i = val
    if config.loss == "bce":
        neg_u, neg_i = pairs.sample_negatives(pos_u, config.negatives, rng)
        u, i = np.concatenate([pos_u, neg_u, obs_u]), np.concatenate([pos_i, neg_i, obs_i])
        y = np.concatenate([np.ones(len(pos_u)), np.zeros(len(neg_u) + len(obs_u))])
        return (
            torch.as_tensor(u, device=device),
            torch.as_tensor(i, device=device),
            torch.as_tensor(y, dtype=torch.float32, device=device),
        )
    u, i, j = _bpr_triples(pos_u, pos_i, obs_u, obs_i, pairs, config.negatives, rng)
    return tuple(torch.as_tensor(a, device=device) for a in (u, i, j))


# Full-ranking validation AUC scores every catalog item for each validation user: at most this many users
# (a fixed seeded sample), so it no longer dominates an epoch on larger data (30k positives: 67 % before).
VALIDATION_AUC_USERS = 256


# Validation pairs are scored this many at a time: the dense rows of one chunk are gathered, never the whole
# validation set at once (that grew memory by ~6.8 KB per interaction: 1.2 GB at 100k ratings).
VALIDATION_CHUNK = 4096


def _chunks(batch: tuple, size: int | None = None):
    size = size or VALIDATION_CHUNK
    n = len(batch[0])
    for start in range(0, n, size):
        yield tuple(t[start : start + size] for t in batch)


@torch.no_grad()
def _validation_loss(model: Recommender, config: TrainConfig, validation: tuple) -> float:
    """`_loss` over the fixed validation pairs, chunk by chunk, weighted by chunk size: the same mean as one
    pass over all of them (every term is a mean over pairs; an entropy target's square is taken per chunk)."""
    n = len(validation[0])
    if not n:
        return float("nan")
    total = 0.0
    for chunk in _chunks(validation):
        total += float(_loss(model, config, chunk)) * len(chunk[0])
    return total / n


@torch.no_grad()
def _chunked_pair_scores(model: Recommender, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    return torch.cat([_pair_scores(model, cu, ci) for cu, ci in _chunks((u, i))]) if len(u) else u.new_zeros(0)


def _validation_auc(model: Recommender, val, pairs: _Pairs, progress: bool = False) -> float:
    """Mean full-ranking AUC of validation positives against every item the user has no positive or
    observed negative with — the evaluation protocol in miniature, so early stopping serves ranking."""
    from attnrec.evaluation import ranking_metrics

    pos_u, pos_i = val[0], val[1]
    if not len(pos_u):
        return float("nan")
    keys, n = pairs.touched_keys, pairs.n_items  # sorted, so one user's items are one slice
    aucs = []
    users = np.unique(pos_u)
    if len(users) > VALIDATION_AUC_USERS:  # the same fixed sample every epoch: bounded cost, comparable epochs
        users = np.sort(np.random.default_rng(0).choice(users, VALIDATION_AUC_USERS, replace=False))
    user_ids = model.user_ids
    for user in progress_bar(users, desc="validation AUC", progress=progress, unit="user", position=1):
        scores = model.scores_for_user(user_ids[user]).numpy()
        lo, hi = np.searchsorted(keys, [user * n, (user + 1) * n])
        mask = np.ones(n, dtype=bool)
        mask[keys[lo:hi] - user * n] = False
        for item in pos_i[pos_u == user]:
            aucs.append(ranking_metrics(scores[item], scores[mask], k=10)[2])
    return float(np.mean(aucs))


def _calibrate(model: Recommender, val, pairs, rng, negatives: int) -> dict:
    """Refit a, b: logistic regression of label on S over validation positives and negatives."""
    from sklearn.linear_model import LogisticRegression

    pos_u, pos_i, obs_u, obs_i = val
    neg_u, neg_i = pairs.sample_negatives(pos_u, negatives, rng)
    u, i = np.concatenate([pos_u, neg_u, obs_u]), np.concatenate([pos_i, neg_i, obs_i])
    y = np.concatenate([np.ones(len(pos_u)), np.zeros(len(neg_u) + len(obs_u))])
    device = model.device
    s = _chunked_pair_scores(model, torch.as_tensor(u, device=device), torch.as_tensor(i, device=device)).cpu().numpy()
    if len(np.unique(y)) < 2 or np.ptp(s) == 0:
        return {"calibrated": False}
    fit = LogisticRegression(C=1e4).fit(s.reshape(-1, 1).astype(np.float64), y)
    with torch.no_grad():
        model.calibration.copy_(torch.tensor([fit.coef_[0, 0], fit.intercept_[0]], dtype=torch.float32))
    return {"calibrated": True, "a": float(fit.coef_[0, 0]), "b": float(fit.intercept_[0]), "pairs": int(len(y))}


def train(
    dataset: Dataset,
    config: TrainConfig | None = None,
    progress: bool | None = True,
    callback: Callable[[int, dict], None] | None = None,
    stop_event: threading.Event | None = None,
) -> Recommender:
    """Fit a Recommender on `dataset`'s interactions; see the module docstring for the recipe.

    callback(epoch, metrics) runs after every epoch (metrics: train_loss, val_loss, val_auc, best_epoch,
    seconds);
    setting `stop_event` (a threading.Event) ends training after the current batch, keeping the best epoch.
    progress: True shows progress bars (epochs, and each epoch's validation), False none, None only when
    stderr is a terminal (attnrec.progress).
    """
    config = config or TrainConfig()
    config.check()
    device = resolve_device(config.device)
    with single_cpu_thread(device):
        return _train(dataset, config, device, progress, callback, stop_event)


def _train(dataset, config, device, progress, callback, stop_event) -> Recommender:
    from attnrec.data.featurize import Featurizer

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    featurizer = Featurizer.fit(
        dataset,
        config.mode,
        use_ids=config.use_ids or config.latent_dims > 0,
        features=config.features,
        popularity=config.popularity,
        user_profile=config.user_profile,
    )
    model = Recommender.from_featurizer(
        featurizer,
        dataset,
        d=config.d,
        heads=config.heads,
        tied=config.tied,
        temperature=config.temperature,
        hidden=config.hidden,
        attention=config.attention,
        presence_mask=config.presence_mask,
        null_slot=config.null_slot,
        latent_dims=config.latent_dims,
        encoder_offset=config.encoder_offset if config.mode == "aligned" else True,
        taste_block=config.taste_block,
        prune=config.prune and config.mode == "aligned",
    ).to(device)
    pairs = _Pairs(model, dataset)
    if len(pairs.pos_u) < 2:
        raise ValueError(f"dataset '{dataset.name}' has {len(pairs.pos_u)} positive interactions; need at least 2")
    train_part, val_part = _split(pairs, config.val_fraction, rng)
    if not config.observed_negatives:
        train_part = (train_part[0], train_part[1], train_part[2][:0], train_part[3][:0])
    validation = _fixed_validation(val_part, pairs, config, rng, device)
    params = [
        p for name, p in model.named_parameters() if config.learn_scale or config.loss != "bpr" or name != "calibration"
    ]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)

    model.eval()
    initial_val_loss = _validation_loss(model, config, validation)
    sign = -1.0 if config.monitor == "val_auc" else 1.0  # early stopping minimises sign · monitored value
    initial = {"val_loss": initial_val_loss, "val_auc": _validation_auc(model, val_part, pairs)}
    initial["last"] = float("inf")
    best: _Best = {
        "value": sign * initial[config.monitor],
        "epoch": 0,
        "val_loss": initial_val_loss,
        "state": copy.deepcopy(model.state_dict()),
    }
    history, stopped_by = [], "epochs"
    show = wanted(progress)
    bar = progress_bar(range(1, config.epochs + 1), desc=f"train {config.mode}", progress=show, unit="epoch")
    started = time.perf_counter()
    try:
        for epoch in bar:
            tick = time.perf_counter()
            model.temperature = _temperature_at(config, epoch)
            model._item_cache = None
            model.train()
            total, count = 0.0, 0
            for batch in _epoch_batches(train_part, pairs, config, rng, device):
                if stop_event is not None and stop_event.is_set():
                    raise TrainingStopped
                loss = _loss(model, config, batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch[0])
                count += len(batch[0])
            model.eval()
            val_loss = _validation_loss(model, config, validation)
            val_auc = _validation_auc(model, val_part, pairs, progress=show)
            value = (
                -float(epoch)
                if config.monitor == "last"
                else sign * (val_auc if config.monitor == "val_auc" else val_loss)
            )
            if epoch > config.anneal_epochs and (
                value < best["value"] - 1e-5 or best["epoch"] < config.anneal_epochs + 1 and config.anneal_epochs
            ):
                best = {
                    "value": value,
                    "epoch": epoch,
                    "val_loss": val_loss,
                    "state": copy.deepcopy(model.state_dict()),
                }
            metrics = {
                "epoch": epoch,
                "train_loss": total / max(count, 1),
                "val_loss": val_loss,
                "val_auc": val_auc,
                "best_epoch": best["epoch"],
                "seconds": time.perf_counter() - tick,
            }
            history.append(metrics)
            bar.set_postfix(
                train=f"{metrics['train_loss']:.4f}", val=f"{val_loss:.4f}", auc=f"{val_auc:.3f}", best=best["epoch"]
            )
            if callback is not None:
                callback(epoch, dict(metrics))
            if epoch > config.anneal_epochs and epoch - best["epoch"] >= config.patience:
                stopped_by = "early stopping"
                break
    except TrainingStopped:
        stopped_by = "stop requested"
    finally:
        bar.close()
    model.load_state_dict(best["state"])
    model.temperature = float(config.temperature)
    model.eval()
    calibration = _calibrate(model, val_part, pairs, rng, config.negatives)
    model.config["training"] = {
        **dataclasses.asdict(config),
        "device": str(device),
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "initial_val_loss": initial_val_loss,
        "best_val_loss": best["val_loss"],
        "initial_val_auc": initial["val_auc"],
        "best_val_auc": _validation_auc(model, val_part, pairs),
        "stopped_by": stopped_by,
        "seconds": time.perf_counter() - started,
        "calibration": calibration,
        "history": [{k: round(v, 6) if isinstance(v, float) else v for k, v in h.items()} for h in history],
    }
    model._item_cache = None
    return model

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
from typing import TypedDict

import numpy as np
import torch

from attnrec.data.types import Dataset
from attnrec.device import resolve_device, single_cpu_thread
from attnrec.model import Recommender
from attnrec.progress import progress_bar, wanted
from attnrec.training_config import TrainConfig
from attnrec.training_pairs import Pairs, epoch_batches, fixed_validation, validation_split

__all__ = ["TrainConfig", "train", "TrainingStopped"]


class _Best(TypedDict):
    """The epoch kept so far: its monitored value (lower is better), number, validation loss and weights."""

    value: float
    epoch: int
    val_loss: float
    state: dict[str, torch.Tensor]


class TrainingStopped(Exception):
    """Raised inside the loop when stop_event is set; train() catches it and keeps the best epoch."""


def _pair_scores(model: Recommender, u, i) -> torch.Tensor:
    return model(model.user_matrix[u], model.item_matrix[i])


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


def _validation_auc(model: Recommender, val, pairs: Pairs, progress: bool = False) -> float:
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
    pairs = Pairs(model, dataset)
    if len(pairs.pos_u) < 2:
        raise ValueError(f"dataset '{dataset.name}' has {len(pairs.pos_u)} positive interactions; need at least 2")
    train_part, val_part = validation_split(pairs, config.val_fraction, rng)
    if not config.observed_negatives:
        train_part = (train_part[0], train_part[1], train_part[2][:0], train_part[3][:0])
    validation = fixed_validation(val_part, pairs, config, rng, device)
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
            for batch in epoch_batches(train_part, pairs, config, rng, device):
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

"""Training pairs and epochs: interactions as catalog rows, the validation split, sampled negatives, and the
batches of one epoch (BCE pairs, sharded when large; BPR triples) and of the fixed validation set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from attnrec.baselines import KeySet
from attnrec.data.types import Dataset
from attnrec.model import Recommender

__all__ = ["EPOCH_SHARD_PAIRS", "Pairs", "validation_split", "epoch_batches", "fixed_validation", "bce_batches"]


def catalog_rows(catalog_ids: list[str], ids, what: str) -> np.ndarray:
    """Row of each id in the catalog (int64); an id not in it is a KeyError."""
    rows = pd.Index(catalog_ids).get_indexer(pd.Series(ids).astype(str))
    if (rows < 0).any():
        raise KeyError(f"{what} id '{list(ids)[int(np.argmax(rows < 0))]}' is not in the model's catalog")
    return rows.astype(np.int64)


class Pairs:
    """Interaction pairs as row indices into the model's catalog."""

    def __init__(self, model: Recommender, dataset: Dataset):
        inter = dataset.interactions
        users = catalog_rows(model.user_ids, inter["user_id"], "user")  # vectorised: no Python loop per row
        items = catalog_rows(model.item_ids, inter["item_id"], "item")
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


def validation_split(pairs: Pairs, fraction: float, rng):
    def pick(n):
        mask = np.zeros(n, dtype=bool)
        mask[rng.permutation(n)[: max(1, int(round(fraction * n)))] if n else []] = True
        return mask

    val_pos, val_neg = pick(len(pairs.pos_u)), pick(len(pairs.neg_u))
    train = (pairs.pos_u[~val_pos], pairs.pos_i[~val_pos], pairs.neg_u[~val_neg], pairs.neg_i[~val_neg])
    val = (pairs.pos_u[val_pos], pairs.pos_i[val_pos], pairs.neg_u[val_neg], pairs.neg_i[val_neg])
    return train, val


# An epoch with more pairs than this (positives × (1 + negatives) + observed negatives) is built and shuffled a
# shard at a time (`sharded_bce_batches`): memory for one shard's pairs, not the whole epoch's (at 18M positives
# the epoch's arrays alone were ~3 GB). Smaller epochs are built whole, exactly as before.
EPOCH_SHARD_PAIRS = 8_000_000


def sharded_bce_batches(train, pairs, config, rng, device):
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
        yield from bce_batches(part, pairs, config, rng, device, shard=True)


def bce_batches(train, pairs, config, rng, device, shard: bool = False):
    pos_u, pos_i, obs_u, obs_i = train
    if not shard and len(pos_u) * (1 + config.negatives) + len(obs_u) > EPOCH_SHARD_PAIRS:
        yield from sharded_bce_batches(train, pairs, config, rng, device)
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


def bpr_triples(pos_u, pos_i, obs_u, obs_i, pairs, negatives, rng):
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


def epoch_batches(train, pairs, config, rng, device):
    if config.loss == "bce":
        yield from bce_batches(train, pairs, config, rng, device)
        return
    u, i, j = bpr_triples(*train, pairs, config.negatives, rng)
    order = rng.permutation(len(u))
    for start in range(0, len(order), config.batch_size * config.negatives):
        idx = order[start : start + config.batch_size * config.negatives]
        yield tuple(torch.as_tensor(a[idx], device=device) for a in (u, i, j))


def fixed_validation(val, pairs, config, rng, device):
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
    u, i, j = bpr_triples(pos_u, pos_i, obs_u, obs_i, pairs, config.negatives, rng)
    return tuple(torch.as_tensor(a, device=device) for a in (u, i, j))

"""Reference recommenders evaluated by the same protocol as ours: item popularity and BPR-MF.

Both expose `item_ids` and `scores_for_user(user_id)`, the interface `evaluation.evaluate` expects.
"""

from __future__ import annotations

import numpy as np
import torch

from attnrec.data.types import Dataset
from attnrec.device import single_cpu_thread
from attnrec.progress import progress_bar

__all__ = ["Popularity", "BPRMF", "KeySet"]


class KeySet:
    """Membership of int64 keys in a fixed set: sorted once, then one binary search per query.

    `contains(x)` equals `np.isin(x, keys)` (same booleans), but `np.isin` sorts the whole key set again
    on every call, which made BPR-MF's negative resampling cost most of each epoch on 100k ratings."""

    def __init__(self, keys: np.ndarray):
        self.keys = np.unique(np.asarray(keys, dtype=np.int64))  # sorted, unique

    def __len__(self) -> int:
        return len(self.keys)

    def contains(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        if not len(self.keys):
            return np.zeros(x.shape, dtype=bool)
        at = np.searchsorted(self.keys, x)
        return self.keys[np.minimum(at, len(self.keys) - 1)] == x


class Popularity:
    """Score = number of positive interactions the item has in the training data (same for everyone)."""

    def __init__(self, dataset: Dataset):
        self.item_ids = [str(i) for i in dataset.items.index]
        counts = dataset.positives["item_id"].astype(str).value_counts()
        self.counts = np.array([counts.get(i, 0) for i in self.item_ids], dtype=np.float64)

    def scores_for_user(self, user_id: str) -> np.ndarray:
        return self.counts


class BPRMF:
    """Matrix factorisation with BPR loss: S = p_u · q_i + b_i, trained on (user, positive, sampled negative)."""

    # Defaults tuned on restaurants (docs/metrics.md): dim 64, 200 epochs, lr 0.01, L2 1e-2.
    def __init__(
        self,
        dataset: Dataset,
        dim: int = 64,
        epochs: int = 200,
        lr: float = 0.01,
        reg: float = 1e-2,
        batch_size: int = 256,
        seed: int = 0,
        progress: bool | None = False,
    ):
        self.item_ids = [str(i) for i in dataset.items.index]
        self.user_ids = [str(u) for u in dataset.users.index]
        self._user_row = {u: r for r, u in enumerate(self.user_ids)}
        item_row = {i: r for r, i in enumerate(self.item_ids)}
        pos = dataset.positives
        users = np.array([self._user_row[str(u)] for u in pos["user_id"]])
        items = np.array([item_row[str(i)] for i in pos["item_id"]])
        generator = torch.Generator().manual_seed(seed)
        self.p = torch.nn.Parameter(0.1 * torch.randn(len(self.user_ids), dim, generator=generator))
        self.q = torch.nn.Parameter(0.1 * torch.randn(len(self.item_ids), dim, generator=generator))
        self.b = torch.nn.Parameter(torch.zeros(len(self.item_ids)))
        with single_cpu_thread():
            self._fit(users, items, epochs, lr, reg, batch_size, np.random.default_rng(seed), progress)

    def _fit(self, users, items, epochs, lr, reg, batch_size, rng, progress=False):
        n_items = len(self.item_ids)
        positive = KeySet(users.astype(np.int64) * n_items + items)
        optimizer = torch.optim.Adam([self.p, self.q, self.b], lr=lr)
        for _ in progress_bar(range(epochs), desc="BPR-MF baseline", progress=progress, unit="epoch"):
            order = rng.permutation(len(users))
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                u, i = users[idx], items[idx]
                j = rng.integers(0, n_items, len(idx))
                for _ in range(50):  # resample the negatives that are actually positives
                    bad = positive.contains(u * n_items + j)
                    if not bad.any():
                        break
                    j[bad] = rng.integers(0, n_items, int(bad.sum()))
                u, i, j = (torch.as_tensor(a) for a in (u, i, j))
                pu = self.p[u]
                diff = (pu * (self.q[i] - self.q[j])).sum(1) + self.b[i] - self.b[j]
                loss = -torch.nn.functional.logsigmoid(diff).mean()
                loss = loss + reg * (pu.pow(2).sum(1) + self.q[i].pow(2).sum(1) + self.q[j].pow(2).sum(1)).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

    @torch.no_grad()
    def scores_for_user(self, user_id: str) -> np.ndarray:
        row = self._user_row.get(str(user_id))
        if row is None:  # unseen user: the item biases alone (a learned popularity)
            return self.b.numpy().astype(np.float64)
        return (self.q @ self.p[row] + self.b).numpy().astype(np.float64)

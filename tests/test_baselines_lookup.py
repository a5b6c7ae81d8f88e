"""BPR-MF's negative resampling uses a sorted-key lookup (baselines.KeySet) instead of `np.isin` on every
batch. The old implementation is kept here verbatim as the reference: same seed → the very same embeddings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from attnrec.baselines import BPRMF, KeySet
from attnrec.data.types import Dataset


def _old_bprmf_fit(model, users, items, epochs, lr, reg, batch_size, rng):
    """attnrec.baselines.BPRMF._fit before the lookup change (np.isin over all positive keys per batch)."""
    n_items = len(model.item_ids)
    positive = np.unique(users * n_items + items)
    optimizer = torch.optim.Adam([model.p, model.q, model.b], lr=lr)
    for _ in range(epochs):
        order = rng.permutation(len(users))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            u, i = users[idx], items[idx]
            j = rng.integers(0, n_items, len(idx))
            for _ in range(50):
                bad = np.isin(u * n_items + j, positive)
                if not bad.any():
                    break
                j[bad] = rng.integers(0, n_items, int(bad.sum()))
            u, i, j = (torch.as_tensor(a) for a in (u, i, j))
            pu = model.p[u]
            diff = (pu * (model.q[i] - model.q[j])).sum(1) + model.b[i] - model.b[j]
            loss = -torch.nn.functional.logsigmoid(diff).mean()
            loss = loss + reg * (pu.pow(2).sum(1) + model.q[i].pow(2).sum(1) + model.q[j].pow(2).sum(1)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def _dense_dataset():
    # Dense enough (each user likes ~40 % of the items) that many sampled negatives are positives and
    # must be resampled, several times for some: the path the lookup replaces is exercised.
    rng = np.random.default_rng(5)
    users = pd.DataFrame(index=[f"u{k}" for k in range(30)])
    items = pd.DataFrame(index=[f"i{k}" for k in range(25)])
    rows = [(f"u{u}", f"i{i}", 1) for u in range(30) for i in rng.choice(25, 10, replace=False)]
    return Dataset("dense", users, items, pd.DataFrame(rows, columns=["user_id", "item_id", "label"]), {})


def test_keyset_matches_np_isin_on_random_keys():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 10_000, 3_000)
    queries = rng.integers(-5, 10_005, 20_000)
    assert np.array_equal(KeySet(keys).contains(queries), np.isin(queries, keys))
    assert not KeySet(np.array([], dtype=np.int64)).contains(queries).any()
    assert KeySet(keys).contains(np.array([keys.max(), keys.min()])).all()


def test_bprmf_with_the_lookup_is_identical_to_the_np_isin_version():
    data = _dense_dataset()
    new = BPRMF(data, dim=6, epochs=5, batch_size=32, seed=3)

    # The reference: the same initialisation (BPRMF's own __init__ up to _fit), then the old loop.
    old = BPRMF.__new__(BPRMF)
    old.item_ids = [str(i) for i in data.items.index]
    old.user_ids = [str(u) for u in data.users.index]
    old._user_row = {u: r for r, u in enumerate(old.user_ids)}
    item_row = {i: r for r, i in enumerate(old.item_ids)}
    users = np.array([old._user_row[str(u)] for u in data.positives["user_id"]])
    items = np.array([item_row[str(i)] for i in data.positives["item_id"]])
    generator = torch.Generator().manual_seed(3)
    old.p = torch.nn.Parameter(0.1 * torch.randn(len(old.user_ids), 6, generator=generator))
    old.q = torch.nn.Parameter(0.1 * torch.randn(len(old.item_ids), 6, generator=generator))
    old.b = torch.nn.Parameter(torch.zeros(len(old.item_ids)))
    _old_bprmf_fit(old, users, items, 5, 0.01, 1e-2, 32, np.random.default_rng(3))

    assert torch.equal(new.p, old.p) and torch.equal(new.q, old.q) and torch.equal(new.b, old.b)
    for user in ("u0", "u17", "unknown"):
        assert np.array_equal(new.scores_for_user(user), old.scores_for_user(user))
    # and training moved the embeddings (the comparison is not between two untouched initialisations)
    assert new.b.abs().max() > 0  # the item biases start at zero

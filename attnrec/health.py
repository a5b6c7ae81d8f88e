"""Dataset-level health of a trained model: how its heads attend, and the pairs it gets most wrong.

Pure and vectorised: arrays and frames in, arrays and frames out. The model is only asked for
attention traces through `Recommender.attention` (the document's math lives in attnrec/attention.py).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

__all__ = ["attention_entropy", "head_verdicts", "mean_attention", "attention_over_pairs",
           "sample_pairs", "most_wrong_pairs", "COLLAPSED_BELOW", "UNIFORM_ABOVE"]

# Normalised entropy H(a)/log d: 0 = all weight on one dimension, 1 = perfectly uniform.
# A head below COLLAPSED_BELOW on average looks at (nearly) one dimension for every pair; above
# UNIFORM_ABOVE it barely differs from the plain dot product X·Y and explains nothing.
COLLAPSED_BELOW = 0.15
UNIFORM_ABOVE = 0.97


def _as_numpy(a) -> np.ndarray:
    if torch.is_tensor(a):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def attention_entropy(a, normalized: bool = True) -> np.ndarray:
    """Entropy of each attention distribution: (B, H, d) → (B, H), in nats or divided by log d."""
    p = _as_numpy(a)
    if p.ndim != 3:
        raise ValueError(f"attention must have shape (B, H, d), got {p.shape}")
    # 0 · log 0 = 0: clip only inside the log so exact zeros contribute nothing.
    entropy = -(p * np.log(np.clip(p, 1e-300, None))).sum(axis=-1)
    d = p.shape[-1]
    if normalized:
        return entropy / math.log(d) if d > 1 else np.zeros_like(entropy)
    return entropy


def head_verdicts(normalized_entropy: np.ndarray, collapsed_below: float = COLLAPSED_BELOW,
                  uniform_above: float = UNIFORM_ABOVE) -> pd.DataFrame:
    """One row per head: mean and spread of its normalised entropy and a verdict."""
    e = np.asarray(normalized_entropy, dtype=np.float64)
    if e.ndim != 2:
        raise ValueError(f"entropy must have shape (B, H), got {e.shape}")
    mean = e.mean(axis=0)
    verdict = np.where(mean < collapsed_below, "collapsed",
                       np.where(mean > uniform_above, "uniform", "ok"))
    return pd.DataFrame({"head": np.arange(1, e.shape[1] + 1), "mean_entropy": mean,
                         "std_entropy": e.std(axis=0), "verdict": verdict})


def mean_attention(a) -> np.ndarray:
    """Average attention per head and dimension over the batch: (B, H, d) → (H, d)."""
    p = _as_numpy(a)
    if p.ndim != 3:
        raise ValueError(f"attention must have shape (B, H, d), got {p.shape}")
    return p.mean(axis=0)


def sample_pairs(interactions: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """Up to n rows of the interactions (user_id, item_id, label), drawn without replacement."""
    if len(interactions) <= n:
        return interactions[["user_id", "item_id", "label"]].reset_index(drop=True)
    return (interactions.sample(n=n, random_state=seed)[["user_id", "item_id", "label"]]
            .reset_index(drop=True))


@torch.no_grad()
def attention_over_pairs(model, user_ids, item_ids, batch_size: int = 4096) -> dict[str, np.ndarray]:
    """A_U, A_V (B, H, d) and S (B,) of the model over the given pairs, computed in batches."""
    users, items = [str(u) for u in user_ids], [str(i) for i in item_ids]
    if len(users) != len(items):
        raise ValueError(f"need as many users as items, got {len(users)} and {len(items)}")
    parts: dict[str, list[np.ndarray]] = {"a_u": [], "a_v": [], "s": []}
    for start in range(0, len(users), batch_size):
        x = model.encode_user(model.user_rows(users[start:start + batch_size]))
        y = model.encode_item(model.item_rows(items[start:start + batch_size]))
        trace = model.attention(x, y)
        for key in parts:
            parts[key].append(getattr(trace, key).cpu().numpy())
    d, h = model.d, model.heads
    empty = {"a_u": np.empty((0, h, d)), "a_v": np.empty((0, h, d)), "s": np.empty(0)}
    return {k: np.concatenate(v) if v else empty[k] for k, v in parts.items()}


def most_wrong_pairs(scored: pd.DataFrame, k: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(highest-scored negatives, lowest-scored positives) from a frame with user_id, item_id, s, label.

    Stable sorting keeps ties in input order, so the lists do not jitter between reruns.
    """
    missing = {"user_id", "item_id", "s", "label"} - set(scored.columns)
    if missing:
        raise ValueError(f"scored pairs need columns {sorted(missing)}")
    negatives = scored[scored["label"] == 0].sort_values("s", ascending=False, kind="stable").head(k)
    positives = scored[scored["label"] == 1].sort_values("s", ascending=True, kind="stable").head(k)
    return negatives.reset_index(drop=True), positives.reset_index(drop=True)

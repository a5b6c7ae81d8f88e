"""Independent numpy references for the attention variants, written from their definitions (shared by tests)."""

import numpy as np


def softmax_ref(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def sparsemax_ref(z: np.ndarray) -> np.ndarray:
    """Martins & Astudillo (2016), the closed form: sort, find the support size, threshold."""
    s = np.sort(z)[::-1]
    cumulative = np.cumsum(s)
    k = np.arange(1, len(z) + 1)
    support = k[1 + k * s > cumulative].max()
    tau = (cumulative[support - 1] - 1) / support
    return np.maximum(z - tau, 0.0)


def entmax15_ref(z: np.ndarray) -> np.ndarray:
    """1.5-entmax: p_i = [z_i/2 − τ]₊², τ found by bisection so that Σ p = 1 (Peters et al. 2019)."""
    h = z / 2
    lo, hi = h.max() - 1.0, h.max()
    for _ in range(200):
        tau = (lo + hi) / 2
        total = np.sum(np.maximum(h - tau, 0.0) ** 2)
        lo, hi = (tau, hi) if total > 1 else (lo, tau)
    p = np.maximum(h - (lo + hi) / 2, 0.0) ** 2
    return p / p.sum()


REFERENCES = {"softmax": softmax_ref, "sparsemax": sparsemax_ref, "entmax15": entmax15_ref}


def reference_attend(x, y, wu, wv, tau, normalizer="softmax", mask=None):
    """(a_u, a_v, s) for one pair, every head, in float64 numpy; mask: bool (d,), True = may be attended."""
    p = x * y
    open_ = np.ones_like(p, dtype=bool) if mask is None else mask
    a_u, a_v, s = [], [], 0.0
    for h in range(wu.shape[0]):
        weights = []
        for w in (wu[h], wv[h]):
            logits = w @ p / tau
            a = np.zeros_like(logits)
            a[open_] = REFERENCES[normalizer](logits[open_])
            weights.append(a)
        a_u.append(weights[0]), a_v.append(weights[1])
        s += np.sum(weights[0] * y * weights[1] * x)
    return np.array(a_u), np.array(a_v), s


def model_reference(model, x, y) -> dict:
    """The model's attention on its own encoded x, y (d,), rebuilt here: its normaliser, its presence mask
    (X_i·Y_i ≠ 0, plus the null slot), and its taste block (the block's rows of W averaged)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    wu = model.w_u.detach().double().numpy().copy()
    wv = wu.copy() if model.w_v is None else model.w_v.detach().double().numpy().copy()
    if getattr(model, "taste_block", False):
        block = model.taste_dimensions
        for w in (wu, wv):
            w[:, block] = w[:, block].mean(axis=1, keepdims=True)
    mask = None
    if getattr(model, "presence_mask", False):
        mask = x * y != 0
        mask[-1] = True
    a_u, a_v, s = reference_attend(x, y, wu, wv, model.temperature, getattr(model, "normalizer", "softmax"), mask)
    return {"a_u": a_u, "a_v": a_v, "z_u": a_u * y, "z_v": a_v * x, "s": s}

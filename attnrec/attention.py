"""The design document's attention model (§3.1, §4) — the one place its math lives.

For user vectors X and item vectors Y (B×d), per-head weights W_U, W_V (H×d×d), temperature τ:

    A_U = softmax(W_U (X ⊙ Y) / τ)      A_V = softmax(W_V (Y ⊙ X) / τ)     (softmax over d)
    Z_U = A_U ⊙ Y                         Z_V = A_V ⊙ X
    S   = Σ_h Σ_i Z_U[h,i] · Z_V[h,i]     → H×d exact contributions

Tied mode (W_V = W_U) is the document's literal single W_a; since X ⊙ Y = Y ⊙ X it gives A_U = A_V.

Softmax is the document's normaliser and the default. Two named variants, recorded in a model's config and
shown in the dashboard, replace it (design issue "attention worth reading"):
- `normalizer`: "sparsemax" or "entmax15" (Martins & Astudillo 2016; Peters et al. 2019, the `entmax`
  package) — the same logits, a normaliser that can give dimensions exactly zero weight.
- `mask` (B, d) or (d,) bool, True = may be attended: masked dimensions get weight exactly 0 and the rest
  renormalise (AFM's "presence" mask: a dimension with X_i·Y_i = 0 cannot be looked at). Every row needs at
  least one open dimension (models give themselves a "null slot" that is always open).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch

__all__ = ["AttentionTrace", "NORMALIZERS", "attend", "attention_scores", "check_finite", "normalize"]

NORMALIZERS = ("softmax", "sparsemax", "entmax15")


@dataclass(frozen=True)
class AttentionTrace:
    """Every intermediate of one `attend` call; tensors are (B, H, d) except `s` (B,)."""

    logits_u: torch.Tensor
    logits_v: torch.Tensor
    a_u: torch.Tensor
    a_v: torch.Tensor
    z_u: torch.Tensor
    z_v: torch.Tensor
    contributions: torch.Tensor
    s: torch.Tensor
    tied: bool = False

    def detach(self) -> "AttentionTrace":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        detached: dict[str, Any] = {k: v.detach() if torch.is_tensor(v) else v for k, v in values.items()}  # + tied
        return AttentionTrace(**detached)

    def pair(self, b: int = 0) -> dict[str, Any]:
        """Plain lists for pair b (heads × dims; `s` a float), handy for tables and JSON."""
        return {
            f.name: getattr(self, f.name)[b].detach().cpu().tolist()
            for f in fields(self)
            if torch.is_tensor(getattr(self, f.name))
        }


def check_finite(name: str, t: torch.Tensor) -> None:
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or ±inf; every entry must be a finite number")


def _as_batch(name: str, t: torch.Tensor) -> torch.Tensor:
    if not torch.is_tensor(t):
        raise ValueError(f"{name} must be a torch tensor, got {type(t).__name__}")
    if t.dim() == 1:
        return t.unsqueeze(0)
    if t.dim() == 2:
        return t
    raise ValueError(f"{name} must have shape (d,) or (B, d), got {tuple(t.shape)}")


def _as_heads(name: str, w: torch.Tensor, d: int) -> torch.Tensor:
    if not torch.is_tensor(w):
        raise ValueError(f"{name} must be a torch tensor, got {type(w).__name__}")
    heads = w.unsqueeze(0) if w.dim() == 2 else w
    if heads.dim() != 3 or heads.shape[1:] != (d, d) or heads.shape[0] < 1:
        # Report the shape the caller passed, not the one-head view of it.
        raise ValueError(f"{name} must have shape ({d}, {d}) or (H, {d}, {d}) to match d={d}, got {tuple(w.shape)}")
    return heads


def _validate(x, y, w_u, w_v, temperature):
    xb, yb = _as_batch("x", x), _as_batch("y", y)
    if xb.shape[1] != yb.shape[1]:
        raise ValueError(f"x and y must have the same dimension d, got x {tuple(x.shape)} and y {tuple(y.shape)}")
    if xb.shape[0] != yb.shape[0] and 1 not in (xb.shape[0], yb.shape[0]):
        raise ValueError(f"x and y batch sizes differ: x {tuple(x.shape)}, y {tuple(y.shape)}")
    d = xb.shape[1]
    if d < 1:
        raise ValueError("d must be at least 1")
    wu = _as_heads("w_u", w_u, d)
    wv = wu if w_v is None else _as_heads("w_v", w_v, d)
    if wv.shape[0] != wu.shape[0]:
        raise ValueError(
            f"w_u and w_v must have the same number of heads, got {tuple(w_u.shape)} and {tuple(w_v.shape)}"
        )
    if torch.is_tensor(temperature):
        t = temperature
    else:
        try:
            t = float(temperature)
        except (TypeError, ValueError):
            raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}") from None
    if torch.is_tensor(t):
        check_finite("temperature", t)
        if (t <= 0).any():
            raise ValueError("temperature must be > 0")
    elif not (t == t and abs(t) != float("inf")) or t <= 0:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
    for name, value in (("x", xb), ("y", yb), ("w_u", wu), ("w_v", wv)):
        check_finite(name, value)
    # Mixed inputs (float64 vectors, float32 weights, integer vectors) share one floating dtype,
    # so einsum/softmax never fail on a dtype mismatch and integers are not softmaxed as integers.
    dtype = _common_float_dtype(xb, yb, wu, wv)
    xb, yb, wu, wv = (v.to(dtype) for v in (xb, yb, wu, wv))
    return xb, yb, wu, wv, t


def _common_float_dtype(*tensors: torch.Tensor) -> torch.dtype:
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype if dtype.is_floating_point else torch.get_default_dtype()


def _head_logits(p: torch.Tensor, w: torch.Tensor, temperature) -> torch.Tensor:
    # p: (B, d), w: (H, d, d) → (B, H, d) with logits[b, h, i] = Σ_j w[h, i, j] p[b, j] / τ
    return torch.einsum("hij,bj->bhi", w, p) / temperature


def _check_normalizer(normalizer: str) -> None:
    if normalizer not in NORMALIZERS:
        raise ValueError(f"normalizer must be one of {', '.join(NORMALIZERS)}, got {normalizer!r}")


def _as_mask(mask, batch: int, d: int, device) -> torch.Tensor | None:
    if mask is None:
        return None
    m = torch.as_tensor(mask, dtype=torch.bool, device=device)
    m = m.unsqueeze(0) if m.dim() == 1 else m
    if m.dim() != 2 or m.shape[1] != d or m.shape[0] not in (1, batch):
        raise ValueError(f"mask must have shape ({d},) or (B, {d}), got {tuple(torch.as_tensor(mask).shape)}")
    if not m.any(dim=1).all():
        raise ValueError("mask closes every dimension of a row; at least one must stay open")
    return m


def normalize(logits: torch.Tensor, normalizer: str = "softmax", mask: torch.Tensor | None = None) -> torch.Tensor:
    """Attention weights over the last axis of logits (B, H, d); mask (B, d) bool broadcasts over heads.

    Masked logits are moved 10⁴ below the row's smallest logit, which every normaliser maps to weight 0
    (softmax underflows exactly, sparsemax and 1.5-entmax threshold it), and the result is multiplied by
    the mask so a closed dimension is exactly 0 whatever the logits.
    """
    if mask is not None:
        m = mask.unsqueeze(1)  # (B, 1, d)
        floor = logits.detach().amin(dim=-1, keepdim=True) - 1e4
        logits = torch.where(m, logits, floor)
    if normalizer == "softmax":
        weights = torch.softmax(logits, dim=-1)  # max-subtracting softmax: finite for huge logits
    elif normalizer == "sparsemax":
        from entmax import sparsemax

        weights = sparsemax(logits, dim=-1)
    elif normalizer == "entmax15":
        from entmax import entmax15

        weights = entmax15(logits, dim=-1)
    else:
        _check_normalizer(normalizer)
    return weights if mask is None else weights * m


def attend(
    x: torch.Tensor,
    y: torch.Tensor,
    w_u: torch.Tensor,
    w_v: torch.Tensor | None = None,
    temperature: float | torch.Tensor = 1.0,
    *,
    normalizer: str = "softmax",
    mask: torch.Tensor | None = None,
) -> AttentionTrace:
    """Run the attention model on x, y (d,) or (B, d) with w_u, w_v (d, d) or (H, d, d).

    `normalizer` and `mask` are the named variants of the module docstring; the defaults are the document's.
    """
    _check_normalizer(normalizer)
    xb, yb, wu, wv, tau = _validate(x, y, w_u, w_v, temperature)
    xb, yb = torch.broadcast_tensors(xb, yb)
    m = _as_mask(mask, xb.shape[0], xb.shape[1], xb.device)
    p = xb * yb  # X ⊙ Y == Y ⊙ X
    logits_u = _head_logits(p, wu, tau)
    logits_v = logits_u if w_v is None else _head_logits(p, wv, tau)
    a_u = normalize(logits_u, normalizer, m)
    a_v = a_u if w_v is None else normalize(logits_v, normalizer, m)
    z_u = a_u * yb.unsqueeze(1)
    z_v = a_v * xb.unsqueeze(1)
    contributions = z_u * z_v
    return AttentionTrace(
        logits_u, logits_v, a_u, a_v, z_u, z_v, contributions, contributions.sum(dim=(1, 2)), tied=w_v is None
    )


# Logits within ±(SAFE_LOGIT − ln d) need no max-shift in float32: each exp lies in [e^-30/d, e^30/d], a side's sum
# below e^30, the product of both sides' sums below e^60 ≈ 1e26 and above 1e-26, far inside float32's range, and a
# numerator Σ e_U·e_V·X_i·Y_i stays finite for |X_i·Y_i| up to ~1e12. The catalog path checks the sums themselves
# (each side's Σ_i e_i within [e^-SAFE_LOGIT, e^SAFE_LOGIT]), which is what those bounds are for.
SAFE_LOGIT = 30.0


def _check_each_chunk(device: torch.device) -> bool:
    """Whether `attention_scores` checks each chunk's sums (a sync per chunk: cheap on CPU only)."""
    return device.type == "cpu"


COLUMN_MULTIPLE = 64  # items per group of vector lanes, with room for wider vectors than this machine's


def attention_scores(
    x: torch.Tensor,
    items: torch.Tensor,
    w_u: torch.Tensor,
    w_v: torch.Tensor | None = None,
    temperature: float | torch.Tensor = 1.0,
    chunk_size: int = 2048,
    *,
    normalizer: str = "softmax",
    mask_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor | None] | None = None,
) -> torch.Tensor:
    """S for one user x (d,) against a catalog (N, d), chunked so memory stays bounded.

    Same math as `attend`, but only S is kept. With e = exp(ℓ − max ℓ) per head and side,
    S = Σ_h Σ_i e_U,i e_V,i X_i Y_i / (Σ_j e_U,j · Σ_j e_V,j), so Z is never built.
    X/τ is folded into the weights once (W (X ⊙ Y)/τ = (W diag(X)/τ) Y). Each chunk is laid out item-last:
    one matmul [W diag(X)/τ ; diag(X)] (H·d per side + d, d) @ Yᵀ gives the logits ℓᵀ and Pᵀ = (X ⊙ Y)ᵀ
    (the transpose for the cost of d more matmul rows), so every later step — exp in place, the sums over i,
    e_U·e_V (e² tied), · Pᵀ, the sum over i — is a plain pass over contiguous rows of items, never a
    reduction over a short inner axis or a batch of tiny products. Chunks of ~2k items keep each step's
    buffers in cache (benchmarks/attend.py measures this).
    A catalog kept item-last — `items` a view `.T` of a contiguous (d, N) tensor, as `Recommender` keeps its
    catalog — needs neither the transpose nor the d extra rows: each chunk is a (d, chunk) slice, the logits are
    (W diag(X)/τ) @ that slice and Pᵀ one elementwise product with X.

    No validation here beyond shapes: callers (top-k, benchmarks) pass tensors they built.
    Other normalisers, or a mask (`mask_fn(x, y_chunk)` → (chunk, d) bool), run `attend` chunk by chunk.
    """
    if normalizer != "softmax" or mask_fn is not None:
        out = torch.empty(items.shape[0], dtype=items.dtype, device=items.device)
        with torch.no_grad():
            for start in range(0, items.shape[0], chunk_size):
                y = items[start : start + chunk_size]
                mask = None if mask_fn is None else mask_fn(x.expand_as(y), y)
                out[start : start + chunk_size] = attend(
                    x.unsqueeze(0), y, w_u, w_v, temperature, normalizer=normalizer, mask=mask
                ).s
        return out
    d = items.shape[-1]
    wu = w_u if w_u.dim() == 3 else w_u.unsqueeze(0)
    tied = w_v is None
    wv = wu if w_v is None else (w_v if w_v.dim() == 3 else w_v.unsqueeze(0))
    heads = wu.shape[0]
    sides = heads if tied else 2 * heads  # (head, side) blocks of d logits
    n = items.shape[0]
    out = torch.empty(n, dtype=items.dtype, device=items.device)
    if n == 0:
        return out
    # Item-last (a (d, N) catalog seen through .T): chunks are contiguous (d, chunk) slices of the columns.
    items_last = n > 1 and items.t().is_contiguous()
    with torch.no_grad():
        stacked = wu if w_v is None else torch.cat([wu, wv])
        # Rows (block, i) of W diag(X)/τ, then (row-major items) diag(X): the matmul's last d rows are
        # Pᵀ = (X ⊙ Y)ᵀ. Item-last, Pᵀ is the chunk times X, one elementwise product.
        w_logits = (stacked * (x / temperature)).reshape(-1, d)
        w_rows = (w_logits if items_last else torch.cat([w_logits, torch.diag(x)])).contiguous()
        x_column = x.reshape(d, 1)
        # Every chunk is COLUMN_MULTIPLE columns wide or a multiple of it (a short chunk is padded with zero items):
        # the reductions over i run across items in vector lanes, and columns past the last full group of lanes
        # take another code path whose rounding differs, so two identical items could score 1 ulp apart and
        # no longer tie (ranks count ties; tests/test_fast_paths.py).
        cols = -(-min(chunk_size, n) // COLUMN_MULTIPLE) * COLUMN_MULTIPLE
        # Buffers reused by every chunk: a fresh multi-MB tensor per chunk costs page faults comparable to the math.
        buffer = torch.empty(w_rows.shape[0], cols, dtype=items.dtype, device=items.device)
        sums_buffer = torch.empty(sides, cols, dtype=items.dtype, device=items.device)
        numer_buffer = torch.empty(heads, cols, dtype=items.dtype, device=items.device)
        scores = torch.empty(cols, dtype=items.dtype, device=items.device)
        padded: torch.Tensor | None = None
        # Softmax is shift-invariant; subtracting each block's max costs two more passes over the logits than the
        # matmul and exp themselves. It is skipped while every side's Σ_i e_i of a chunk lies in
        # [e^-SAFE_LOGIT, e^SAFE_LOGIT] (nothing overflows, and the sums and their products stay normal floats);
        # a chunk outside that is scored again with the shift, and so is every chunk after it. On CPU the check
        # costs a read of (2H, chunk) sums; elsewhere one sync for a Cauchy–Schwarz bound on all logits instead:
        # |ℓ| ≤ max‖y‖₂ · max‖row of W diag(X)/τ‖₂.
        check = _check_each_chunk(items.device)
        shift = False
        if not check:
            row_norm = torch.linalg.vector_norm(w_rows[: sides * d], dim=1).amax()
            shift = float(torch.linalg.vector_norm(items, dim=1).amax() * row_norm) > SAFE_LOGIT - math.log(d)
        low, high = math.exp(-SAFE_LOGIT), math.exp(SAFE_LOGIT)
        # Views of the reused buffers, made once (a view per chunk costs as much as a small kernel): e (the logits,
        # then their exp) per (head, side) block, Pᵀ, and each side's half when untied.
        logits = buffer[: sides * d]
        e = logits.view(sides, d, cols)
        p_t = buffer[sides * d :]
        if tied:
            numerators, denominators = e, sums_buffer
        else:
            numerators, e_v = e[:heads], e[heads:]
            denominators, sums_v = sums_buffer[:heads], sums_buffer[heads:]
        columns = items.t()  # (d, N): contiguous rows when item-last, a strided view otherwise
        for start in range(0, n, chunk_size):
            y_t = columns[:, start : start + chunk_size]
            m = y_t.shape[1]
            if m < cols:  # a short chunk: zero items after it (their scores are computed and dropped)
                if padded is None:  # laid out like the full chunks, so identical items round identically
                    padded = torch.zeros((d, cols) if items_last else (cols, d), dtype=items.dtype, device=items.device)
                padded_t = padded if items_last else padded.t()
                padded_t[:, :m] = y_t
                padded_t[:, m:] = 0
                y_t = padded_t
            while True:
                if items_last:
                    torch.mm(w_rows, y_t, out=logits)
                    torch.mul(y_t, x_column, out=p_t)
                else:
                    torch.mm(w_rows, y_t, out=buffer)
                if shift:
                    e.sub_(e.amax(dim=1, keepdim=True))
                e.exp_()
                torch.sum(e, dim=1, out=sums_buffer)  # (H, chunk) tied, (2H, chunk) untied
                if shift or not check:
                    break
                lo, hi = torch.aminmax(sums_buffer)
                if low <= lo.item() and hi.item() <= high:
                    break
                shift = True
            if tied:
                e.mul_(e)
                sums_buffer.mul_(sums_buffer)
            else:
                numerators.mul_(e_v)
                denominators.mul_(sums_v)
            numerators.mul_(p_t)  # · Pᵀ, broadcast over heads
            per_head = torch.sum(numerators, dim=1, out=numer_buffer)  # Σ_i e_U e_V X_i Y_i
            # A full chunk's scores go straight into the output; a short one's through the padded buffer.
            torch.sum(per_head.div_(denominators), dim=0, out=out[start : start + m] if m == cols else scores)
            if m < cols:
                out[start : start + m] = scores[:m]
    return out

"""Is the attention worth reading? Readability, faithfulness and erasure of a model's attention.

Measured on pairs at the dimension level (X, Y and the H×d contributions of `attend`), with numbers only:
- **entropy**: normalised entropy H(A)/log d per pair, head and side (0 = one dimension, 1 = uniform);
- **head difference**: mean over head pairs of the total-variation distance ½·Σ_i |A_h − A_h'| (0 = the heads
  attend identically, 1 = to disjoint dimensions), averaged over the two sides;
- **τ(attention, |contribution|)**: Kendall τ-b per pair between the attention a dimension gets — the mean of
  A_U and A_V over heads, as the report card reads it — and |Σ_h A_U·A_V·X_i·Y_i|, its exact share of S;
- **erasure**: |S − S with k dimensions erased|, erasing (X_i, Y_i → 0, the attention then recomputed, as the
  model itself does for an absent feature) the top-k by attention, the top-k by |contribution| (the best any
  ranking of single dimensions can be expected to do), the top-k by |X_i·Y_i| (what uniform attention would
  rank by), and k random dimensions (mean of `random_draws` draws).
The null slot, where a model has one, is never a candidate for τ or erasure: it has no input to erase and
contributes nothing by construction; its weight still counts in the entropy.

Everything is measured over the model's **attention units** (`Recommender.attention_units`): single
dimensions, except a taste block, whose dimensions share one logit and so one weight — attention can only
choose the block as a whole, so the block is one unit (weight = the block's total, contribution = the
block's sum, erasing it erases all its dimensions). `entropy_dimensions` keeps the per-dimension entropy too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from attnrec.explain.metrics import kendall_tau_rows
from attnrec.health import attention_entropy

if TYPE_CHECKING:
    from attnrec.model import Recommender

__all__ = ["AttentionQuality", "attention_quality", "erase_dimensions", "head_difference", "planted_precision"]


@dataclass(frozen=True)
class AttentionQuality:
    entropy: np.ndarray  # (B, H, 2): normalised entropy over units per pair, head, side (A_U, A_V)
    entropy_dimensions: np.ndarray  # (B, H, 2): the same over the d dimensions
    head_difference: np.ndarray  # (B,): mean total-variation distance between heads (NaN for one head)
    tau: np.ndarray  # (B,): Kendall τ-b(attention, |contribution|)
    erased: dict[str, np.ndarray]  # ranking → (B,) |ΔS| when its top-k dimensions are erased
    k: int
    attention: np.ndarray  # (B, d') importance read from attention (null slot dropped)
    contribution: np.ndarray  # (B, d') |Σ_h contributions|

    def summary(self) -> dict:
        """Medians (and quartiles of the entropy) over pairs; erasure as ratios of mean |ΔS|."""
        per_head = np.median(self.entropy.mean(axis=2), axis=0)
        base = float(np.mean(self.erased["contribution"]))
        ratio = {name: float(np.mean(v)) / base if base > 0 else float("nan") for name, v in self.erased.items()}
        return {
            "entropy_median": float(np.median(self.entropy)),
            "entropy_dimensions_median": float(np.median(self.entropy_dimensions)),
            "entropy_per_head": [round(float(e), 3) for e in per_head],
            "entropy_q1_q3": [float(np.quantile(self.entropy, 0.25)), float(np.quantile(self.entropy, 0.75))],
            "head_difference": float(np.nanmedian(self.head_difference)) if self.entropy.shape[1] > 1 else float("nan"),
            "tau_median": float(np.nanmedian(self.tau)),
            "tau_q1_q3": [float(np.nanquantile(self.tau, 0.25)), float(np.nanquantile(self.tau, 0.75))],
            f"erase_top{self.k}_attention_vs_contribution": ratio["attention"],
            f"erase_top{self.k}_random_vs_contribution": ratio["random"],
            f"erase_top{self.k}_product_vs_contribution": ratio["product"],
            "pairs": int(len(self.tau)),
        }


def head_difference(a: np.ndarray) -> np.ndarray:
    """(B, H, d) → (B,): mean over head pairs of ½·Σ_i |a_h − a_h'|; NaN when H = 1."""
    heads = a.shape[1]
    if heads < 2:
        return np.full(a.shape[0], np.nan)
    pairs = [0.5 * np.abs(a[:, i] - a[:, j]).sum(-1) for i in range(heads) for j in range(i + 1, heads)]
    return np.mean(pairs, axis=0)


def erase_dimensions(model: Recommender, x: torch.Tensor, y: torch.Tensor, erase: np.ndarray) -> np.ndarray:
    """S (B,) with the dimensions erase[b] (bool (B, d)) of each pair set to 0 on both sides."""
    keep = torch.as_tensor(~erase, dtype=x.dtype, device=x.device)
    with torch.no_grad():
        return model.attention(x * keep, y * keep).s.double().cpu().numpy()


def _top_k_mask(values: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    mask = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask


def attention_quality(
    model: Recommender,
    user_ids: Iterable[str],
    item_ids: Iterable[str],
    k: int = 3,
    random_draws: int = 20,
    seed: int = 0,
) -> AttentionQuality:
    """See the module docstring. `model` is a `Recommender` (anything with encode_user/encode_item,
    user_rows/item_rows, attention and null_slot)."""
    with torch.no_grad():
        x = model.encode_user(model.user_rows(list(user_ids)))
        y = model.encode_item(model.item_rows(list(item_ids)))
        trace = model.attention(x, y)
    d = x.shape[-1]
    units = model.attention_units() if hasattr(model, "attention_units") else [[i] for i in range(d)]
    member = np.zeros((d, len(units)))  # dimension → unit, for summing
    for j, unit in enumerate(units):
        member[unit, j] = 1.0
    a_u, a_v = trace.a_u.double().cpu().numpy(), trace.a_v.double().cpu().numpy()
    entropy_dims = np.stack([attention_entropy(a_u), attention_entropy(a_v)], axis=-1)
    a_u, a_v = a_u @ member, a_v @ member
    entropy = np.stack([attention_entropy(a_u), attention_entropy(a_v)], axis=-1)
    heads = (head_difference(a_u) + head_difference(a_v)) / 2
    real = slice(0, len(units) - (1 if getattr(model, "null_slot", False) else 0))
    attention = ((a_u + a_v) / 2).mean(axis=1)[:, real]
    contribution = np.abs(trace.contributions.sum(dim=1).double().cpu().numpy() @ member)[:, real]
    product = np.abs((x * y).double().cpu().numpy() @ member)[:, real]
    s = trace.s.double().cpu().numpy()
    n_real = attention.shape[1]
    k = min(k, n_real)
    pad = np.zeros((len(s), len(units) - n_real), dtype=bool)

    def change(unit_mask):
        dims = np.concatenate([unit_mask, pad], axis=1).astype(float) @ member.T > 0
        return np.abs(s - erase_dimensions(model, x, y, dims))

    erased = {
        "attention": change(_top_k_mask(attention, k)),
        "contribution": change(_top_k_mask(contribution, k)),
        "product": change(_top_k_mask(product, k)),
    }
    rng = np.random.default_rng(seed)
    draws = [change(_top_k_mask(rng.random(attention.shape), k)) for _ in range(random_draws)]
    erased["random"] = np.mean(draws, axis=0)
    return AttentionQuality(
        entropy, entropy_dims, heads, kendall_tau_rows(attention, contribution), erased, k, attention, contribution
    )


def planted_precision(importance: np.ndarray, names: list[str], planted: list[str], k: int | None = None) -> float:
    """Mean share of the top-k dimensions (k = len(planted)) by `importance` (B, d) whose names are planted."""
    k = k or len(planted)
    top = np.argsort(-importance, axis=1, kind="stable")[:, :k]
    wanted = {i for i, name in enumerate(names) if name in set(planted)}
    return float(np.mean([len(wanted & set(row.tolist())) / k for row in top]))

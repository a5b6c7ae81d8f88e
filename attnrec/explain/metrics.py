"""Per-pair numbers that say how far to trust an attribution (rows = pairs, columns = groups).

Rank agreement (Kendall τ, Spearman ρ, top-k overlap), errors against a reference, deletion /
insertion curves scored by the model itself, planted-truth recovery, and Captum's infidelity and
sensitivity wired to attnrec's targets.
"""

from __future__ import annotations

import contextlib
from typing import Callable

import numpy as np
import torch

from attnrec.explain.target import ExplainTarget

__all__ = [
    "kendall_tau_rows",
    "spearman_rows",
    "top_k_overlap",
    "max_abs_error",
    "deletion_insertion",
    "planted_precision_at_k",
    "infidelity_rows",
    "sensitivity_rows",
    "RESOLUTION",
    "snap_noise",
    "seeded_on",
]

# Models score in float32: S is known to about eps32 × |S|, and a float32 sum (a matrix product, Captum's
# sum over IG steps) rounds differently with torch's thread count and with how many pairs share a batch.
# Two attributions closer than RESOLUTION × the pair's scale cannot be told apart by the model's own
# forward pass, so ranking them is ranking noise.
RESOLUTION = 16 * float(np.finfo(np.float32).eps)  # ≈ 1.9e-6


def snap_noise(values: np.ndarray, s, s_baseline, resolution: float = RESOLUTION) -> np.ndarray:
    """(B, G) values as the model resolves them, ready to be ranked: exact ties where rounding broke them.

    Per pair, tol = resolution × max(|S|, |S(baseline)|, max |value|). Values within tol of 0 — or linked
    to 0 by a chain of gaps ≤ tol — become exactly 0 (a group that cannot move S: exact Shapley gives it
    ±1e-19, Feature Ablation ±1e-9). Other values linked by gaps ≤ tol become one value, the smallest of
    them (a symmetric tie: the user and item side of one family in an aligned model get the same IG
    value in exact arithmetic, and float32 rounding splits them by ~1e-10 one way or the other,
    depending on threads and batch layout). Values further apart than tol keep their order; only ties
    are created, so a ranking of the result never depends on rounding."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    batch, n = values.shape
    if n == 0:
        return values.copy()
    finite = lambda x: np.where(np.isfinite(x), np.abs(x), 0.0)  # noqa: E731
    score_scale = np.fmax(finite(np.asarray(s, dtype=float)), finite(np.asarray(s_baseline, dtype=float)))
    tol = resolution * np.fmax(np.broadcast_to(score_scale.reshape(-1), (batch,)), finite(values).max(axis=1))
    padded = np.concatenate([np.zeros((batch, 1)), values], axis=1)  # column 0: the anchor at 0
    order = np.argsort(padded, axis=1, kind="stable")
    ordered = np.take_along_axis(padded, order, axis=1)
    starts = np.concatenate(
        [np.ones((batch, 1), dtype=bool), ~(np.diff(ordered, axis=1) <= tol[:, None])], axis=1
    )  # NaN gaps start a new run
    positions = np.arange(n + 1)[None, :]
    first = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)  # where each run starts
    snapped = np.take_along_axis(ordered, first, axis=1)
    run = np.cumsum(starts, axis=1)
    zero_run = np.take_along_axis(run, np.argmax(order == 0, axis=1)[:, None], axis=1)
    snapped = np.where(run == zero_run, 0.0, snapped)
    out = np.empty_like(padded)
    np.put_along_axis(out, order, snapped, axis=1)
    return out[:, 1:]


def kendall_tau_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall τ-b between a[i] and b[i] per row; NaN where a row is constant (no ranking to compare)."""
    from scipy.stats import kendalltau  # scipy.stats costs ~1 s to import; only the trust checks need it

    a, b = np.atleast_2d(a), np.atleast_2d(b)
    out = np.full(a.shape[0], np.nan)
    for i in range(a.shape[0]):
        if np.ptp(a[i]) > 0 and np.ptp(b[i]) > 0:
            out[i] = kendalltau(a[i], b[i]).statistic
    return out


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman ρ per row (Pearson correlation of average ranks); NaN for constant rows."""
    from scipy.stats import rankdata

    ra, rb = rankdata(np.atleast_2d(a), axis=1), rankdata(np.atleast_2d(b), axis=1)
    ra, rb = ra - ra.mean(axis=1, keepdims=True), rb - rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(axis=1) / np.where(denom > 0, denom, 1.0), np.nan)


def _top_k_sets(values: np.ndarray, k: int) -> np.ndarray:
    """(B, k) indices of the k largest |values| per row (ties broken by position, stably)."""
    return np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]


def top_k_overlap(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Share of the k largest-|·| groups of `a` that are also among the k largest of `b` (per row)."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    k = min(k, a.shape[1])
    ta, tb = _top_k_sets(a, k), _top_k_sets(b, k)
    return np.array([len(set(x) & set(y)) / k for x, y in zip(ta.tolist(), tb.tolist())])


def max_abs_error(a: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.abs(np.atleast_2d(a) - np.atleast_2d(reference)).max(axis=1)


def planted_precision_at_k(attributions: np.ndarray, planted_dims, k: int) -> float:
    """Mean over pairs of |top-k(|attribution|) ∩ planted| / k — how often the planted dims come first."""
    top = _top_k_sets(np.atleast_2d(np.asarray(attributions, dtype=float)), k)
    planted = set(int(i) for i in planted_dims)
    return float(np.mean([len(planted & set(row)) / k for row in top.tolist()]))


def _scores_with_groups_on(target: ExplainTarget, on: np.ndarray, max_rows: int = 1 << 16) -> np.ndarray:
    """S for pair b with groups on[b, j, :] at their input values (the rest at baseline): (B, J)."""
    batch, n_masks, _ = on.shape
    gu, gv = target.column_groups()
    bu, bv = target.full_baselines()
    on_t = torch.as_tensor(on, device=target.inputs_u.device)
    out = np.empty((batch, n_masks))
    step = max(1, max_rows // n_masks)
    with torch.no_grad():
        for start in range(0, batch, step):
            rows = slice(start, start + step)
            mu = on_t[rows][:, :, gu].to(target.inputs_u)
            mv = on_t[rows][:, :, gv].to(target.inputs_v)
            u = bu[rows, None] + (target.inputs_u[rows] - bu[rows])[:, None] * mu
            v = bv[rows, None] + (target.inputs_v[rows] - bv[rows])[:, None] * mv
            s = target.module(u.reshape(-1, u.shape[-1]), v.reshape(-1, v.shape[-1]))
            out[rows] = s.reshape(-1, n_masks).double().cpu().numpy()
    return out


def deletion_insertion(target: ExplainTarget, group_values: np.ndarray) -> dict[str, np.ndarray]:
    """Deletion and insertion curves, groups taken in order of how much they push S away from the baseline.

    The order is by attribution × sign(S − S(baseline)), largest first: the groups credited with the
    score change come first, those credited with opposing it come last.

    Deletion: start at the input, send the top groups to the baseline one by one. Insertion: start at
    the baseline, restore the top groups one by one. Curves are scaled so 1 = S and 0 = S(baseline);
    areas use x = share of groups moved (0..1). A faithful ranking makes deletion fall and insertion
    rise early: `ins_minus_del` ≈ 0 for a random ranking and > 0 for a good one. Pairs where
    |S − S(baseline)| < 1e-6 have nothing to explain and get NaN.
    """
    batch, g = group_values.shape
    with torch.no_grad():
        direction = np.sign((target.score() - target.score_baseline()).double().cpu().numpy())
    order = np.argsort(-group_values * direction[:, None], axis=1, kind="stable")
    ranks = np.empty_like(order)
    ranks[np.arange(batch)[:, None], order] = np.arange(g)[None, :]
    steps = np.arange(g + 1)
    inserted = ranks[:, None, :] < steps[None, :, None]  # (B, g+1, g): top-k restored
    insertion = _scores_with_groups_on(target, inserted)
    deletion = _scores_with_groups_on(target, ~inserted)
    s_full, s_base = insertion[:, -1:], insertion[:, :1]
    change = s_full - s_base
    ok = np.abs(change) >= 1e-6
    scale = np.where(ok, change, 1.0)
    ins_curve = np.where(ok, (insertion - s_base) / scale, np.nan)
    del_curve = np.where(ok, (deletion - s_base) / scale, np.nan)
    x = steps / g
    ins_auc, del_auc = np.trapezoid(ins_curve, x, axis=1), np.trapezoid(del_curve, x, axis=1)
    return {
        "insertion_curve": ins_curve,
        "deletion_curve": del_curve,
        "insertion_auc": ins_auc,
        "deletion_auc": del_auc,
        "ins_minus_del": ins_auc - del_auc,
    }


@contextlib.contextmanager
def seeded_on(device: torch.device | str, seed: int):
    """torch's generators seeded with `seed` inside, and put back afterwards — the CPU generator and, for a
    CUDA device, that device's (random draws on CUDA come from it: fork_rng(devices=[]) would leave it
    seeded and advanced for whoever draws next)."""
    device = torch.device(device)
    cuda = []
    if device.type == "cuda":
        cuda = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


def _group_drop_perturbation(target: ExplainTarget, drop_probability: float):
    """Captum perturb_func: drop random groups to the baseline; perturbation = 1 on dropped columns.

    The attributions are "global" (they already include input − baseline), so Captum's infidelity
    compares Σ_{dropped} attribution with S(x) − S(x with those groups at baseline).
    """
    gu, gv = (torch.as_tensor(g, device=target.inputs_u.device) for g in target.column_groups())
    n_groups = len(target.groups)

    def perturb(inputs, baselines):
        (u, v), (bu, bv) = inputs, baselines
        # Drawn by the CPU generator on every device (like Captum's sensitivity noise), so a card computed on
        # CUDA drops the same groups as on the CPU and the two can be compared.
        drop = (torch.rand(u.shape[0], n_groups) < drop_probability).to(device=u.device, dtype=u.dtype)
        du, dv = drop[:, gu], drop[:, gv]
        return (du, dv), (u - du * (u - bu), v - dv * (v - bv))

    return perturb


def infidelity_rows(
    target: ExplainTarget,
    user_attr: np.ndarray,
    item_attr: np.ndarray,
    n_perturb_samples: int = 20,
    drop_probability: float = 0.3,
    seed: int = 0,
) -> np.ndarray:
    """Captum's infidelity per pair (normalized: the best rescaling of the attributions is applied first,
    so scale-free importances such as attention weights are judged on their shape alone)."""
    from captum.metrics import infidelity

    # On the inputs' device: Captum perturbs there and multiplies the attributions with the perturbations.
    attributions = (
        torch.as_tensor(user_attr, dtype=target.inputs_u.dtype, device=target.inputs_u.device),
        torch.as_tensor(item_attr, dtype=target.inputs_v.dtype, device=target.inputs_v.device),
    )
    with seeded_on(target.inputs_u.device, seed):
        result = infidelity(
            target.module,
            _group_drop_perturbation(target, drop_probability),
            (target.inputs_u, target.inputs_v),
            attributions,
            baselines=target.full_baselines(),
            n_perturb_samples=n_perturb_samples,
            normalize=True,
        )
    return result.detach().double().cpu().numpy()


def sensitivity_rows(
    target: ExplainTarget,
    explain_columns: Callable[[ExplainTarget], tuple],
    n_perturb_samples: int = 5,
    radius: float = 0.02,
    seed: int = 0,
) -> np.ndarray:
    """Captum's sensitivity_max per pair, divided by the attribution's norm: the largest relative change
    of the explanation when inputs move by at most `radius` (uniform noise)."""
    from captum.metrics import sensitivity_max

    def explanation(inputs):
        u, v = inputs
        user, item = explain_columns(target.with_inputs(u, v))
        return (
            torch.as_tensor(user, dtype=u.dtype, device=u.device),
            torch.as_tensor(item, dtype=v.dtype, device=v.device),
        )

    with seeded_on(target.inputs_u.device, seed):
        sens = (
            sensitivity_max(
                explanation,
                (target.inputs_u, target.inputs_v),
                perturb_radius=radius,
                n_perturb_samples=n_perturb_samples,
            )
            .detach()
            .double()
            .cpu()
            .numpy()
        )
    user, item = explain_columns(target)
    norm = np.sqrt((np.asarray(user) ** 2).sum(axis=1) + (np.asarray(item) ** 2).sum(axis=1))
    return sens / np.maximum(norm, 1e-12)

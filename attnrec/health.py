"""Dataset-level health of a trained model: how its heads attend, and the pairs it gets most wrong.

Pure and vectorised: arrays and frames in, arrays and frames out. The model is only asked for
attention traces through `Recommender.attention` (the document's math lives in attnrec/attention.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from attnrec.data.types import Dataset
    from attnrec.evaluation import Split
    from attnrec.model import Recommender

__all__ = [
    "attention_findings",
    "attention_entropy",
    "head_verdicts",
    "mean_attention",
    "attention_over_pairs",
    "sample_pairs",
    "most_wrong_pairs",
    "held_out_split",
    "metrics_against_baselines",
    "wrong_pairs",
    "side_by_side",
    "method_summary",
    "rank_agreement",
    "COLLAPSED_BELOW",
    "UNIFORM_ABOVE",
]

# Normalised entropy H(a)/log d: 0 = all weight on one dimension, 1 = perfectly uniform.
# A head below COLLAPSED_BELOW on average looks at (nearly) one dimension for every pair; above
# UNIFORM_ABOVE it barely differs from the plain dot product X·Y and explains nothing.
COLLAPSED_BELOW = 0.15
UNIFORM_ABOVE = 0.97


def _as_numpy(a) -> np.ndarray:
    if torch.is_tensor(a):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def attention_entropy(a: ArrayLike | torch.Tensor, normalized: bool = True) -> np.ndarray:
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


def head_verdicts(
    normalized_entropy: np.ndarray, collapsed_below: float = COLLAPSED_BELOW, uniform_above: float = UNIFORM_ABOVE
) -> pd.DataFrame:
    """One row per head: mean and spread of its normalised entropy and a verdict."""
    e = np.asarray(normalized_entropy, dtype=np.float64)
    if e.ndim != 2:
        raise ValueError(f"entropy must have shape (B, H), got {e.shape}")
    mean = e.mean(axis=0)
    verdict = np.where(mean < collapsed_below, "collapsed", np.where(mean > uniform_above, "uniform", "ok"))
    return pd.DataFrame(
        {"head": np.arange(1, e.shape[1] + 1), "mean_entropy": mean, "std_entropy": e.std(axis=0), "verdict": verdict}
    )


def mean_attention(a: ArrayLike | torch.Tensor) -> np.ndarray:
    """Average attention per head and dimension over the batch: (B, H, d) → (H, d)."""
    p = _as_numpy(a)
    if p.ndim != 3:
        raise ValueError(f"attention must have shape (B, H, d), got {p.shape}")
    return p.mean(axis=0)


def sample_pairs(interactions: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """Up to n rows of the interactions (user_id, item_id, label), drawn without replacement."""
    if len(interactions) <= n:
        return interactions[["user_id", "item_id", "label"]].reset_index(drop=True)
    return interactions.sample(n=n, random_state=seed)[["user_id", "item_id", "label"]].reset_index(drop=True)


@torch.no_grad()
def attention_over_pairs(
    model: Recommender, user_ids: Iterable[str], item_ids: Iterable[str], batch_size: int = 4096
) -> dict[str, np.ndarray]:
    """A_U, A_V, the exact contributions "c" (B, H, d) and S (B,) of the model over the given pairs, in batches."""
    users, items = [str(u) for u in user_ids], [str(i) for i in item_ids]
    if len(users) != len(items):
        raise ValueError(f"need as many users as items, got {len(users)} and {len(items)}")
    parts: dict[str, list[np.ndarray]] = {"a_u": [], "a_v": [], "s": [], "contributions": []}
    for start in range(0, len(users), batch_size):
        x = model.encode_user(model.user_rows(users[start : start + batch_size]))
        y = model.encode_item(model.item_rows(items[start : start + batch_size]))
        trace = model.attention(x, y)
        for key in parts:
            parts[key].append(getattr(trace, key).cpu().numpy())
    d, h = model.d, model.heads
    empty = {
        "a_u": np.empty((0, h, d)),
        "a_v": np.empty((0, h, d)),
        "s": np.empty(0),
        "contributions": np.empty((0, h, d)),
    }
    return {k: np.concatenate(v) if v else empty[k] for k, v in parts.items()}


def attention_findings(
    model: Recommender, traces: dict[str, np.ndarray], verdicts: dict[str, pd.DataFrame]
) -> list[tuple[str, str]]:
    """What the attention statistics mean for reading this model's heatmaps, as (level, sentence) pairs
    (level "warning" or "info"), so Model health states its conclusion instead of leaving it to the reader.

    - every head of every side uniform → the heatmaps carry no information (S is a scaled dot product);
    - a taste block (dimensions learned from ids, `Recommender.attention_units`) that takes over 90 % of the
      |contributions| → the named features explain little of S, whatever their attention looks like.
    `traces` is `attention_over_pairs`' output; `verdicts` maps side → `head_verdicts` of that side."""
    out: list[tuple[str, str]] = []
    if verdicts and all(len(v) and (v["verdict"] == "uniform").all() for v in verdicts.values()):
        out.append(
            (
                "warning",
                "Every head spreads its weight evenly over the dimensions (uniform), so this model's "
                "attention heatmaps carry no information: S is a scaled dot product of X and Y. Read "
                "the contribution heatmap and the attributions instead; the sanity checks below say "
                "which of those depend on the model.",
            )
        )
    blocks = [unit for unit in model.attention_units() if len(unit) > 1]
    contributions = np.abs(np.asarray(traces.get("contributions", np.empty((0, 0, 0)))))
    if blocks and contributions.size:
        block = blocks[0]
        per_dim = contributions.sum(axis=(0, 1))
        share = float(per_dim[block].sum() / max(float(per_dim.sum()), 1e-300))
        weight = float(np.asarray(traces["a_u"]).mean(axis=(0, 1))[block].sum())
        level = "warning" if share > 0.9 else "info"
        out.append(
            (
                level,
                f"The {len(block)} taste dimensions learned from ids get {weight:.0%} of the user side's "
                f"attention and {share:.1%} of the |contributions| to S over these pairs"
                + (
                    ": the named features explain little of this model's scores, whatever their "
                    "attention columns look like."
                    if share > 0.9
                    else "."
                ),
            )
        )
    return out


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


# ---- with a model and its held-out data -----------------------------------------------------------


def held_out_split(model: Recommender, dataset: Dataset) -> Split:
    """The leave-one-out split to evaluate on: the seed recorded in the checkpoint's "evaluation"
    entry (what `Split.describe()` writes), else seed 0 — the protocol's default."""
    from attnrec.evaluation import leave_one_out

    seed = int((model.config.get("evaluation") or {}).get("seed", 0))
    return leave_one_out(dataset, seed=seed)


def metrics_against_baselines(
    model: Recommender,
    split: Split,
    k: int = 10,
    mf_epochs: int = 60,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """HR@k, NDCG@k, AUC of the model, item popularity and BPR-MF (trained on split.train), one row each.

    `progress(label)` is called before each step so a page can say what is running."""
    from attnrec.baselines import BPRMF, Popularity
    from attnrec.evaluation import evaluate, metrics_row

    rows = []
    steps = (
        ("this model", lambda: model),
        ("popularity", lambda: Popularity(split.train)),
        ("BPR-MF", lambda: BPRMF(split.train, epochs=mf_epochs, seed=seed)),
    )
    for name, build in steps:
        if progress is not None:
            progress(name)
        rows.append(metrics_row(name, evaluate(build(), split, k=k), k))
    return pd.DataFrame(rows)


@torch.no_grad()
def wrong_pairs(model: Recommender, split: Split, k: int = 10) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(highest-scored negatives, lowest-scored held-out positives, where the negatives come from).

    Negatives are the observed label-0 interactions when the data has any; otherwise (implicit data)
    each evaluated user's best-scoring item they never interacted with. Positives carry their rank
    among all catalog items."""
    held = split.held_out[["user_id", "item_id"]].astype(str)
    inter = split.full.interactions
    observed_negatives = inter[inter["label"] == 0][["user_id", "item_id"]].astype(str)
    if len(observed_negatives):
        negatives = model.score(list(observed_negatives["user_id"]), list(observed_negatives["item_id"]))
        source = "observed negatives (label 0)"
    else:
        touched = inter.groupby(inter["user_id"].astype(str))["item_id"].agg(lambda s: {str(i) for i in s})
        picks = []
        for user in held["user_id"]:
            scores = model.scores_for_user(user).numpy().copy()
            rows = [model.item_encoding.row_of(i) for i in touched.get(user, ())]
            scores[rows] = -np.inf
            best = int(np.argmax(scores))
            picks.append((user, model.item_ids[best]))
        negatives = model.score([u for u, _ in picks], [i for _, i in picks])
        source = "each user's best-scoring never-interacted item"
    negatives["label"] = 0
    positives = model.score(list(held["user_id"]), list(held["item_id"]))
    positives["label"] = 1
    top_negatives, bottom_positives = most_wrong_pairs(pd.concat([negatives, positives], ignore_index=True), k)
    for frame in (bottom_positives, top_negatives):  # rank, and how many other items tie with it (a range)
        ranked = [model.rank_and_ties(u, i) for u, i in zip(frame["user_id"], frame["item_id"])]
        frame["rank"] = [rank for rank, _ in ranked]
        frame["ties"] = [ties for _, ties in ranked]
    return top_negatives, bottom_positives, source


# ---- comparing attribution methods -------------------------------------------------------------


def side_by_side(attributions: dict) -> pd.DataFrame:
    """Group (rows) × method name (columns) of one pair's attributions, from {name: Attribution}."""
    return pd.DataFrame(
        {name: a.groups[0] for name, a in attributions.items()},
        index=next(iter(attributions.values())).group_names if attributions else [],
    )


def method_summary(attributions: dict) -> pd.DataFrame:
    """Per method: Σ attributions, S − S(baseline), the completeness gap, Captum's convergence delta."""
    rows = []
    for name, a in attributions.items():
        delta = a.convergence_delta
        rows.append(
            {
                "method": name,
                "sum of attributions": float(a.groups[0].sum()),
                "S − S(baseline)": float(a.s[0] - a.s_baseline[0]),
                "completeness gap": float(a.completeness_gap[0]),
                "convergence delta": float(delta[0]) if delta is not None else np.nan,
                "seconds": float(a.runtime_s),
            }
        )
    return pd.DataFrame(rows)


def rank_agreement(frame: pd.DataFrame) -> pd.DataFrame:
    """Kendall τ-b between every two methods' rankings of the groups by |attribution| (importance,
    whatever its sign — Saliency and attention weights have none)."""
    from scipy.stats import kendalltau

    names = list(frame.columns)
    tau = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    magnitude = frame.abs().to_numpy()
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            value = kendalltau(magnitude[:, i], magnitude[:, j]).statistic
            tau.iat[i, j] = tau.iat[j, i] = value
    return tau

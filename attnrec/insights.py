"""Dataset-wide views of a trained model for the Insights page: what drives S over a sample of pairs,
how the model does per slice of users or items, and two models side by side. No Streamlit here.

- **Global importance**: over a seeded sample of (user, item) pairs (each sampled user's positives plus as
  many random never-interacted items), the exact per-dimension contribution Σ_h A_U·A_V·X_i·Y_i (the row sums
  to S), optionally summed per feature family, or Integrated Gradients over the raw fields with the model's
  default baseline. Each feature also has a *value* per pair for colouring and dependence plots.
- **Slices**: the held-out users of the leave-one-out protocol (`attnrec.evaluation`, reused: each slice is the
  split restricted to its held-out rows) grouped by a user column, or by the held-out item's column; per slice
  HR@k, NDCG@k and the mean normalised attention entropy (`attnrec.quality`), the worst slice flagged.
- **Two models**: one pair under both (S, rank, P, top contributions, entropy) and the same held-out users
  (metrics through `evaluate`, each user's rank of the held-out item under both).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

if TYPE_CHECKING:
    from attnrec.data.types import Dataset
    from attnrec.evaluation import Split
    from attnrec.model import Recommender

__all__ = [
    "sample_pairs",
    "Importance",
    "learned_from_ids",
    "contribution_importance",
    "ig_importance",
    "feature_groupings",
    "attribute_values",
    "slice_columns",
    "unit_entropy",
    "slice_labels",
    "slice_metrics",
    "held_out_ranks",
    "multi_separator",
    "explode_values",
    "compare_pair",
    "compare_held_out",
    "pair_attention_top",
    "pair_field_attributions",
    "HeldOutComparison",
    "MISSING",
    "OTHER",
]

MISSING = "(missing)"
OTHER = "(other)"


# ---- the sample ---------------------------------------------------------------------------------------


def sample_pairs(
    dataset: Dataset, n_pairs: int = 200, seed: int = 0, max_positives: int = 5, catalog: Iterable[str] | None = None
) -> pd.DataFrame:
    """(user_id, item_id, label) of up to `n_pairs` pairs: users in a seeded random order, each with their
    positives (label 1; at most `max_positives`, drawn at random, so the sample spans many users) and as many
    items they never interacted with (label 0, drawn at random), until the sample is full. `catalog` (item
    ids) defaults to the dataset's items."""
    rng = np.random.default_rng(seed)
    inter = dataset.interactions
    users = inter["user_id"].astype(str)
    items = inter["item_id"].astype(str)
    touched = items.groupby(users).agg(lambda s: set(s))
    positives = items[inter["label"] == 1].groupby(users[inter["label"] == 1]).agg(lambda s: sorted(set(s)))
    catalog = np.array([str(i) for i in (dataset.items.index if catalog is None else catalog)])
    rows = []
    for user in rng.permutation(np.array(sorted(positives.index))):
        mine = positives[user]
        if len(mine) > max_positives:
            mine = sorted(rng.choice(mine, size=max_positives, replace=False))
        pool = catalog[~np.isin(catalog, list(touched[user]))]
        negatives: np.ndarray | list[str] = (
            rng.choice(pool, size=min(len(mine), len(pool)), replace=False) if len(pool) else []
        )
        rows += [(user, i, 1) for i in mine] + [(user, str(i), 0) for i in negatives]
        if len(rows) >= n_pairs:
            break
    return pd.DataFrame(rows[:n_pairs], columns=["user_id", "item_id", "label"])


# ---- global importance ----------------------------------------------------------------------------------


@dataclass
class Importance:
    """Per pair (rows of `pairs`) and feature: its share of the score (`values`) and its value (`features`)."""

    pairs: pd.DataFrame  # user_id, item_id, label, s
    values: np.ndarray  # (B, F)
    features: np.ndarray  # (B, F)
    names: list[str]
    kind: str  # "dimensions" | "families" | "fields (IG)"
    value_meaning: str  # what `features` holds, in words
    total: str  # what a row of `values` adds up to, in words

    def summary(self) -> pd.DataFrame:
        """One row per feature, by mean |value| (largest first): mean |value|, mean value, share of pairs
        where it pushes S up."""
        frame = pd.DataFrame(
            {
                "feature": self.names,
                "mean_abs": np.abs(self.values).mean(axis=0),
                "mean": self.values.mean(axis=0),
                "share_positive": (self.values > 0).mean(axis=0),
            }
        )
        return frame.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)

    def long_frame(self) -> pd.DataFrame:
        """One row per pair and feature: user_id, item_id, label, s, feature, value (its feature value) and
        share (its contribution / attribution)."""
        n, f = self.values.shape
        base = self.pairs.loc[self.pairs.index.repeat(f)].reset_index(drop=True)
        return base.assign(
            feature=np.tile(np.asarray(self.names, dtype=object), n),
            value=self.features.reshape(-1),
            share=self.values.reshape(-1),
        )

    def without(self, names: Iterable[str]) -> "Importance":
        """The same sample without the features `names` (for display; rows no longer add up to the total)."""
        keep = [j for j, n in enumerate(self.names) if n not in set(names)]
        return replace(
            self, values=self.values[:, keep], features=self.features[:, keep], names=[self.names[j] for j in keep]
        )

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature value, value) of one feature over the sample."""
        j = self.names.index(name)
        return self.features[:, j], self.values[:, j]


def feature_groupings(model: Recommender) -> dict[str, str]:
    """How the exact contributions can be grouped for this model: {key: label}."""
    options = {"dimensions": f"dimensions of X and Y ({_real_dimensions(model)})"}
    families = _family_members(model)
    if families is not None:
        options["families"] = f"feature families ({len(families)})"
    return options


def _real_dimensions(model) -> int:
    return model.d - int(bool(getattr(model, "null_slot", False)))


def _family_members(model) -> list[tuple[str, list[int]]] | None:
    """Aligned models: (family, its dimensions) — featurizer families for the named dimensions, the taste
    dimensions as one family, no null slot. None for latent models (their dimensions have no families)."""
    fz = model.featurizer
    if getattr(fz, "mode", None) != "aligned":
        return None
    named = [(g.name, list(range(g.start, g.stop))) for g in fz.groups("user") if g.kind != "id"]
    taste = model.taste_dimensions
    if taste.stop > taste.start:
        from attnrec.trust_plan import TASTE_FAMILY

        named.append((TASTE_FAMILY, list(range(taste.start, taste.stop))))
    return named


def learned_from_ids(model: Recommender, importance: Importance) -> list[str]:
    """Features of an aligned hybrid that come from the one-hot ids (taste dimensions, the taste family, the id
    fields): what attention learned about who liked what, rather than named attributes. Empty otherwise."""
    if getattr(model.featurizer, "mode", None) != "aligned":
        return []
    taste = model.taste_dimensions
    names = {model.dimension_names[i] for i in range(taste.start, taste.stop)}
    from attnrec.trust_plan import TASTE_FAMILY

    names.add(TASTE_FAMILY)
    for side in ("user", "item"):
        names.update(f"{side}: {g.name}" for g in model.featurizer.groups(side) if g.kind == "id")
    return [n for n in importance.names if n in names]


@torch.no_grad()
def contribution_importance(model: Recommender, pairs: pd.DataFrame, grouping: str = "dimensions") -> Importance:
    """Exact contributions over `pairs`: per dimension C_i = Σ_h A_U[h,i]·A_V[h,i]·X_i·Y_i (rows add up to S),
    or summed per family (`grouping="families"`); the feature value is X_i·Y_i (summed the same way)."""
    users, items = list(pairs["user_id"].astype(str)), list(pairs["item_id"].astype(str))
    x = model.encode_user(model.user_rows(users))
    y = model.encode_item(model.item_rows(items))
    trace = model.attention(x, y)
    contributions = trace.contributions.sum(dim=1).double().cpu().numpy()
    product = (x * y).double().cpu().numpy()
    s = trace.s.double().cpu().numpy()
    names = list(model.dimension_names)
    d = _real_dimensions(model)
    if grouping == "dimensions":
        values, features, names = contributions[:, :d], product[:, :d], names[:d]
    elif grouping == "families":
        families = _family_members(model)
        if families is None:
            raise ValueError("feature families exist only for aligned models")
        member = np.zeros((contributions.shape[1], len(families)))
        for j, (_, dims) in enumerate(families):
            member[dims, j] = 1.0
        values, features, names = contributions @ member, product @ member, [f for f, _ in families]
    else:
        raise ValueError(f"grouping must be 'dimensions' or 'families', got {grouping!r}")
    frame = pairs[["user_id", "item_id", "label"]].reset_index(drop=True).assign(s=s)
    return Importance(
        frame,
        values,
        features,
        names,
        grouping,
        "X_i·Y_i (summed over the family)" if grouping == "families" else "X_i·Y_i",
        "S",
    )


def ig_importance(model: Recommender, pairs: pd.DataFrame, baseline: str | None = None, steps: int = 50) -> Importance:
    """Integrated Gradients over the raw fields (one group per field / family, user and item side) with the
    model's default baseline; rows add up to S − S(baseline) up to IG's convergence delta. The feature
    value is how far the pair's columns of that group are from the baseline, Σ|input − baseline|."""
    from attnrec.explain import explain, targets_for
    from attnrec.explain.model_targets import default_baseline

    baseline = baseline or default_baseline(model)
    users, items = list(pairs["user_id"].astype(str)), list(pairs["item_id"].astype(str))
    target = targets_for(
        model, model.user_rows(users), model.item_rows(items), "fields", baseline, pair_ids=list(zip(users, items))
    )
    attribution = explain(target, "ig", {"n_steps": steps})
    bu, bv = target.full_baselines()
    moved_u = (target.inputs_u - bu).abs().double().cpu().numpy()
    moved_v = (target.inputs_v - bv).abs().double().cpu().numpy()
    gu, gv = target.column_groups()
    n = len(target.groups)
    features = np.stack([np.bincount(gu, weights=row, minlength=n) for row in moved_u]) + np.stack(
        [np.bincount(gv, weights=row, minlength=n) for row in moved_v]
    )
    frame = pairs[["user_id", "item_id", "label"]].reset_index(drop=True).assign(s=attribution.s)
    return Importance(
        frame,
        attribution.groups,
        features,
        list(attribution.group_names),
        "fields (IG)",
        "Σ|input − baseline| over the field's columns",
        f"S − S(baseline “{baseline}”)",
    )


def attribute_values(dataset: Dataset, pairs: pd.DataFrame, side: str, column: str) -> pd.Series:
    """The raw attribute `column` of each pair's user or item (index aligned with `pairs`)."""
    table = dataset.users if side == "user" else dataset.items
    ids = pairs["user_id" if side == "user" else "item_id"].astype(str)
    lookup = table[column]
    lookup.index = lookup.index.astype(str)
    return pd.Series(lookup.reindex(ids).to_numpy(), index=pairs.index, name=column)


def multi_separator(dataset: Dataset, side: str, column: str) -> str | None:
    """The separator of a multi-valued column ("Mexican; Bar") as the dataset's schema declares it, else None."""
    spec = ((dataset.schema or {}).get(f"{side}_features") or {}).get(column)
    return spec.get("separator") if isinstance(spec, dict) and spec.get("kind") == "multi" else None


def explode_values(values: pd.Series, separator: str | None) -> pd.Series:
    """One row per (row, value) of a multi-valued column, the row's index repeated; missing → "(missing)".
    Without a separator, the values as text (missing → "(missing)")."""
    text = values.astype(object).where(values.notna(), MISSING).astype(str)
    if not separator:
        return text
    parts = text.map(lambda cell: [v.strip() for v in cell.split(separator) if v.strip()] or [MISSING])
    return parts.explode().astype(str)


# ---- slices ---------------------------------------------------------------------------------------------


def slice_columns(dataset: Dataset, side: str) -> list[str]:
    """Columns of the user or item table that make slices: numeric ones (binned), and categorical ones that
    do not name nearly every row apart (ids, names, addresses are left out), and multi-valued ones."""
    table = dataset.users if side == "user" else dataset.items
    keep = []
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            present = values.dropna()
            separator = multi_separator(dataset, side, str(column))
            distinct = explode_values(present, separator).nunique()
            # A multi-valued column is a set of tags, never an identifier: the most frequent become slices.
            if 2 <= distinct and (separator or distinct <= max(2, len(values) // 2)):
                keep.append(str(column))
        elif values.dropna().nunique() >= 2:
            keep.append(str(column))
    return keep


def slice_labels(values: pd.Series, bins: int = 4, max_slices: int = 12) -> pd.Series:
    """A slice name per row: numeric columns in `bins` quantile bins ("[min, q1]", "(q1, q2]", …), categorical
    ones by value (the `max_slices` − 1 most frequent, the rest "(other)"); missing values get "(missing)"."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        present = numbers.dropna()
        if present.nunique() <= bins:
            labels = numbers.map(lambda v: f"{v:g}" if pd.notna(v) else MISSING)
        else:
            edges = np.unique(np.quantile(present.to_numpy(), np.linspace(0, 1, bins + 1)))
            names = [
                f"{'[' if k == 0 else '('}{low:.4g}, {high:.4g}]"
                for k, (low, high) in enumerate(zip(edges[:-1], edges[1:]))
            ]
            # (a, b] bins like pd.qcut, the first one closed: [min, b].
            index = np.clip(np.searchsorted(edges, numbers.to_numpy(), side="left") - 1, 0, len(names) - 1)
            labels = pd.Series(
                [names[i] if pd.notna(v) else MISSING for i, v in zip(index, numbers)], index=values.index
            )
        return labels.astype(str)
    text = values.astype(object).where(values.notna(), MISSING).astype(str)
    counts = text[text != MISSING].value_counts()
    if len(counts) > max_slices:
        keep = set(counts.index[: max_slices - 1])
        text = text.where(text.isin(keep) | (text == MISSING), OTHER)
    return text


def _slice_order(labels: pd.Series) -> list[str]:
    """Slices in reading order: numeric bins by their lower edge, others by size; missing / other last."""
    names = [n for n in pd.unique(labels) if n not in (MISSING, OTHER)]

    def lower(name):
        try:
            return float(str(name).lstrip("[(").split(",")[0])
        except ValueError:
            return None

    if names and all(lower(n) is not None for n in names):
        names = sorted(names, key=lower)
    else:
        sizes = labels.value_counts()
        names = sorted(names, key=lambda n: (-sizes[n], n))
    return names + [n for n in (OTHER, MISSING) if n in set(labels)]


def unit_entropy(model: Recommender, user_ids: Iterable[str], item_ids: Iterable[str]) -> np.ndarray:
    """(B, H, 2) normalised entropy of A_U and A_V over the model's attention units per pair and head — the
    `entropy` of `attnrec.quality.attention_quality` (a taste block is one unit), without its τ and erasure."""
    from attnrec.health import attention_entropy, attention_over_pairs

    traces = attention_over_pairs(model, list(user_ids), list(item_ids))
    units = model.attention_units() if hasattr(model, "attention_units") else [[i] for i in range(model.d)]
    member = np.zeros((traces["a_u"].shape[-1], len(units)))
    for j, unit in enumerate(units):
        member[unit, j] = 1.0
    return np.stack(
        [
            attention_entropy(traces["a_u"].astype(np.float64) @ member),
            attention_entropy(traces["a_v"].astype(np.float64) @ member),
        ],
        axis=-1,
    )


def slice_metrics(
    model: Recommender,
    split: Split,
    side: str,
    column: str,
    k: int = 10,
    bins: int = 4,
    min_users: int = 5,
    max_slices: int = 12,
) -> tuple[pd.DataFrame, dict]:
    """Per slice of the split's held-out users: users, HR@k, NDCG@k (`attnrec.evaluation.evaluate` on the split
    restricted to the slice), mean normalised attention entropy of the held-out pairs (`unit_entropy`, as
    `attnrec.quality` defines it, over heads and both sides), and `worst`: the lowest HR@k (then NDCG@k) among
    slices with ≥ `min_users` users (among all slices if none has that many). `side="user"` slices by the
    user's `column`, "item" by the held-out item's. A multi-valued column (schema "multi") puts a user in the
    slice of each of its values, so slices overlap.

    Returns (table, overall): overall holds the same numbers over all held-out users, "users", "overlapping"
    (a multi-valued column) and "members": slice → positions of its rows in `split.held_out`."""
    from attnrec.evaluation import evaluate

    held = split.held_out.reset_index(drop=True)
    table = split.full.users if side == "user" else split.full.items
    ids = held["user_id" if side == "user" else "item_id"].astype(str)
    column_values = table[column].copy()
    column_values.index = column_values.index.astype(str)
    separator = multi_separator(split.full, side, column)
    if separator:
        exploded = explode_values(column_values, separator)
        named = slice_labels(exploded, max_slices=max_slices)
        members = {name: set(named.index[named == name]) for name in _slice_order(named)}
        masks = {name: ids.isin(entities).to_numpy() for name, entities in members.items()}
    else:
        labels = slice_labels(column_values, bins=bins, max_slices=max_slices)  # over the whole table
        held_labels = labels.reindex(ids).fillna(MISSING).to_numpy()
        masks = {name: held_labels == name for name in _slice_order(pd.Series(held_labels))}
    entropy = unit_entropy(model, held["user_id"].astype(str), held["item_id"].astype(str)).mean(axis=(1, 2))
    rows = []
    for name, mask in masks.items():
        if not mask.any():
            continue
        part = replace(split, held_out=held[mask].reset_index(drop=True))
        result = evaluate(model, part, k=k)
        rows.append(
            {
                "slice": name,
                "users": int(mask.sum()),
                f"HR@{k}": result[f"hr@{k}"],
                f"NDCG@{k}": result[f"ndcg@{k}"],
                "attention entropy": float(entropy[mask].mean()),
            }
        )
    frame = pd.DataFrame(rows, columns=["slice", "users", f"HR@{k}", f"NDCG@{k}", "attention entropy"])
    frame["worst"] = False
    if len(frame):
        eligible = frame[frame["users"] >= min_users]
        eligible = eligible if len(eligible) else frame
        worst = eligible.sort_values([f"HR@{k}", f"NDCG@{k}"], kind="stable").index[0]
        frame.loc[worst, "worst"] = True
    overall: dict[str, Any]  # the three metrics (floats), then "users", "overlapping" and "members"
    if not len(held):
        overall = {f"HR@{k}": float("nan"), f"NDCG@{k}": float("nan"), "attention entropy": float("nan")}
    elif separator is None:  # the slices partition the users: weighted means are the totals
        weights = frame["users"] / frame["users"].sum()
        overall = {c: float((frame[c] * weights).sum()) for c in (f"HR@{k}", f"NDCG@{k}", "attention entropy")}
    else:
        result = evaluate(model, split, k=k)
        overall = {
            f"HR@{k}": result[f"hr@{k}"],
            f"NDCG@{k}": result[f"ndcg@{k}"],
            "attention entropy": float(entropy.mean()) if len(entropy) else float("nan"),
        }
    overall["users"] = int(len(held))
    overall["overlapping"] = separator is not None
    overall["members"] = {name: [int(i) for i in np.flatnonzero(mask)] for name, mask in masks.items() if mask.any()}
    return frame, overall


# ---- two models ------------------------------------------------------------------------------------------


def held_out_ranks(model: Recommender, split: Split) -> pd.DataFrame:
    """Per held-out user: the held-out item's expected rank among the protocol's candidates (1 + candidates
    scored higher + half the ties — the mean position over tie orders) and the number of candidates, with
    the candidates of `attnrec.evaluation.evaluate` (same protocol, same exclusions)."""
    catalog = [str(i) for i in split.full.items.index]
    row = {item: r for r, item in enumerate(catalog)}
    own = {item: r for r, item in enumerate(model.item_ids)}
    take = np.array([own[i] for i in catalog])
    if split.protocol == "common":
        inter = split.train.interactions
        inter = inter[inter["label"] == 1]
    else:
        inter = split.full.interactions
    touched = inter.groupby(inter["user_id"].astype(str))["item_id"].agg(lambda s: {str(i) for i in s})
    out = []
    for user, item in zip(split.held_out["user_id"].astype(str), split.held_out["item_id"].astype(str)):
        scores = np.asarray(model.scores_for_user(user), dtype=np.float64)[take]
        mask = np.ones(len(catalog), dtype=bool)
        mask[[row[i] for i in touched.get(user, set()) - {item} if i in row]] = False
        mask[row[item]] = False
        mine, others = scores[row[item]], scores[mask]
        rank = 1 + (others > mine).sum() + 0.5 * (others == mine).sum()
        out.append({"user_id": user, "item_id": item, "rank": float(rank), "candidates": int(mask.sum()) + 1})
    return pd.DataFrame(out)


@dataclass
class HeldOutComparison:
    metrics: pd.DataFrame  # model, HR@k, NDCG@k, AUC, users (via attnrec.evaluation.evaluate)
    ranks: pd.DataFrame  # user_id, item_id, rank <a>, rank <b>, candidates
    better: dict  # model name → users it ranks strictly better; "tie" → equal ranks


def compare_held_out(models: dict, split: Split, k: int = 10) -> HeldOutComparison:
    """Both models (`{name: model}`, two entries) on the same held-out users of `split`."""
    from attnrec.evaluation import evaluate

    (name_a, model_a), (name_b, model_b) = models.items()
    rows = []
    for name, model in ((name_a, model_a), (name_b, model_b)):
        result = evaluate(model, split, k=k)
        rows.append(
            {
                "model": name,
                f"HR@{k}": result[f"hr@{k}"],
                f"NDCG@{k}": result[f"ndcg@{k}"],
                "AUC": result["auc"],
                "users": result["users"],
            }
        )
    a, b = held_out_ranks(model_a, split), held_out_ranks(model_b, split)
    ranks = a[["user_id", "item_id"]].assign(
        **{f"rank {name_a}": a["rank"], f"rank {name_b}": b["rank"], "candidates": a["candidates"]}
    )
    better = {
        name_a: int((a["rank"] < b["rank"]).sum()),
        name_b: int((b["rank"] < a["rank"]).sum()),
        "tie": int((a["rank"] == b["rank"]).sum()),
    }
    return HeldOutComparison(pd.DataFrame(rows), ranks, better)


@torch.no_grad()
def compare_pair(models: dict, user_id: str, item_id: str, top: int = 5) -> tuple[pd.DataFrame, dict]:
    """One pair under each model: a summary frame (model, S, P(like), rank among all items, mean normalised
    entropy of A_U and A_V over heads, over attention units as `unit_entropy`) and {model: its `top` dimensions
    by |contribution| (dimension, contribution, share of S)}."""
    rows, tops = [], {}
    for name, model in models.items():
        pair = model.trace(user_id, item_id)
        trace = pair.trace
        contributions = trace.contributions.sum(dim=1)[0].double().cpu().numpy()
        d = _real_dimensions(model)
        rows.append(
            {
                "model": name,
                "S": pair.s,
                "P(like)": pair.probability,
                "rank": pair.rank,
                "items": len(model.item_ids),
                **dict(
                    zip(
                        ("entropy A_U", "entropy A_V"),
                        unit_entropy(model, [user_id], [item_id])[0].mean(axis=0).tolist(),
                    )
                ),
            }
        )
        order = np.argsort(-np.abs(contributions[:d]), kind="stable")[:top]
        tops[name] = pd.DataFrame(
            {
                "dimension": [model.dimension_names[i] for i in order],
                "contribution": contributions[order],
                "share of S": contributions[order] / pair.s if pair.s else np.nan,
            }
        )
    return pd.DataFrame(rows), tops


@torch.no_grad()
def pair_attention_top(model: Recommender, user_id: str, item_id: str, top: int = 5) -> pd.DataFrame:
    """The pair's most attended attention units: weight = mean over heads of (A_U + A_V) / 2 (a taste block
    counts as one unit, its weights summed; the null slot is listed as itself)."""
    pair = model.trace(user_id, item_id)
    weight = ((pair.trace.a_u + pair.trace.a_v) / 2).mean(dim=1)[0].double().cpu().numpy()
    units = model.attention_units() if hasattr(model, "attention_units") else [[i] for i in range(model.d)]
    names = model.unit_names() if hasattr(model, "unit_names") else list(model.dimension_names)
    per_unit = np.array([weight[u].sum() for u in units])
    order = np.argsort(-per_unit, kind="stable")[:top]
    return pd.DataFrame({"attended": [names[j] for j in order], "weight": per_unit[order], "uniform": 1.0 / len(units)})


def pair_field_attributions(
    model: Recommender, user_id: str, item_id: str, top: int = 5, steps: int = 50
) -> pd.DataFrame:
    """Integrated Gradients of one pair over the raw fields with the model's default baseline: the `top`
    fields by |attribution|, and the total with S − S(baseline) for the completeness check."""
    from attnrec.explain import explain, targets_for
    from attnrec.explain.model_targets import default_baseline

    target = targets_for(
        model,
        model.user_rows([user_id]),
        model.item_rows([item_id]),
        "fields",
        default_baseline(model),
        pair_ids=[(str(user_id), str(item_id))],
    )
    attribution = explain(target, "ig", {"n_steps": steps})
    values = attribution.groups[0]
    order = np.argsort(-np.abs(values), kind="stable")[:top]
    frame = pd.DataFrame({"field": [attribution.group_names[j] for j in order], "attribution": values[order]})
    frame.attrs["total"] = float(values.sum())
    frame.attrs["change"] = float(attribution.s[0] - attribution.s_baseline[0])
    return frame

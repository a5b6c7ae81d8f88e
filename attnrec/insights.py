"""Dataset-wide views of a trained model for the Insights page: what drives S over a sample of pairs,
how the model does per slice of users or items, and two models side by side. No Streamlit here.

- **Global importance**: over a seeded sample of (user, item) pairs (each sampled user's positives plus as
  many random never-interacted items), the exact per-dimension contribution Σ_h A_U·A_V·X_i·Y_i (the row sums
  to S), optionally summed per feature family, or Integrated Gradients over the raw fields with the model's
  default baseline. Each feature also has a *value* per pair for colouring and dependence plots.
- **Slices**: attnrec.insight_slices.
- **Two models**: attnrec.model_comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

if TYPE_CHECKING:
    from attnrec.data.types import Dataset
    from attnrec.model import Recommender

__all__ = [
    "sample_pairs",
    "Importance",
    "learned_from_ids",
    "contribution_importance",
    "ig_importance",
    "feature_groupings",
    "attribute_values",
    "multi_separator",
    "explode_values",
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
    options = {"dimensions": f"dimensions of X and Y ({real_dimensions(model)})"}
    families = _family_members(model)
    if families is not None:
        options["families"] = f"feature families ({len(families)})"
    return options


def real_dimensions(model: Recommender) -> int:
    """d without the null slot (the extra last dimension "nothing", X = Y = 0), if the model has one."""
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
    d = real_dimensions(model)
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

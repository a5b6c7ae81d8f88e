"""Dataset-wide view, slices: the held-out users of the leave-one-out protocol (`attnrec.evaluation`, reused:
each slice is the split restricted to its held-out rows) grouped by a user column, or by the held-out item's
column; per slice HR@k, NDCG@k and the mean normalised attention entropy (`attnrec.quality`), the worst slice
flagged. No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from attnrec.data.types import Dataset
    from attnrec.evaluation import Split
    from attnrec.model import Recommender

from attnrec.insights import MISSING, OTHER, explode_values, multi_separator


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

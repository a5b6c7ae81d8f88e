"""One-line reasons for a recommendation, built from its largest field attributions.

    "cuisine Mexican with this user's likes Mexican;Thai (+0.21); price high with this user's budget low (−0.04)"

In a top-K list the reasons are contrastive (`recommendations_with_reasons`): each item's field attributions
minus their average over the K items, so a reason says what sets *this* item apart for this user, and ten
items that share one big driver do not get ten identical reasons. Each side of a field is described as what
it is (`side_texts`): a raw column's value, a history profile ("history: 40 % Mexican"), the item's
popularity, or a learned taste (from ids) — never an id dressed up as an attribute.

Pure: attribution values per group and the attribute text of both sides in, a string out.
Field-level group names look like "user: budget" / "item: price" (see attnrec.explain.groups_from_fields);
a user group and an item group with the same field name (an aligned family such as "cuisine") are merged
into one part, because together they are one "does the item match the user" effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from attnrec.data.featurize import Featurizer
    from attnrec.data.types import Side
    from attnrec.explain.attribution import Attribution
    from attnrec.model import Recommender

__all__ = [
    "ReasonPart",
    "split_group_name",
    "merge_sides",
    "reason_parts",
    "format_part",
    "format_reason",
    "reason_line",
    "describe_fields",
    "raw_columns_of_group",
    "recommendations_with_reasons",
    "MINUS",
    "side_texts",
    "contrast",
    "signed_amount",
    "TASTE",
]

MINUS = "\u2212"  # a real minus sign: "−0.04" reads better than "-0.04"


@dataclass(frozen=True)
class ReasonPart:
    field: str
    value: float  # summed attribution of this field on both sides
    user_text: str | None = None  # e.g. "budget low" (None: the user side has no such field)
    item_text: str | None = None  # e.g. "price high"


def split_group_name(name: str) -> tuple[str | None, str]:
    """ "user: budget" → ("user", "budget"); names without a side prefix → (None, name)."""
    for side in ("user", "item"):
        prefix = f"{side}: "
        if name.startswith(prefix):
            return side, name[len(prefix) :]
    return None, name


def merge_sides(group_names: Iterable[str], values: Iterable[float]) -> dict[str, dict]:
    """Field → {"value": Σ over sides, "sides": set of sides present}, in first-seen order."""
    merged: dict[str, dict] = {}
    for name, value in zip(group_names, values):
        side, field = split_group_name(str(name))
        entry = merged.setdefault(field, {"value": 0.0, "sides": set()})
        entry["value"] += float(value)
        entry["sides"].add(side)
    return merged


def reason_parts(
    group_names: Iterable[str],
    values: Iterable[float],
    user_text: Mapping[str, str] | None = None,
    item_text: Mapping[str, str] | None = None,
    top: int = 2,
    min_abs: float = 1e-4,
) -> list[ReasonPart]:
    """The `top` fields with the largest |attribution| (ties: first listed), dropping ones below `min_abs`."""
    user_text, item_text = user_text or {}, item_text or {}
    merged = merge_sides(group_names, values)
    order = sorted(merged, key=lambda f: -abs(merged[f]["value"]))  # sorted() is stable
    parts = []
    for field in order[:top]:
        entry = merged[field]
        if abs(entry["value"]) < min_abs:
            continue
        sides = entry["sides"]
        parts.append(
            ReasonPart(
                field,
                entry["value"],
                user_text.get(field) if ("user" in sides or None in sides) else None,
                item_text.get(field) if ("item" in sides or None in sides) else None,
            )
        )
    return parts


def signed_amount(value: float) -> str:
    """ "+0.21", "−0.043", "+7.42": two decimals from 0.1 up, two significant digits below ("+0.0014"), so a
    small value never rounds to 0."""
    size = abs(value)
    text = f"{size:.2f}" if size >= 0.1 or size == 0 else f"{size:.2g}"
    return ("+" if value >= 0 else MINUS) + text


_signed = signed_amount
TASTE = "learned taste (from ids)"


def format_part(part: ReasonPart) -> str:
    """One clause: what the item has, how it relates to the user, and the signed contribution."""
    amount = f"({_signed(part.value)})"
    user, item = part.user_text, part.item_text
    if user == TASTE and item == TASTE:
        return f"{TASTE} {amount}"
    if user and item:
        return f"{item} with this user's {user} {amount}"
    if item:
        return f"{item} {amount}"
    if user:
        return f"this user's {user} {amount}"
    return f"{part.field} {amount}"


def format_reason(parts: list[ReasonPart]) -> str:
    return "; ".join(format_part(p) for p in parts) if parts else "no field moves the score noticeably"


def reason_line(
    group_names: Iterable[str],
    values: Iterable[float],
    user_text: Mapping[str, str] | None = None,
    item_text: Mapping[str, str] | None = None,
    top: int = 2,
) -> str:
    """The whole one-liner for one pair (see module docstring)."""
    return format_reason(reason_parts(group_names, values, user_text, item_text, top=top))


# ---- raw attribute text ------------------------------------------------------------------------


def _cell_text(value) -> str:
    if value is None or (not isinstance(value, (str, list, tuple, np.ndarray)) and pd.isna(value)):
        return "unknown"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.3g}"
    text = str(value).strip()
    return text if text else "unknown"


def describe_fields(raw_row: pd.Series, columns_by_field: Mapping[str, list[str]]) -> dict[str, str]:
    """Field → "column value" text from one raw table row, e.g. {"price": "price high"}.

    A field that reads several raw columns lists them all ("budget 20, smoker no"); the id field
    reads the row's index."""
    out = {}
    for field, columns in columns_by_field.items():
        pieces = []
        for column in columns:
            if column == "id" and column not in raw_row.index:
                pieces.append(f"id {raw_row.name}")
            elif column in raw_row.index:
                pieces.append(f"{column} {_cell_text(raw_row[column])}")
        out[field] = ", ".join(pieces) if pieces else field
    return out


def raw_columns_of_group(featurizer: Featurizer, side: Side) -> dict[str, list[str]]:
    """Field group name → the raw table columns it is computed from, for one side.

    Latent mode: a group *is* a raw field (or the id). Aligned mode: a family's dimensions each
    read one column per side (e.g. family "price" reads the user's "budget" and the item's "price")."""
    groups = featurizer.groups(side)
    if featurizer.mode != "aligned":
        return {g.name: [g.name] for g in groups}
    columns: dict[str, list[str]] = {g.name: [] for g in groups}
    for dim in featurizer.dimensions:
        column = dim[side]["column"]
        if column not in columns[dim["group"]]:
            columns[dim["group"]].append(column)
    return columns


def _short(name: str, group: str) -> str:
    """ "cuisine: Mexican" in family "cuisine" → "Mexican"."""
    prefix = f"{group}: "
    return name[len(prefix) :] if name.startswith(prefix) else name


def side_texts(
    model: Recommender, side: Side, row_id: str, encoded: np.ndarray, other: np.ndarray | None = None
) -> dict[str, str]:
    """Field group → what this row's side of it is, in words (see the module docstring).

    `encoded` is the row's encoded columns (the model's R_u or R_v); `other` the other side's, so a history
    profile names the values that meet the item (the largest X_i·Y_i). Latent models say which side an
    attribute belongs to ("item's longitude −101"), since both sides may have a column of that name."""
    featurizer = model.featurizer
    dataset = model.attached_dataset
    raw_row = (dataset.users if side == "user" else dataset.items).loc[str(row_id)]
    whose = "this user's " if side == "user" else "item's "
    out: dict[str, str] = {}
    for group in featurizer.groups(side):
        if group.kind == "id":
            out[group.name] = TASTE
            continue
        if featurizer.mode != "aligned":
            text = describe_fields(raw_row, {group.name: [group.name]})[group.name]
            out[group.name] = text if side == "user" else whose + text
            continue
        dims = featurizer.dimensions[group.start : group.stop]
        rule = dims[0][side]
        if "constant" in rule:
            continue  # the same for every row: nothing about this row to say
        if "id_values" not in rule:  # a raw column (or several) of this row
            columns = list(dict.fromkeys(d[side]["column"] for d in dims))
            out[group.name] = describe_fields(raw_row, {group.name: columns})[group.name]
            continue
        values = np.asarray(encoded[group.start : group.stop], dtype=float)
        if side == "item":  # e.g. "popular place": log-scaled positives, 1 = the most popular
            out[group.name] = f"{group.name} {values.max():.2f} of 1"
            continue
        meets = values * (np.asarray(other[group.start : group.stop], dtype=float) if other is not None else 1.0)
        order = [
            j for j in np.argsort(-(meets if meets.max(initial=0) > 0 else values), kind="stable")[:2] if values[j] > 0
        ]
        if not order:
            out[group.name] = f"history: no {group.name}"
        elif len(dims) == 1 and _short(dims[0]["name"], group.name) == dims[0]["name"]:  # a numeric family
            out[group.name] = f"history: {group.name} {values[0]:.2f} of its range"
        else:
            out[group.name] = "history: " + ", ".join(
                f"{values[j]:.0%} {_short(dims[j]['name'], group.name)}" for j in order
            )
    return out


def contrast(values: np.ndarray) -> np.ndarray:
    """Each row minus the mean row (what sets one item apart from the others listed); one row stays as is."""
    values = np.asarray(values, dtype=float)
    return values - values.mean(axis=0, keepdims=True) if len(values) > 1 else values


# ---- with a model: top-K and a reason per item ------------------------------------------------


def recommendations_with_reasons(
    model: Recommender,
    user_id: str,
    k: int = 10,
    method_key: str = "ig",
    baseline: str | None = None,
    params: dict | None = None,
    top: int = 2,
    exclude_seen: bool = True,
) -> tuple[pd.DataFrame, Attribution | None]:
    """`model.top_k` plus, per item, the field attributions of its S (one batched `explain` call)
    and the one-line contrastive reason built from them (module docstring). Returns (table, Attribution).
    baseline: None → the model's default (`model_targets.default_baseline`)."""
    from attnrec.explain import explain
    from attnrec.explain.model_targets import default_baseline, targets_for

    ranked = model.top_k(user_id, k=k, exclude_seen=exclude_seen)
    if ranked.empty:
        return ranked.assign(reason=[]), None
    r_u = model.user_rows(user_id)[0]
    items = model.item_rows(list(ranked["item_id"]))
    target = targets_for(
        model,
        r_u.expand(len(ranked), -1),
        items,
        "fields",
        baseline or default_baseline(model),
        pair_ids=[(str(user_id), str(item)) for item in ranked["item_id"]],
    )
    attribution = explain(target, method_key, params)
    apart = contrast(attribution.groups)
    floor = 1e-6 * float(np.abs(np.asarray(attribution.groups)).max(initial=0.0))  # only what is ~0 at this scale
    user_row, item_rows = r_u.cpu().numpy(), items.cpu().numpy()
    reasons = []
    for b, item in enumerate(ranked["item_id"]):
        user_text = side_texts(model, "user", str(user_id), user_row, item_rows[b])
        item_text = side_texts(model, "item", str(item), item_rows[b], user_row)
        reasons.append(
            format_reason(reason_parts(attribution.group_names, apart[b], user_text, item_text, top=top, min_abs=floor))
        )
    items = model.attached_dataset.items
    name_column = model.attached_dataset.schema.get("item_name")
    table = ranked.copy()
    if name_column and name_column in items.columns:
        table.insert(2, "name", items.loc[list(ranked["item_id"]), name_column].astype(str).to_numpy())
    table["reason"] = reasons
    return table, attribution

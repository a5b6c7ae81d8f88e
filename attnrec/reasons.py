"""One-line reasons for a recommendation, built from its largest field attributions.

    "cuisine Mexican suits this user's likes Mexican;Thai (+0.21); price high vs this user's budget low (−0.04)"

Pure: attribution values per group and the raw attribute text of both sides in, a string out.
Field-level group names look like "user: budget" / "item: price" (see attnrec.explain.groups_from_fields);
a user group and an item group with the same field name (an aligned family such as "cuisine") are merged
into one part, because together they are one "does the item match the user" effect.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["ReasonPart", "split_group_name", "merge_sides", "reason_parts", "format_part", "format_reason",
           "reason_line", "describe_fields", "raw_columns_of_group", "recommendations_with_reasons", "MINUS"]

MINUS = "\u2212"  # a real minus sign: "−0.04" reads better than "-0.04"


@dataclass(frozen=True)
class ReasonPart:
    field: str
    value: float                 # summed attribution of this field on both sides
    user_text: str | None = None     # e.g. "budget low" (None: the user side has no such field)
    item_text: str | None = None     # e.g. "price high"


def split_group_name(name: str) -> tuple[str | None, str]:
    """"user: budget" → ("user", "budget"); names without a side prefix → (None, name)."""
    for side in ("user", "item"):
        prefix = f"{side}: "
        if name.startswith(prefix):
            return side, name[len(prefix):]
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


def reason_parts(group_names: Iterable[str], values: Iterable[float], user_text: Mapping[str, str] | None = None,
                 item_text: Mapping[str, str] | None = None, top: int = 2, min_abs: float = 1e-4
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
        parts.append(ReasonPart(field, entry["value"],
                                user_text.get(field) if ("user" in sides or None in sides) else None,
                                item_text.get(field) if ("item" in sides or None in sides) else None))
    return parts


def _signed(value: float) -> str:
    return f"+{value:.2f}" if value >= 0 else f"{MINUS}{abs(value):.2f}"


def format_part(part: ReasonPart) -> str:
    """One clause: what the item has, how it relates to the user, and the signed contribution."""
    amount = f"({_signed(part.value)})"
    user, item = part.user_text, part.item_text
    if user and item:
        relation = "suits this user's" if part.value >= 0 else "vs this user's"
        return f"{item} {relation} {user} {amount}"
    if item:
        return f"{item} {amount}"
    if user:
        return f"this user's {user} {amount}"
    return f"{part.field} {amount}"


def format_reason(parts: list[ReasonPart]) -> str:
    return "; ".join(format_part(p) for p in parts) if parts else "no field moves the score noticeably"


def reason_line(group_names, values, user_text=None, item_text=None, top: int = 2) -> str:
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


def raw_columns_of_group(featurizer, side: str) -> dict[str, list[str]]:
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


# ---- with a model: top-K and a reason per item ------------------------------------------------

def recommendations_with_reasons(model, user_id: str, k: int = 10, method_key: str = "ig",
                                 baseline: str = "zeros", params: dict | None = None, top: int = 2,
                                 exclude_seen: bool = True):
    """`model.top_k` plus, per item, the field attributions of its S (one batched `explain` call)
    and the one-line reason built from them. Returns (table, Attribution)."""
    from attnrec.explain import explain
    from attnrec.report import field_target

    ranked = model.top_k(user_id, k=k, exclude_seen=exclude_seen)
    if ranked.empty:
        return ranked.assign(reason=[]), None
    r_u = model.user_rows(user_id)[0]
    items = model.item_rows(list(ranked["item_id"]))
    target = field_target(model, r_u, items[0], baseline).with_inputs(r_u.expand(len(ranked), -1), items)
    attribution = explain(target, method_key, params)
    user_text = describe_fields(model.dataset.users.loc[str(user_id)], raw_columns_of_group(model.featurizer, "user"))
    item_columns = raw_columns_of_group(model.featurizer, "item")
    reasons = [reason_line(attribution.group_names, attribution.groups[b], user_text,
                           describe_fields(model.dataset.items.loc[item], item_columns), top=top)
               for b, item in enumerate(ranked["item_id"])]
    name_column = model.dataset.schema.get("item_name")
    table = ranked.copy()
    if name_column and name_column in model.dataset.items.columns:
        table.insert(2, "name", model.dataset.items.loc[list(ranked["item_id"]), name_column].astype(str).to_numpy())
    table["reason"] = reasons
    return table, attribution

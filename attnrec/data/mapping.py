"""From uploaded tables to a schema: suggested id, name, timestamp columns and roles, the positive
threshold, and the column mapping → schema JSON (checked by attnrec.data.own_schema.validate_schema). No Streamlit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from attnrec.data.types import DataError
from attnrec.limits import LIMITS

if TYPE_CHECKING:  # pandas is imported where it is used (the app's cold start)
    import pandas as pd

# ---- the column mapping → schema JSON -----------------------------------------------------------

ROLE_IGNORE, ROLE_CATEGORICAL, ROLE_NUMERIC, ROLE_MULTI = "ignore", "categorical", "numeric", "multi"
ROLE_HIDE = "hide"  # not a feature, and dropped from the kept tables (never shown: e.g. a hex geometry column)
FEATURE_ROLES = (ROLE_IGNORE, ROLE_CATEGORICAL, ROLE_NUMERIC, ROLE_MULTI, ROLE_HIDE)


def build_schema(
    *,
    user_id: str,
    item_id: str,
    label_column: str | None = None,
    label_threshold: float | None = None,
    user_roles: dict[str, str] | None = None,
    item_roles: dict[str, str] | None = None,
    separators: dict[str, str] | None = None,
    aligned_pairs: list[dict] | None = None,
    timestamp: str | None = None,
    missing_values: list[str] | None = None,
    name: str | None = None,
    item_name: str | None = None,
) -> dict:
    """The schema JSON (the CLI's format, `attnrec.data.own`) from what the Data page's widgets say.

    `user_roles` / `item_roles` map column → one of FEATURE_ROLES; `separators` maps "user:col" or
    "item:col" → separator for multi-valued columns; `aligned_pairs` is a list of {"user", "item",
    "name"?, "kind"?}. The result is validated by the data layer, so the page and the CLI agree.
    """
    from attnrec.data.own_schema import validate_schema

    separators = separators or {}
    schema: dict = {"user_id": user_id, "item_id": item_id}
    if name:
        schema["name"] = name
    if label_column:
        schema["label"] = {
            "column": label_column,
            "threshold": 1 if label_threshold is None else _number(label_threshold),
        }
    if timestamp:
        schema["timestamp"] = timestamp
    if item_name:
        if (item_roles or {}).get(item_name) == ROLE_HIDE:
            raise DataError(f"item column '{item_name}' names the items, so it cannot be hidden", column=item_name)
        schema["item_name"] = item_name
    for side, roles, id_column in (("user", user_roles, user_id), ("item", item_roles, item_id)):
        features = {}
        for column, role in (roles or {}).items():
            if role not in FEATURE_ROLES:
                raise DataError(
                    f"{side} column '{column}': unknown role '{role}'; use one of {FEATURE_ROLES}", column=column
                )
            if role in (ROLE_IGNORE, ROLE_HIDE) or column == id_column:
                continue
            spec = {"kind": role}
            if role == ROLE_MULTI:
                separator = separators.get(f"{side}:{column}", ";")
                if not separator:
                    raise DataError(f"{side} column '{column}' is multi-valued but has no separator", column=column)
                spec["separator"] = separator
            features[column] = spec
        schema[f"{side}_features"] = features
    schema["aligned_pairs"] = [{k: v for k, v in pair.items() if v not in (None, "")} for pair in (aligned_pairs or [])]
    if missing_values is not None:
        schema["missing_values"] = list(missing_values)
    return validate_schema(schema, "the column mapping")


def _number(value) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number


def suggest_name_column(frame: pd.DataFrame, id_column: str | None = None) -> str | None:
    """A column that names the rows (title, name, label…), for display beside the ids; None when none looks so."""
    for word in ("name", "title", "label"):
        for column in frame.columns:
            if column != id_column and word in str(column).lower():
                return column
    return None


def suggest_roles(frame: pd.DataFrame, id_column: str | None = None, max_categories: int = 40) -> dict[str, str]:
    """A first guess at each column's role: numbers → numeric, few distinct values → categorical,
    cells holding ';' lists → multi, free text (names, addresses, URLs) → ignore. The user can change it."""
    from attnrec.data.cells import DEFAULT_MISSING, missing_mask

    roles = {}
    for column in frame.columns:
        if column == id_column:
            continue
        present = frame[column][~missing_mask(frame[column], DEFAULT_MISSING)]
        texts = present.astype(str).str.strip()
        if texts.empty:
            roles[column] = ROLE_IGNORE
        elif _looks_numeric(texts) and texts.nunique() > 2:
            roles[column] = ROLE_NUMERIC
        elif texts.str.contains(";", regex=False).mean() > 0.2:
            roles[column] = ROLE_MULTI
        elif texts.nunique() <= max_categories:
            roles[column] = ROLE_CATEGORICAL
        else:
            roles[column] = ROLE_IGNORE
    return roles


def _looks_numeric(texts) -> bool:
    # Every cell a number. NaN/inf spelled out count as number-like, so a numeric column with an export
    # artefact stays numeric and validation names the bad cell. One word among numbers (a zip code
    # "78000S") means codes, not quantities: the suggestion is then categorical, which always loads.
    number_like = texts.str.fullmatch(r"[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|nan|inf|infinity)", case=False)
    return bool(number_like.all())


def suggest_id_column(frame: pd.DataFrame, hint: str = "") -> str:
    """The likeliest id column: its name says so ('id', plus the hint), then unique values, then leftmost.

    The name comes first on purpose: a user id column with a duplicate must stay the suggestion, so
    validation reports the duplicate instead of the mapping silently picking some other unique column.
    """

    def score(column: str) -> tuple:
        values = frame[column].astype(str).str.strip()
        unique = values.is_unique and (values != "").all()
        lowered = column.lower()
        named = "id" in lowered
        return (named and bool(hint) and hint in lowered, named, unique, -list(frame.columns).index(column))

    return max(frame.columns, key=score)


def suggest_threshold(values: Iterable) -> float | int:
    """Label threshold default: 1 for 0/1 labels; on a rating scale of 4 or more steps the upper quarter, the
    field's usual convention (1–5 stars → 4, half stars 0.5–5 → 4, 1–10 → 8, 0–100 → 75); on a shorter
    scale its midpoint, rounded up (0–2 → 1)."""
    import math

    import numpy as np
    import pandas as pd

    numbers = pd.to_numeric(pd.Series(list(values)), errors="coerce").dropna()
    # Only values the data layer accepts: "inf", "nan" or 1e308 make no midpoint (validation names them).
    numbers = numbers[np.isfinite(numbers) & (numbers.abs() <= LIMITS.magnitude)]
    if numbers.empty:
        return 1
    low, high = float(numbers.min()), float(numbers.max())
    if set(numbers.unique()) <= {0.0, 1.0}:
        return 1
    if high <= low:
        return _number(high)
    if high - low >= 3:
        return _number(math.ceil(low + 0.75 * (high - low)))
    return _number(math.ceil((low + high) / 2))


def positive_share(values: Iterable, threshold: float) -> tuple[float, int, int]:
    """(share of numeric values ≥ threshold, how many are numeric, how many are not) — what a threshold
    makes of a rating column before anything is validated (the Data page shows the share)."""
    import numpy as np
    import pandas as pd

    numbers = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce")
    finite = numbers[np.isfinite(numbers.astype(float))]
    share = float((finite >= float(threshold)).mean()) if len(finite) else float("nan")
    return share, int(len(finite)), int(len(numbers) - len(finite))


TIME_WORDS = ("timestamp", "time", "date", "datetime", "ts", "when", "created", "rated_at")


def suggest_timestamp(frame: pd.DataFrame, exclude: Collection[str] = ()) -> str | None:
    """The interactions column that looks like a time: named like one (timestamp, time, date, ts, …), else
    None (the Data page then offers "none": the hold-out is random)."""
    candidates = [c for c in frame.columns if c not in exclude]
    for word in TIME_WORDS:
        for column in candidates:
            lowered = str(column).strip().lower()
            if lowered == word or lowered.endswith(("_" + word, " " + word)) or lowered.startswith(word + "_"):
                return column
    return None

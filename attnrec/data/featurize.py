"""Featurizer: raw side tables → dense matrices with named, grouped columns (docs/architecture.md).

Two modes:
- "aligned": both sides map onto the same named dimensions (e.g. "cuisine: Mexican"), each in [0, 1], so
  X ⊙ Y reads "how well user and item match on dimension i". A dimension is plain data — one rule per
  side — so it round-trips through JSON:
      {"name": "price: low", "group": "price",
       "user": {"column": "budget", "values": {"low": 1.0}},
       "item": {"column": "price",  "values": {"low": 1.0}}}
  A "values" rule gives the largest weight among the cell's values (multi-valued cells are split on
  "separator"); a "range" rule {"column": c, "range": [lo, hi]} scales a number to [0, 1] and clips.
  Missing cells give 0 (no evidence of a match). Two rules read no cell: {"column": "id", "constant": c}
  gives every row c, and {"column": "id", "id_values": {id: w}} looks the row's id up (0 when absent) —
  used by the optional "popular place" dimension (`fit(..., popularity=True)`): item side = log(1 + the
  item's positives in the data the featurizer is fitted on) / log(1 + the largest count), user side = 1.
  Fitted on a training split, it knows nothing about held-out pairs.
  User profiles from history (`fit(..., user_profile="history")`): the named dimensions come from the item
  table alone (one per categorical / multi value held by at least 2 items, one per numeric field scaled to
  [0, 1]); a user's side of each is the mean of that dimension over the items of the user's positives in
  the data the featurizer is fitted on (an "id_values" rule; 0 for a user with none). Any dataset with item
  attributes gets named dimensions this way, with no user column paired to each item column; fitted on a
  training split, held-out pairs never enter a profile.
  `use_ids=True` in aligned mode appends the one-hot id columns after the named ones, for a model that
  learns "taste" dimensions from them (`Recommender` `latent_dims`).
- "latent": each side's own fields: categorical → one-hot over the fitted vocabulary (unseen → zeros),
  multi → multi-hot, numeric → (x − mean) / std (missing → 0), optional one-hot id group.
  A wide categorical keeps its `LIMITS.categorical_values` most frequent values as columns (ties by value)
  and one "name=(other)" column that every other value, seen or unseen, turns on; so a column with a value
  per row (an e-mail, a zip code) costs a bounded width, never rows × rows floats. `capped_fields` names them.
  `fit(..., features="ids")` drops the side fields and keeps only the id group (pure collaborative filtering).

"unknown" baseline = what `encode` gives for a row whose every field is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attnrec.data.types import DataError, Dataset, FieldGroup, Mode, Side, SideEncoding
from attnrec.limits import LIMITS

__all__ = ["Featurizer", "compile_aligned_pairs", "cell_tokens", "capped_fields"]

SIDES: tuple[Side, Side] = ("user", "item")
MEAN_CHUNK_ROWS = 8192  # rows encoded at once while `fit` averages a side (the "mean" baseline)
JSON_VERSION = 1


def cell_tokens(value: object, separator: str | None = None) -> list[str]:
    """The values written in one cell: [] when missing, split on `separator` for multi-valued cells."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return []
    text = str(value)
    parts = text.split(separator) if separator else [text]
    return [p.strip() for p in parts if p.strip()]


def _column(table: pd.DataFrame, name: str, side: Side) -> pd.Series:
    if name == "id" and name not in table.columns:  # the table's index (aligned "constant"/"id_values" rules)
        return pd.Series([str(i) for i in table.index], index=table.index)
    if name not in table.columns:
        raise DataError(f"the {side} table has no column '{name}', which the featurizer was fitted on", column=name)
    return table[name]


# ---------- aligned rules ----------


def _rule_values(rule: dict, column: pd.Series) -> np.ndarray:
    if "constant" in rule:
        return np.full(len(column), float(rule["constant"]))
    if "id_values" in rule:
        weights = rule["id_values"]
        return np.array([float(weights.get(str(i), 0.0)) for i in column.tolist()], dtype=np.float64)
    if "range" in rule:
        lo, hi = (float(v) for v in rule["range"])
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        scaled = (numbers - lo) / (hi - lo) if hi > lo else np.zeros_like(numbers)
        return np.nan_to_num(np.clip(scaled, 0.0, 1.0), nan=0.0)
    weights, separator = rule["values"], rule.get("separator")
    cache: dict = {}
    out = np.empty(len(column), dtype=np.float64)
    for r, cell in enumerate(column.tolist()):
        key = cell if isinstance(cell, str) else repr(cell)
        if key not in cache:
            cache[key] = max((weights.get(t, 0.0) for t in cell_tokens(cell, separator)), default=0.0)
        out[r] = cache[key]
    return out


def compile_aligned_pairs(dataset: Dataset) -> list[dict]:
    """Turn the schema's simple `aligned_pairs` into explicit dimensions, fitted on the dataset.

    Categorical/multi pair → one dimension per value present on *both* sides ("<name>: <value>");
    numeric pair → one dimension scaled by the pair's "range" or by the min/max seen on both sides.
    """
    schema = dataset.schema
    dims: list[dict] = []
    for pair in schema.get("aligned_pairs", []):
        name, ucol, icol = pair.get("name") or f"{pair['user']} ~ {pair['item']}", pair["user"], pair["item"]
        uspec = schema.get("user_features", {}).get(ucol, {})
        ispec = schema.get("item_features", {}).get(icol, {})
        kind = pair.get("kind") or uspec.get("kind") or ispec.get("kind") or "categorical"
        if kind == "numeric":
            if "range" in pair:
                lo, hi = (float(v) for v in pair["range"])
            else:
                both = pd.concat(
                    [
                        pd.to_numeric(dataset.users[ucol], errors="coerce"),
                        pd.to_numeric(dataset.items[icol], errors="coerce"),
                    ]
                ).dropna()
                lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
            dims.append(
                {
                    "name": name,
                    "group": name,
                    "user": {"column": ucol, "range": [lo, hi]},
                    "item": {"column": icol, "range": [lo, hi]},
                }
            )
            continue
        usep = uspec.get("separator", ";") if kind == "multi" or uspec.get("kind") == "multi" else None
        isep = ispec.get("separator", ";") if kind == "multi" or ispec.get("kind") == "multi" else None
        uvals = {t for c in dataset.users[ucol] for t in cell_tokens(c, usep)}
        ivals = {t for c in dataset.items[icol] for t in cell_tokens(c, isep)}
        shared = sorted(uvals & ivals)
        if not shared:
            raise DataError(
                f"aligned pair '{name}': user column '{ucol}' and item column '{icol}' "
                f"share no values, so no aligned dimension can be built",
                column=ucol,
            )
        for value in shared:
            urule = {"column": ucol, "values": {value: 1.0}}
            irule = {"column": icol, "values": {value: 1.0}}
            if usep:
                urule["separator"] = usep
            if isep:
                irule["separator"] = isep
            dims.append({"name": f"{name}: {value}", "group": name, "user": urule, "item": irule})
    return dims


# ---------- latent fields ----------


def _fit_field(name: str, spec: dict, column: pd.Series) -> dict:
    kind = spec.get("kind", "categorical")
    if kind == "numeric":
        numbers = pd.to_numeric(column, errors="coerce").dropna().to_numpy(dtype=np.float64)
        mean = float(numbers.mean()) if len(numbers) else 0.0
        std = float(numbers.std()) if len(numbers) > 1 else 0.0
        return {"name": name, "kind": "numeric", "mean": mean, "std": std if std > 0 else 1.0}
    separator = spec.get("separator", ";") if kind == "multi" else None
    counts: dict[str, int] = {}
    for cell in column.tolist():
        for token in set(cell_tokens(cell, separator)):
            counts[token] = counts.get(token, 0) + 1
    field = {"name": name, "kind": kind, "vocabulary": sorted(counts)}
    cap = LIMITS.categorical_values
    if len(counts) > cap:  # keep the most frequent values (ties by value); the rest share "(other)"
        kept = sorted(counts, key=lambda v: (-counts[v], v))[:cap]
        field.update(
            vocabulary=sorted(kept), other=True, distinct_values=len(counts), most_rows_per_value=max(counts.values())
        )
    if separator:
        field["separator"] = separator
    return field


OTHER = "(other)"


def _field_columns(field: dict) -> list[str]:
    if field["kind"] == "numeric":
        return [field["name"]]
    return [f"{field['name']}={v}" for v in field["vocabulary"]] + (
        [f"{field['name']}={OTHER}"] if field.get("other") else []
    )


def capped_fields(featurizer: "Featurizer", side: Side) -> list[dict]:
    """The latent fields of `side` whose values were capped (see the module docstring): name, values seen, kept,
    and whether every row had a value of its own (a column that teaches the model nothing)."""
    return [
        {
            "name": f["name"],
            "distinct_values": f["distinct_values"],
            "kept": len(f["vocabulary"]),
            "unique_per_row": f.get("most_rows_per_value", 2) <= 1,
        }
        for f in featurizer._sides[side].fields
        if f.get("other")
    ]


def _encode_field(field: dict, column: pd.Series) -> np.ndarray:
    n = len(column)
    if field["kind"] == "numeric":
        numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        return np.nan_to_num((numbers - field["mean"]) / field["std"], nan=0.0).astype(np.float32)[:, None]
    index = {v: j for j, v in enumerate(field["vocabulary"])}
    other = len(index) if field.get("other") else None
    out = np.zeros((n, len(index) + (other is not None)), dtype=np.float32)
    separator = field.get("separator")
    for r, cell in enumerate(column.tolist()):
        for token in cell_tokens(cell, separator):
            j = index.get(token, other)
            if j is not None:
                out[r, j] = 1.0
    return out


def _check_contiguous_groups(dimensions: list[dict]) -> None:
    seen: list[str] = []
    for dim in dimensions:
        if seen and dim["group"] == seen[-1]:
            continue
        if dim["group"] in seen:
            raise ValueError(f"aligned group '{dim['group']}' is split; list each family's dimensions together")
        seen.append(dim["group"])


def _popularity_dimension(dataset: Dataset) -> dict:
    """ "popular place": item = log(1 + positives in `dataset`) / log(1 + max), user = 1 (see module docstring)."""
    counts = dataset.positives["item_id"].astype(str).value_counts()
    top = float(np.log1p(counts.max())) if len(counts) else 1.0
    values = {str(i): round(float(np.log1p(c)) / top, 6) for i, c in counts.items()}
    return {
        "name": "popular place",
        "group": "popularity",
        "user": {"column": "id", "constant": 1.0},
        "item": {"column": "id", "id_values": values},
    }


def history_dimensions(dataset: Dataset, min_items: int = 2) -> list[dict]:
    """Named dimensions from the item table, user side = mean over the user's positives (see the module
    docstring). Only `dataset.positives` is read for the profiles."""
    specs = dataset.schema.get("item_features", {})
    if not specs:
        raise DataError(
            f"dataset '{dataset.name}' has no item features, so history profiles have nothing to "
            f"describe; use latent mode"
        )
    item_dims: list[dict] = []
    for name, spec in specs.items():
        kind = spec.get("kind", "categorical")
        column = _column(dataset.items, name, "item")
        if kind == "numeric":
            numbers = pd.to_numeric(column, errors="coerce").dropna()
            lo, hi = (float(numbers.min()), float(numbers.max())) if len(numbers) else (0.0, 1.0)
            if hi > lo:
                item_dims.append({"name": name, "group": name, "item": {"column": name, "range": [lo, hi]}})
            continue
        separator = spec.get("separator", ";") if kind == "multi" else None
        counts: dict[str, int] = {}
        for cell in column.tolist():
            for token in set(cell_tokens(cell, separator)):
                counts[token] = counts.get(token, 0) + 1
        for value in sorted(v for v, c in counts.items() if c >= min_items):
            rule = {"column": name, "values": {value: 1.0}}
            if separator:
                rule["separator"] = separator
            item_dims.append({"name": f"{name}: {value}", "group": name, "item": rule})
    if not item_dims:
        raise DataError(f"dataset '{dataset.name}': no item attribute value is shared by {min_items} items")
    item_values = np.stack(
        [_rule_values(d["item"], _column(dataset.items, d["item"]["column"], "item")) for d in item_dims], axis=1
    )
    row_of = {str(i): r for r, i in enumerate(dataset.items.index)}
    positives = dataset.positives
    users = positives["user_id"].astype(str).to_numpy()
    rows = np.array([row_of.get(str(i), -1) for i in positives["item_id"]], dtype=np.int64)
    keep = rows >= 0
    frame = pd.DataFrame(item_values[rows[keep]], index=users[keep])
    profile = frame.groupby(level=0).mean()
    dims = []
    for j, dim in enumerate(item_dims):
        values = {u: round(float(v), 6) for u, v in profile[j].items() if v != 0}
        dims.append(
            {
                "name": dim["name"],
                "group": dim["group"],
                "user": {"column": "id", "id_values": values},
                "item": dim["item"],
            }
        )
    return dims


def check_encoded_size(featurizer: "Featurizer", side: Side, rows: int) -> None:
    """Refuse, before the dense matrix is allocated, an encoding wider or bigger than attnrec.limits allows.

    Categoricals are capped (LIMITS.categorical_values), but one-hot ids are one column per row, and many
    capped fields add up: the DataError names the widest field."""
    width = len(featurizer.columns(side))
    if width <= LIMITS.encoded_columns and rows * width <= LIMITS.encoded_cells:
        return
    widest = max(featurizer.groups(side), key=lambda g: g.stop - g.start)
    raise DataError(
        f"the {side} side would encode to {width:,} columns for {rows:,} rows (field '{widest.name}' "
        f"alone: {widest.stop - widest.start:,} columns); the limit per side is "
        f"{LIMITS.encoded_columns:,} columns and {LIMITS.encoded_cells:,} cells. "
        + (
            "Train without ids (a one-hot id per row does not fit), or on fewer rows"
            if widest.kind == "id"
            else "Ignore that column or mark it otherwise"
        ),
        column=widest.name,
    )


@dataclass
class _SideSpec:
    fields: list[dict]  # latent: field specs in column order (the id group last)
    mean_row: list[float]  # column means over the fitting table, for the "mean" baseline


class Featurizer:
    """Fitted encoding of users and items; see the module docstring for the two modes."""

    def __init__(self, mode: Mode, use_ids: bool, dimensions: list[dict] | None, sides: dict[Side, _SideSpec]):
        if mode not in ("aligned", "latent"):
            raise ValueError(f"mode must be 'aligned' or 'latent', got {mode!r}")
        self.mode: Mode = mode
        self.use_ids = bool(use_ids)
        self.dimensions = dimensions or []
        _check_contiguous_groups(self.dimensions)
        self._sides = sides
        self.dimension_names: list[str] | None = [d["name"] for d in self.dimensions] if mode == "aligned" else None

    # ----- fitting -----
    @classmethod
    def plan(
        cls,
        dataset: Dataset,
        mode: Mode,
        use_ids: bool = False,
        features: str = "all",
        popularity: bool = False,
        user_profile: str = "columns",
    ) -> "Featurizer":
        """The encoding's structure (dimensions, fields, vocabularies) without encoding any table, so its width
        can be checked before anything is allocated. features: "all" side fields, or "ids" only (latent, needs
        use_ids); popularity: aligned only, add the "popular place" dimension computed from `dataset`'s
        positives; user_profile: aligned only, "columns" (the schema's user↔item pairs) or "history" (see the
        module docstring)."""
        if user_profile not in ("columns", "history"):
            raise ValueError(f"user_profile must be 'columns' or 'history', got {user_profile!r}")
        if user_profile == "history" and mode != "aligned":
            raise ValueError("user_profile='history' builds named dimensions: aligned mode only")
        if features not in ("all", "ids"):
            raise ValueError(f"features must be 'all' or 'ids', got {features!r}")
        if features == "ids" and (mode != "latent" or not use_ids):
            raise ValueError("features='ids' needs latent mode with use_ids")
        if popularity and mode != "aligned":
            raise ValueError("popularity applies to aligned mode only (latent mode can learn item biases)")
        if mode == "aligned":
            if user_profile == "history":
                dimensions = history_dimensions(dataset)
            else:
                dimensions = dataset.schema.get("aligned_dimensions") or compile_aligned_pairs(dataset)
            if not dimensions:
                raise DataError(
                    f"dataset '{dataset.name}' defines no aligned dimensions "
                    f"(schema 'aligned_pairs' is empty); use latent mode or user_profile='history'"
                )
            dimensions = [dict(d) for d in dimensions]
            if popularity:
                dimensions.append(_popularity_dimension(dataset))
            # With use_ids, the one-hot ids follow the named columns (for learned taste dimensions).
            sides: dict[Side, _SideSpec] = {
                s: _SideSpec(
                    [{"name": "id", "kind": "id", "vocabulary": [str(i) for i in table.index]}] if use_ids else [], []
                )
                for s, table in zip(SIDES, (dataset.users, dataset.items))
            }
            featurizer = cls(mode, use_ids, dimensions, sides)
        else:
            sides = {}
            for side in SIDES:
                table = dataset.users if side == "user" else dataset.items
                specs = dataset.schema.get(f"{side}_features", {}) if features == "all" else {}
                fields = [_fit_field(name, spec, _column(table, name, side)) for name, spec in specs.items()]
                if use_ids:
                    fields.append({"name": "id", "kind": "id", "vocabulary": [str(i) for i in table.index]})
                sides[side] = _SideSpec(fields, [])
            featurizer = cls(mode, use_ids, None, sides)
        return featurizer

    @classmethod
    def fit(
        cls,
        dataset: Dataset,
        mode: Mode,
        use_ids: bool = False,
        features: str = "all",
        popularity: bool = False,
        user_profile: str = "columns",
    ) -> "Featurizer":
        """`plan`, then the column means over `dataset` (the "mean" baseline): the featurizer models train with."""
        featurizer = cls.plan(dataset, mode, use_ids, features, popularity, user_profile)
        for side in SIDES:
            table = dataset.users if side == "user" else dataset.items
            check_encoded_size(featurizer, side, len(table))
            total = np.zeros(len(featurizer.columns(side)), dtype=np.float64)
            for start in range(0, len(table), MEAN_CHUNK_ROWS):  # bounded memory: a chunk of rows at a time
                total += featurizer._matrix(side, table.iloc[start : start + MEAN_CHUNK_ROWS]).sum(
                    axis=0, dtype=np.float64
                )
            featurizer._sides[side].mean_row = (total / len(table)).tolist() if len(table) else []
        return featurizer

    # ----- encoding -----
    def _matrix(self, side: Side, table: pd.DataFrame) -> np.ndarray:
        check_encoded_size(self, side, len(table))  # before any allocation, for every caller
        if self.mode == "aligned":
            cols = [_rule_values(d[side], _column(table, d[side]["column"], side)) for d in self.dimensions]
            named = np.stack(cols, axis=1) if cols else np.zeros((len(table), 0))
            if not self._sides[side].fields:
                return named
            ids = _encode_field(self._sides[side].fields[0], pd.Series([str(i) for i in table.index]))
            return np.concatenate([named, ids], axis=1)
        blocks = []
        for field in self._sides[side].fields:
            if field["kind"] == "id":
                blocks.append(_encode_field(field, pd.Series([str(i) for i in table.index])))
            else:
                blocks.append(_encode_field(field, _column(table, field["name"], side)))
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(table), 0))

    def encode(self, side: Side, table: pd.DataFrame) -> SideEncoding:
        """Encode a table indexed by id (like dataset.users / dataset.items)."""
        self._check_side(side)
        matrix = self._matrix(side, table).astype(np.float32)
        return SideEncoding([str(i) for i in table.index], matrix, self.columns(side), self.groups(side))

    def read_columns(self, side: Side) -> list[str]:
        """The columns of the side's raw table that its encoding reads, in first-use order; the row id is not one
        of them. Empty when a side is built from ids alone, e.g. users profiled from their history: editing such
        a side's attributes cannot change any score."""
        self._check_side(side)
        if self.mode == "aligned":
            names = [d[side]["column"] for d in self.dimensions if side in d]
        else:
            names = [f["name"] for f in self._sides[side].fields if f["kind"] != "id"]
        return [c for c in dict.fromkeys(names) if c != "id"]

    def columns(self, side: Side) -> list[str]:
        self._check_side(side)
        ids = [c for f in self._sides[side].fields for c in _field_columns(f)]
        return list(self.dimension_names or []) + ids if self.mode == "aligned" else ids

    def groups(self, side: Side) -> list[FieldGroup]:
        self._check_side(side)
        groups: list[FieldGroup] = []
        if self.mode == "aligned":
            for i, dim in enumerate(self.dimensions):  # families are contiguous by construction
                if groups and groups[-1].name == dim["group"] and groups[-1].stop == i:
                    groups[-1] = FieldGroup(dim["group"], "aligned", groups[-1].start, i + 1)
                else:
                    groups.append(FieldGroup(dim["group"], "aligned", i, i + 1))
            for field in self._sides[side].fields:  # the one-hot ids after the named columns
                start = len(self.dimensions)
                groups.append(FieldGroup(field["name"], "id", start, start + len(field["vocabulary"])))
            return groups
        start = 0
        for field in self._sides[side].fields:
            width = len(_field_columns(field))
            groups.append(FieldGroup(field["name"], field["kind"], start, start + width))
            start += width
        return groups

    def baseline_row(self, side: Side, kind: str) -> np.ndarray:
        """A reference row for attributions: "zeros", "mean" (over the fitting table) or "unknown"."""
        self._check_side(side)
        width = len(self.columns(side))
        if kind == "zeros":
            return np.zeros(width, dtype=np.float32)
        if kind == "mean":
            return np.asarray(self._sides[side].mean_row, dtype=np.float32).reshape(width)
        if kind == "unknown":
            return np.zeros(width, dtype=np.float32)  # all-missing row: no category, numbers at mean
        raise ValueError(f"baseline kind must be 'zeros', 'mean' or 'unknown', got {kind!r}")

    def _check_side(self, side: str) -> None:
        if side not in SIDES:
            raise ValueError(f"side must be 'user' or 'item', got {side!r}")

    # ----- persistence -----
    def to_json(self) -> dict:
        return {
            "version": JSON_VERSION,
            "mode": self.mode,
            "use_ids": self.use_ids,
            "dimensions": self.dimensions,
            "sides": {s: {"fields": self._sides[s].fields, "mean_row": self._sides[s].mean_row} for s in SIDES},
        }

    @classmethod
    def from_json(cls, blob: dict) -> "Featurizer":
        if blob.get("version") != JSON_VERSION:
            raise ValueError(f"featurizer JSON version {blob.get('version')!r} is not {JSON_VERSION}")
        sides = {s: _SideSpec(list(blob["sides"][s]["fields"]), list(blob["sides"][s]["mean_row"])) for s in SIDES}
        return cls(blob["mode"], blob["use_ids"], blob.get("dimensions"), sides)

    def __repr__(self) -> str:
        widths = {s: len(self.columns(s)) for s in SIDES}
        return f"Featurizer(mode={self.mode!r}, use_ids={self.use_ids}, columns={widths})"

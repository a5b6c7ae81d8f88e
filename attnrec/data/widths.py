"""How wide each side's encoding will be, known before training (and before any matrix is allocated).

`encoding_preview` builds the featurizer `Featurizer.fit` would build (the same vocabularies, the
same aligned dimensions) but encodes nothing, then asks the featurizer's own size rule
(`check_encoded_size`, limits in attnrec.limits) whether the dense matrices would fit. The Data
page shows the result next to the Train button, so an over-wide categorical is named before a run starts.
"""
from __future__ import annotations

from dataclasses import dataclass

from attnrec.data.featurize import SIDES, Featurizer, _column, _fit_field, _SideSpec, check_encoded_size
from attnrec.data.types import DataError, Dataset

__all__ = ["SideWidth", "encoding_preview"]


@dataclass(frozen=True)
class SideWidth:
    side: str
    rows: int
    columns: int
    widest: str | None          # the field with the most columns
    widest_columns: int
    problem: str | None         # the DataError message when over the limits, else None


def _planned_featurizer(dataset: Dataset, mode: str, use_ids: bool, features: str, popularity: bool,
                        user_profile: str = "columns") -> Featurizer:
    if mode == "aligned":
        from attnrec.data.featurize import _popularity_dimension, compile_aligned_pairs, history_dimensions
        planned = (history_dimensions(dataset) if user_profile == "history"
                   else dataset.schema.get("aligned_dimensions") or compile_aligned_pairs(dataset))
        dimensions = [dict(d) for d in planned]
        if popularity:
            dimensions.append(_popularity_dimension(dataset))
        ids = {side: [{"name": "id", "kind": "id", "vocabulary": [str(i) for i in table.index]}] if use_ids else []
               for side, table in (("user", dataset.users), ("item", dataset.items))}
        return Featurizer(mode, use_ids, dimensions, {s: _SideSpec(ids[s], []) for s in SIDES})
    sides = {}
    for side in SIDES:
        table = dataset.users if side == "user" else dataset.items
        specs = dataset.schema.get(f"{side}_features", {}) if features == "all" else {}
        fields = [_fit_field(name, spec, _column(table, name, side)) for name, spec in specs.items()]
        if use_ids:
            fields.append({"name": "id", "kind": "id", "vocabulary": [str(i) for i in table.index]})
        sides[side] = _SideSpec(fields, [])
    return Featurizer(mode, use_ids, None, sides)


def encoding_preview(dataset: Dataset, mode: str = "latent", use_ids: bool = False, features: str = "all",
                     popularity: bool = False, user_profile: str = "columns") -> dict[str, SideWidth]:
    """side → SideWidth for a model trained with these settings; DataError if no encoding can be planned
    (e.g. aligned mode with no shared values)."""
    featurizer = _planned_featurizer(dataset, mode, use_ids, features, popularity, user_profile)
    out = {}
    for side in SIDES:
        rows = len(dataset.users if side == "user" else dataset.items)
        groups = featurizer.groups(side)
        widest = max(groups, key=lambda g: g.stop - g.start) if groups else None
        try:
            check_encoded_size(featurizer, side, rows)
            problem = None
        except DataError as err:
            problem = str(err)
        out[side] = SideWidth(side, rows, len(featurizer.columns(side)), widest.name if widest else None,
                              (widest.stop - widest.start) if widest else 0, problem)
    return out

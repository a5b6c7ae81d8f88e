"""The data contract every part of attnrec shares.

A `Dataset` holds raw tables (what users see) and a schema. A `SideEncoding` is one side's raw rows
turned into a dense float matrix — one-hot, multi-hot, scaled numbers, or aligned named dimensions —
whose columns are grouped into `FieldGroup`s (one per raw attribute or aligned family). Encoders read
these matrices, and attributions to "raw fields" are attributions to these column groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

Side = Literal["user", "item"]
FieldKind = Literal["categorical", "numeric", "multi", "aligned", "id"]
Mode = Literal["aligned", "latent"]


class DataError(ValueError):
    """Bad input data; the message names the file, row and column where it can."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None, column: str | None = None):
        where = ", ".join(
            p
            for p in (
                f"file {file}" if file else "",
                f"row {row}" if row is not None else "",
                f"column '{column}'" if column else "",
            )
            if p
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.row, self.column = file, row, column


class DataWarning(UserWarning):
    """Data that loads but may not mean what the user thinks (also kept in `Dataset.notes`)."""


@dataclass(frozen=True)
class FieldGroup:
    """A raw attribute (or aligned family) and the contiguous dense columns it occupies."""

    name: str
    kind: FieldKind
    start: int
    stop: int

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


@dataclass
class SideEncoding:
    """One side's rows as a dense matrix: row r is the entity ids[r]."""

    ids: list[str]
    matrix: np.ndarray  # float32, (n, n_columns)
    columns: list[str]  # e.g. "cuisine=Mexican", "budget", or an aligned dimension name
    groups: list[FieldGroup]  # cover 0..n_columns without gaps, in order

    def row_of(self, entity_id: str) -> int:
        index: dict[str, int] | None = getattr(self, "_index", None)  # built on first use, not a field
        if index is None:
            index = self._index = {e: i for i, e in enumerate(self.ids)}
        try:
            return index[str(entity_id)]
        except KeyError:
            raise KeyError(f"unknown id '{entity_id}'") from None


@dataclass
class Dataset:
    """Raw tables plus what is needed to encode them; `interactions` has user_id, item_id, label."""

    name: str
    users: pd.DataFrame  # index: user id (str); columns: raw attributes, for display
    items: pd.DataFrame  # index: item id (str)
    interactions: pd.DataFrame  # columns: user_id, item_id (str), label (0/1 int), [timestamp]
    schema: dict  # the own-data schema JSON (or the built-in equivalent)
    source: str = ""  # where it came from (path or built-in name) and credit line
    planted: dict | None = field(default=None)  # synthetic only: the planted truth
    notes: list[str] = field(default_factory=list)  # warnings from loading, shown with the dataset

    @property
    def positives(self) -> pd.DataFrame:
        """The label-1 interactions. Kept after the first use while `interactions` is the same frame (pages ask
        on every rerun; a filter of the whole table each time): a new frame is filtered anew. Not a field, so
        `dataclasses.replace` copies never share it; tables are never changed in place."""
        kept: tuple[pd.DataFrame, pd.DataFrame] | None = getattr(self, "_positives", None)
        if kept is None or kept[0] is not self.interactions:
            kept = self._positives = (self.interactions, self.interactions[self.interactions["label"] == 1])
        return kept[1]

    def item_name(self, item_id: str) -> str | None:
        """The item's display name (the schema's "item_name" column), or None when there is none."""
        column = self.schema.get("item_name")
        if not column or column not in self.items.columns or str(item_id) not in self.items.index:
            return None
        value = self.items.at[str(item_id), column]
        return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)

    def item_label(self, item_id: str) -> str:
        """ "132834 · Gorditas Dona Tota": the id, then the name when the dataset has one (plain text: escape
        it for Markdown / Plotly where it is shown)."""
        name = self.item_name(item_id)
        return f"{item_id} · {name}" if name else str(item_id)

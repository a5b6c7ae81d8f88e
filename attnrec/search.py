"""Searching a large side (users or items) for a picker, on the server: a page of matches, never the table.

A picker over 10^5 or 10^6 rows cannot ship its rows to the browser; it ships a search box and the first
page of the rows that match. `SearchIndex` holds each row's id and display name, lower-cased once, so a
search is a vectorised substring scan (no Python loop over rows). Matches are ordered: exact id first, then
ids starting with the text, then ids or names containing it; within each, catalog order. Every word of a
query must match (in the id or the name). A smaller side is searched in every cell (`matching_rows`). No Streamlit
here: the widget lives in the app layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SearchIndex", "SearchPage", "PAGE_ROWS", "SEARCH_THRESHOLD", "matching_rows"]

SEARCH_THRESHOLD = 5_000  # a side with more rows than this gets a search box instead of its whole table
PAGE_ROWS = 50  # matches shown at once


@dataclass(frozen=True)
class SearchPage:
    """One page of matches: `positions` are row positions in the indexed table, in match order."""

    positions: np.ndarray  # int64
    total: int  # matches in all
    offset: int  # position of this page's first match among all matches

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.positions) < self.total


class SearchIndex:
    """Ids (and optional display names) of one side, lower-cased once for repeated searches."""

    def __init__(self, ids: pd.Index | list[str] | np.ndarray, names: pd.Series | list | np.ndarray | None = None):
        self.ids = pd.Series(np.asarray([str(i) for i in ids], dtype=object), dtype="string[pyarrow]")
        self._ids = self.ids.str.lower()
        if names is None:
            self._names: pd.Series | None = None
        else:
            text = pd.Series(np.asarray(names, dtype=object)).astype("string[pyarrow]").fillna("")
            if len(text) != len(self.ids):
                raise ValueError(f"{len(text)} names for {len(self.ids)} ids")
            self._names = text.str.lower()

    @classmethod
    def of_table(cls, table: pd.DataFrame, name_column: str | None = None) -> "SearchIndex":
        """The index of a side table (indexed by id), with `name_column` as the display name when present."""
        names = table[name_column] if name_column and name_column in table.columns else None
        return cls(table.index, None if names is None else names.to_numpy())

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, limit: int = PAGE_ROWS, offset: int = 0) -> SearchPage:
        """Matches of `query` (every word in the id or the name, case-insensitive), `limit` from `offset`.
        An empty query matches every row, in catalog order."""
        limit, offset = max(int(limit), 0), max(int(offset), 0)
        words = [w for w in str(query).lower().split() if w]
        n = len(self.ids)
        if not words:
            return SearchPage(np.arange(offset, min(offset + limit, n), dtype=np.int64), n, offset)
        mask = np.ones(n, dtype=bool)
        for word in words:
            hit = self._ids.str.contains(word, regex=False).to_numpy(dtype=bool, na_value=False)
            if self._names is not None:
                hit |= self._names.str.contains(word, regex=False).to_numpy(dtype=bool, na_value=False)
            mask &= hit
        positions = np.flatnonzero(mask)
        if len(words) == 1 and len(positions):  # one word: exact id, then id prefix, then the rest
            ids = self._ids.iloc[positions]
            rank = np.where(ids.eq(words[0]).to_numpy(dtype=bool), 0, 2)
            rank[(rank == 2) & ids.str.startswith(words[0]).to_numpy(dtype=bool, na_value=False)] = 1
            positions = positions[np.argsort(rank, kind="stable")]
        return SearchPage(positions[offset : offset + limit].astype(np.int64), len(positions), offset)

    def position_of(self, entity_id: str) -> int | None:
        """The row position of an exact id, or None."""
        hits = np.flatnonzero(self.ids.eq(str(entity_id)).to_numpy(dtype=bool, na_value=False))
        return int(hits[0]) if len(hits) else None


def matching_rows(frame: pd.DataFrame, query: str) -> pd.DataFrame:
    """The rows of a side small enough to ship whole (up to `SEARCH_THRESHOLD` rows) where any cell, or the id,
    contains every word of `query`, case-insensitively."""
    words = [w for w in query.lower().split() if w]
    if not words:
        return frame
    cells = frame.astype(object).where(frame.notna(), "").astype(str)  # missing cells: no text (pandas 3 keeps NaN)
    text = cells.agg(" ".join, axis=1).str.lower() + " " + frame.index.astype(str).str.lower()
    mask = np.ones(len(frame), dtype=bool)
    for word in words:
        mask &= text.str.contains(word, regex=False).to_numpy()
    return frame[mask]

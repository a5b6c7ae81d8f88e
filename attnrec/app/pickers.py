"""Pickers for sides too large to ship (app layer): a search box and one page of server-side matches.

Below `attnrec.search.SEARCH_THRESHOLD` rows a picker offers every matching row (a table filtered by the search
box, or `url.choice`'s selectbox over every id); above it only the page of matches (`attnrec.search.PAGE_ROWS`
rows) and the current choice reach the browser, whatever the catalog's size. The search index is built once per
(model, side) and shared (`st.cache_resource`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from attnrec.app import row_picker, url
from attnrec.search import PAGE_ROWS, SEARCH_THRESHOLD, SearchIndex, SearchPage, matching_rows

__all__ = ["LIMIT", "peek_row", "pick_row", "search_choice", "search_index"]

LIMIT = 2000  # rows a table below the threshold offers at once


@st.cache_resource(show_spinner=False, max_entries=16)
def search_index(cache_key: str, side: str, name_column: str | None, _table: Callable[[], pd.DataFrame]) -> SearchIndex:
    """The `SearchIndex` of the side table `_table()` returns (indexed by id), built once per (model or dataset
    key, side); `_table` is called only when the index is built."""
    return SearchIndex.of_table(_table(), name_column)


def _query(key: str, what: str, container: Any, placeholder: str | None = None) -> str:
    return container.text_input(
        f"Search {what}s",
        key=f"{key}_search",
        placeholder=placeholder or f"search {what}s by id or name",
        label_visibility="collapsed",
    )


def _offset(key: str, query: str) -> int:
    """The page offset kept in the session for `query` (a new search starts at its first page)."""
    offset_key = f"{key}_offset"
    return int(st.session_state.get(offset_key, 0)) if st.session_state.get(f"{offset_key}_query") == query else 0


def _page(index: SearchIndex, query: str, key: str, what: str, container: Any) -> SearchPage:
    """The current page of matches for `query`; Previous / Next buttons move it (the offset lives in the session
    under the query, so a new search starts at its first page)."""
    offset_key = f"{key}_offset"
    st.session_state[offset_key], st.session_state[f"{offset_key}_query"] = _offset(key, query), query
    page = index.search(query, PAGE_ROWS, st.session_state[offset_key])
    if page.total == 0:
        container.caption(f"No {what} matches this search.")
        return page
    last = page.offset + len(page.positions)
    container.caption(f"{page.total:,} of {len(index):,} {what}s match; {page.offset + 1:,}–{last:,} shown.")
    if page.offset > 0 or page.has_more:
        back, forward = container.columns(2)

        def move(step: int) -> None:
            st.session_state[offset_key] = max(0, st.session_state[offset_key] + step)

        back.button("Previous", key=f"{key}_prev", disabled=page.offset == 0, on_click=move, args=(-PAGE_ROWS,))
        forward.button("Next", key=f"{key}_next", disabled=not page.has_more, on_click=move, args=(PAGE_ROWS,))
    return page


def pick_row(
    frame: pd.DataFrame,
    what: str,
    key: str,
    current: str,
    cache_key: str,
    height: int = 230,
    name_column: str | None = None,
    page_run: object = None,
) -> str:
    """A search box over a table of `frame` (indexed by id) whose rows are picked with a click
    (`attnrec.app.row_picker`). Up to the threshold every matching row is on offer (the first `LIMIT`), filtered
    here; above it, one page of matches searched on the server. Returns the picked row's id, or `current`."""
    if len(frame) <= SEARCH_THRESHOLD:
        query = _query(key, what, st, "any text, e.g. an id or a value")
        matching = matching_rows(frame, query)
        shown, offset = (matching if len(matching) <= LIMIT else matching.iloc[:LIMIT]), 0
        if len(matching) > LIMIT:
            st.caption(f"{len(matching):,} {what}s match; showing the first {LIMIT:,}. Narrow the search.")
    else:
        index = search_index(cache_key, what, name_column, lambda: frame)
        query = _query(key, what, st)
        page = _page(index, query, key, what, st)
        shown, offset = frame.iloc[page.positions], page.offset
    return row_picker.pick(
        shown,
        what=what,
        key=f"{key}_rows",
        current=current,
        cache_key=cache_key,
        query=query,
        offset=offset,
        height=height,
        page_run=page_run,
    )


def peek_row(frame: pd.DataFrame, key: str, current: str) -> str:
    """The id `pick_row(frame, …, key, current, …)` returns in this run, taken before the table is drawn (a page
    can then write its answer first: the browser draws nothing of a view before it has the code of every element
    in it, and the answer's comes sooner this way)."""
    return row_picker.take_pick(f"{key}_rows", frame.index) or current


def search_choice(
    label: str,
    options: Sequence[str] | pd.Index,
    state_key: str,
    url_key: str,
    default: str,
    what: str,
    *,
    cache_key: str,
    container: DeltaGenerator | None = None,
    format_func: Callable[[str], str] | None = None,
    table: pd.DataFrame | None = None,
    name_column: str | None = None,
) -> str:
    """`url.choice(st.selectbox, …)` for any number of options: above the threshold, a search box and a
    selectbox over the current choice plus one page of matches (ids, and `table[name_column]` when given)."""
    if len(options) <= SEARCH_THRESHOLD:
        extra: dict[str, Any] = {"format_func": format_func} if format_func is not None else {}
        return url.choice(st.selectbox, label, options, state_key, url_key, default, what, container=container, **extra)
    box = container or st
    current = url.remembered_choice(state_key, url_key, options, default, what)
    index = search_index(
        cache_key,
        what,
        name_column,
        lambda: table if table is not None else pd.DataFrame(index=pd.Index(list(options))),
    )
    query = _query(f"{state_key}_{label}", what, box)
    page = _page(index, query, f"{state_key}_{label}", what, box)
    matches = [str(index.ids.iat[p]) for p in page.positions]
    shown = [current] + [m for m in matches if m != current]
    widget_key = f"widget_{state_key}_{label}_{abs(hash((query.strip().lower(), page.offset))) % 10**8}"
    st.session_state[widget_key] = current

    def remember() -> None:
        st.session_state[state_key] = st.session_state[widget_key]

    value = box.selectbox(label, shown, key=widget_key, on_change=remember, format_func=format_func or str)
    st.session_state[state_key] = value
    return str(value)

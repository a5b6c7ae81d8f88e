"""A table whose rows are picked with a click (app layer): Explore's user and item pickers.

`st.dataframe(on_select="rerun")` tells the server about a clicked row only after a 150 ms debounce (Streamlit
1.67's data grid), and its ~1.6 MB grid must load before any view that holds one is drawn. `pick` mounts a small
Streamlit v2 component instead (`row_picker.js`): it reports a click at once, draws only the rows in view, sorts
by a clicked header, and writes every cell as text.

The choice lives with the caller (Explore keeps it in the session and the URL); the table only reports picks. Each
pick carries a nonce, taken once. The table highlights what was clicked on its own; it is told the choice
(`selected`, a new `seq`) only when the choice changed elsewhere (a link, another page), so a click in one table
resends neither table: the browser keeps its copy of a message it has seen.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

__all__ = ["COMPONENT", "cells", "pick", "table_json", "take_pick"]

COMPONENT = "attnrec_row_picker"
_JS = Path(__file__).with_name("row_picker.js")


@functools.cache
def _component() -> Any:
    return st.components.v2.component(COMPONENT, js=_JS.read_text(encoding="utf-8"), isolate_styles=False)


def _text(value: Any) -> str:
    """A cell as the table shows it: missing is empty, floats with at most 4 decimals, everything else str()."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (float, np.floating)):
        return np.format_float_positional(float(value), precision=4, trim="-")
    return str(value)


def cells(frame: pd.DataFrame) -> list[list[str]]:
    """The rows of `frame` as text, the id (its index) first."""
    columns = [frame.index.astype(str).tolist()]
    for name in frame.columns:
        columns.append([_text(v) for v in frame[name].tolist()])
    return [list(row) for row in zip(*columns, strict=True)]


def table_json(frame: pd.DataFrame, id_name: str) -> str:
    """The JSON text the component draws: {columns: [id_name, *frame's columns], rows: `cells(frame)`}."""
    return json.dumps({"columns": [id_name, *map(str, frame.columns)], "rows": cells(frame)}, ensure_ascii=False)


@st.cache_resource(show_spinner=False, max_entries=64)
def _cached_table(cache_key: str, what: str, query: str, offset: int, shape: str, _frame: pd.DataFrame) -> str:
    """`table_json` of the rows `cache_key` (the model or dataset), `what`, `query` and `offset` name; `shape` (the
    columns and row count) keeps a differently arranged frame under the same names apart."""
    return table_json(_frame, str(_frame.index.name or what))


def _memo(key: str, current: str | None, page_run: Any = None) -> dict:
    """What the server knows of the table under `key`: the id it shows marked (`shows`), the choice it was last
    told (`selected`, `seq`), the last pick taken (`nonce`) and the page run it was drawn in."""
    return st.session_state.setdefault(
        f"{key}_memo", {"shows": current, "selected": current, "seq": 0, "nonce": None, "page_run": page_run}
    )


def take_pick(key: str, ids: pd.Index) -> str | None:
    """The id of the row picked in the table under `key` since the last run, or None; each pick is taken once,
    whether here (before the table is drawn: a page can write its answer first) or by `pick`. `ids`: the ids a
    pick may name, as the table's index (compared as text, as the table shows them; a stale or forged id is
    ignored)."""
    state = st.session_state.get(key)
    picked = state.get("pick") if isinstance(state, Mapping) else getattr(state, "pick", None)
    if not isinstance(picked, Mapping):
        return None
    memo = _memo(key, None)
    if picked.get("nonce") == memo["nonce"]:
        return None
    memo["nonce"] = picked.get("nonce")
    chosen = str(picked.get("id"))
    # Text ids are looked up in the index's hash table (kept with the table: O(1) after the first pick, at any
    # catalog size); other ids are compared as the table shows them, as text.
    if chosen not in (ids if ids.inferred_type in ("string", "empty") else ids.astype(str)):
        return None
    memo["shows"] = chosen
    return chosen


def pick(
    shown: pd.DataFrame,
    *,
    what: str,
    key: str,
    current: str,
    cache_key: str,
    query: str = "",
    offset: int = 0,
    height: int = 230,
    page_run: Any = None,
) -> str:
    """Draw `shown` (the rows on offer, indexed by id; `cache_key`, `query` and `offset` name them) under `key`;
    returns the id of a row picked since the last run (`take_pick`), or `current`.

    `page_run` changes with every run of the whole page (not of a fragment): the browser may have built the table
    anew (the page was left and opened again), so it is told the choice again if it was told an older one."""
    memo = _memo(key, current, page_run)
    stale = memo["page_run"] != page_run and memo["selected"] != current
    if memo["shows"] != current or stale:  # chosen elsewhere, or a new table that was told an older choice
        memo.update(shows=current, selected=current, seq=memo["seq"] + 1)
    memo["page_run"] = page_run
    _component()(
        key=key,
        data={
            "table": _cached_table(
                cache_key, what, query, offset, json.dumps([*map(str, shown.columns), len(shown)]), shown
            ),
            "selected": memo["selected"],
            "seq": memo["seq"],
            "height": height,
            "label": what,
            "empty": f"No {what} matches this search.",
        },
        default={"pick": None},
        on_pick_change=lambda: None,
    )
    return take_pick(key, shown.index) or current

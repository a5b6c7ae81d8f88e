"""`pickers.peek_row` (the id a picker returns, read before it is drawn, so Explore writes its answer first) agrees
with what `pickers.pick_row` returns once drawn: no pick, a picked row, a search, a large catalog's page."""

import pytest
from streamlit.testing.v1 import AppTest

from attnrec.app import widgets


def _script(rows: int) -> None:
    import pandas as pd
    import streamlit as st

    from attnrec.app import pickers

    frame = pd.DataFrame(
        {"name": [f"place {i}" for i in range(rows)]}, index=pd.Index([f"id{i}" for i in range(rows)], name="id")
    )
    peeked = pickers.peek_row(frame, "item", "pick", "id3", f"cache-{rows}", "name")
    drawn = pickers.pick_row(frame, "item", "pick", "id3", f"cache-{rows}", 143, "name")
    st.text(f"{peeked}|{drawn}")


def _shown(at: AppTest) -> list[str]:
    return at.text[0].value.split("|")


@pytest.mark.parametrize("rows", [12, 6_000], ids=["whole table", "search pages"])
def test_peek_agrees_with_the_drawn_picker(rows):
    at = AppTest.from_function(_script, args=(rows,), default_timeout=60).run()
    assert not at.exception
    assert _shown(at) == ["id3", "id3"]  # nothing picked: the current id

    # A picked row (what a click leaves in the table's state), on the unsearched table.
    key = widgets.table_key("pick", "", 0 if rows > 5_000 else None)
    at.session_state[key] = {"selection": {"rows": [5], "columns": [], "cells": []}}
    at.run()
    assert _shown(at) == ["id5", "id5"]

    # A search: the table shows the matches, and its row 0 is the first match, not id0.
    at.text_input(key="pick_search").input("place 7").run()
    search_key = widgets.table_key("pick", "place 7", 0 if rows > 5_000 else None)
    at.session_state[search_key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    peeked, drawn = _shown(at)
    assert peeked == drawn == "id7"

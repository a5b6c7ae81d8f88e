"""attnrec.app.row_picker: a table whose rows are picked with a click.

What it sends (every cell as text, the id first), what a pick returns (each pick once; an id the table does not
offer changes nothing), and when the table is told the choice: only when it changed elsewhere, so that a click
leaves the table's message as it was (the browser keeps its copy: the table is not resent).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from attnrec.app import row_picker
from row_picks import click_row, picker_data, picker_rows


def test_cells_are_text_with_the_id_first():
    frame = pd.DataFrame(
        {
            "name": ["Café <b>", None, "x"],
            "price": [1.0, 2.123456, np.nan],
            "stars": pd.array([5, None, 3], dtype="Int64"),
            "open": [True, False, True],
        },
        index=pd.Index(["a", "b", "c"], name="place"),
    )
    # The reference, written out: missing cells are empty, floats keep at most 4 decimals, text is as it is.
    assert row_picker.cells(frame) == [
        ["a", "Café <b>", "1", "5", "True"],
        ["b", "", "2.1235", "", "False"],
        ["c", "x", "", "3", "True"],
    ]
    table = row_picker.table_json(frame, "place")
    assert '"columns": ["place", "name", "price", "stars", "open"]' in table and "Café <b>" in table


def _script(rows: int) -> None:
    import pandas as pd
    import streamlit as st

    from attnrec.app import pickers

    frame = pd.DataFrame(
        {"name": [f"place {i}" for i in range(rows)]}, index=pd.Index([f"id{i}" for i in range(rows)], name="id")
    )
    current = st.session_state.setdefault("current", "id3")
    chosen = pickers.pick_row(frame, "item", "pick", current, f"cache-{rows}", 143, "name", page_run=0)
    st.session_state["current"] = chosen
    st.text(chosen)


def _open(rows: int) -> AppTest:
    at = AppTest.from_function(_script, args=(rows,), default_timeout=60).run()
    assert not at.exception
    return at


@pytest.mark.parametrize("rows", [12, 6_000], ids=["whole table", "search pages"])
def test_a_pick_is_taken_once_and_a_choice_made_elsewhere_is_told(rows):
    at = _open(rows)
    first = picker_data(at, "pick_rows")
    assert at.text[0].value == "id3" and first["selected"] == "id3" and first["seq"] == 0
    assert len(picker_rows(at, "pick_rows")) == min(rows, 50)

    click_row(at, "pick_rows", "id5")
    at.run()
    assert at.text[0].value == "id5"
    assert picker_data(at, "pick_rows") == first  # the table marked the click itself: nothing resent

    # The choice changes elsewhere (a link, another page): the table is told, with a new seq.
    at.session_state["current"] = "id7"
    at.run()
    told = picker_data(at, "pick_rows")
    assert at.text[0].value == "id7" and (told["selected"], told["seq"]) == ("id7", 1)
    assert told["table"] == first["table"]

    # The last pick is still in the component's state on later runs: it is not taken again.
    at.run()
    assert at.text[0].value == "id7"

    # An id the table does not offer (stale or forged) changes nothing.
    click_row(at, "pick_rows", "not-a-row")
    at.run()
    assert at.text[0].value == "id7" and not at.exception


@pytest.mark.parametrize("rows", [12, 6_000], ids=["whole table", "search pages"])
def test_a_search_offers_only_its_matches(rows):
    at = _open(rows)
    at.text_input(key="pick_search").input("place 7").run()
    shown = picker_rows(at, "pick_rows")
    assert "id7" in shown.index and all("7" in i for i in shown.index)
    click_row(at, "pick_rows", "id7")
    at.run()
    assert at.text[0].value == "id7"


def test_a_table_built_anew_is_told_the_choice():
    """A new run of the whole page (the page was left and opened again: the browser builds the table anew, which
    knows only what its message says) tells the table the current choice if it was told an older one."""

    def script() -> None:
        import pandas as pd
        import streamlit as st

        from attnrec.app import row_picker

        frame = pd.DataFrame({"v": [1, 2, 3]}, index=pd.Index(["a", "b", "c"]))
        current = st.session_state.setdefault("current", "a")
        run = st.session_state.get("page_run", 0)
        st.session_state["current"] = row_picker.pick(
            frame, what="x", key="t", current=current, cache_key="k", page_run=run
        )

    at = AppTest.from_function(script, default_timeout=60).run()
    click_row(at, "t", "b")
    at.run()
    assert picker_data(at, "t")["selected"] == "a"  # same page run: the table marked "b" itself
    at.session_state["page_run"] = 1
    at.run()
    data = picker_data(at, "t")
    assert (data["selected"], data["seq"]) == ("b", 1)


def test_the_script_writes_text_only_and_reports_picks_at_once():
    script = Path(row_picker.__file__).with_name("row_picker.js").read_text(encoding="utf-8")
    assert "export default function" in script
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "outerHTML" not in script
    assert ".textContent = text" in script  # every cell
    assert 'setStateValue("pick"' in script or 'attnrecSetState("pick"' in script
    assert "setTimeout" not in script  # no debounce between a click and the server


def _take_script() -> None:
    import pandas as pd
    import streamlit as st

    from attnrec.app import row_picker

    for name, ids in {"text": pd.Index(["a", "b", "7"]), "numbers": pd.Index([5, 7, 9]), "none": pd.Index([])}.items():
        for n, picked in enumerate(["7", "b", "x"]):
            st.session_state[f"{name}{n}"] = {"pick": {"id": picked, "nonce": f"{name}{n}"}}
            st.text(f"{name} {picked} {row_picker.take_pick(f'{name}{n}', ids)}")


def test_a_pick_names_an_id_the_table_shows_as_text_whatever_the_index_type():
    """Text ids are looked up in the index itself (no copy per pick); numbers as the table shows them (text)."""
    at = AppTest.from_function(_take_script, default_timeout=60).run()
    assert not at.exception
    assert [t.value for t in at.text] == [
        "text 7 7",
        "text b b",
        "text x None",
        "numbers 7 7",
        "numbers b None",
        "numbers x None",
        "none 7 None",
        "none b None",
        "none x None",
    ]

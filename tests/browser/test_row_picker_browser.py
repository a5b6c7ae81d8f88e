"""attnrec/app/row_picker.js alone in Chromium (no Streamlit server): what a press and a release on a row pick.

The script is mounted as Streamlit mounts a v2 component: its default export is called with the component's
data, its parent element and `setStateValue`, once per rerun. Every pick it reports is recorded. Under load a
rerun's redraw can land between a person's press and release: the pressed row is then replaced, and Chromium
sends no click at all (the pick was lost, seen in the Explore browser test); the pick must survive it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attnrec.devserver import launch_chromium

SCRIPT = Path(__file__).resolve().parents[2] / "attnrec" / "app" / "row_picker.js"
ROWS = [["a", "Ann", "3"], ["b", "Bob", "1"], ["c", "Cy", "2"]]


def table(rows=ROWS) -> str:
    return json.dumps({"columns": ["id", "name", "visits"], "rows": rows})


@pytest.fixture(scope="module")
def tab(playwright, tmp_path_factory):
    context = launch_chromium(playwright, tmp_path_factory.mktemp("row-picker-profile"))
    page = context.new_page()
    yield page
    context.close()


def mount(tab, rows=ROWS) -> None:
    """A fresh table of `rows` ("a" chosen) in `tab`; `tab.evaluate("picks")` lists the ids picked."""
    tab.set_content("<div id='host' style='width: 600px'></div>")
    # The module's default export, as a global function (an inline script cannot be imported from).
    source = SCRIPT.read_text(encoding="utf-8").replace("export default function", "window.rowPicker = function")
    assert "window.rowPicker = function" in source
    tab.add_script_tag(content=source)
    tab.evaluate(
        """t => {
            window.picks = [];
            window.render = (table, seq) => window.rowPicker({
                data: {table, selected: "a", seq, height: 200, label: "user", empty: "No user matches."},
                parentElement: document.getElementById("host"),
                setStateValue: (name, value) => window.picks.push([name, value.id]),
            });
            render(t, 0);
        }""",
        table(rows),
    )


@pytest.fixture
def picker(tab):
    mount(tab)
    return tab


def row(page, row_id: str):
    return page.locator(f".attnrec-row[data-id='{row_id}']")


def press(page, row_id: str) -> None:
    box = row(page, row_id).bounding_box()
    page.mouse.move(box["x"] + 12, box["y"] + box["height"] / 2)
    page.mouse.down()


def picks(page) -> list[str]:
    return [row_id for name, row_id in page.evaluate("picks") if name == "pick"]


def test_a_click_picks_its_row_once_and_marks_it_in_place(picker):
    before = row(picker, "b").element_handle()
    row(picker, "b").click()
    assert picks(picker) == ["b"]  # once: not again for the click that follows the release
    assert row(picker, "b").get_attribute("aria-selected") == "true"
    assert row(picker, "a").get_attribute("aria-selected") == "false"
    # The same row element is marked: a pick does not replace the rows under the pointer.
    assert picker.evaluate("el => el.isConnected && el.getAttribute('aria-selected')", before) == "true"


def test_a_redraw_between_the_press_and_the_release_keeps_the_pick(picker):
    press(picker, "b")
    picker.evaluate("t => render(t, 0)", table([*ROWS, ["d", "Dee", "4"]]))  # a rerun's new rows, mid-click
    assert not picker.evaluate("document.querySelector(\".attnrec-row[data-id='b']\") === null")
    picker.mouse.up()
    assert picks(picker) == ["b"]
    assert row(picker, "b").get_attribute("aria-selected") == "true"


def test_a_press_dragged_to_another_row_picks_nothing(picker):
    press(picker, "b")
    box = row(picker, "c").bounding_box()
    picker.mouse.move(box["x"] + 12, box["y"] + box["height"] / 2)
    picker.mouse.up()
    assert picks(picker) == []
    assert row(picker, "a").get_attribute("aria-selected") == "true"


def test_a_right_press_picks_nothing_and_a_click_without_a_pointer_picks(picker):
    row(picker, "c").click(button="right")
    assert picks(picker) == []
    row(picker, "c").evaluate("el => el.click()")  # as assistive technology activates an element
    assert picks(picker) == ["c"]


def test_a_rerun_that_changes_nothing_keeps_the_rows_and_a_choice_made_elsewhere_marks_its_row(picker):
    before = row(picker, "b").element_handle()
    picker.evaluate("t => render(t, 0)", table())
    assert picker.evaluate("el => el.isConnected", before)
    picker.evaluate("t => render(t, 1)", table())  # seq 1: chosen elsewhere (still "a" here)
    assert row(picker, "a").get_attribute("aria-selected") == "true"
    assert picks(picker) == []


def drawn_rows(page) -> list[tuple[str, int, int]]:
    """(id, aria-rowindex, top in px) of the rows drawn, in the order they are in the page."""
    return page.evaluate(
        """() => [...document.querySelectorAll(".attnrec-row")].map(r =>
            [r.dataset.id, Number(r.getAttribute("aria-rowindex")), parseFloat(r.style.top)])"""
    )


def scroll_to(page, top: int) -> None:
    page.evaluate(
        "top => new Promise(done => { const t = document.querySelector('.attnrec-rows'); t.scrollTop = top;"
        " requestAnimationFrame(() => requestAnimationFrame(done)); })",
        top,
    )


def test_a_scroll_keeps_the_rows_still_in_view_and_draws_the_rest_in_order(tab):
    rows = [[f"r{k:02d}", f"name {k}", str(k)] for k in range(60)]
    mount(tab, rows)
    before = row(tab, "r05").element_handle()
    scroll_to(tab, 3 * 32)  # three rows down: r05 stays in view
    assert tab.evaluate("el => el.isConnected", before)  # the same element, not a new one
    shown = drawn_rows(tab)
    height = tab.evaluate("document.querySelector('.attnrec-rows').clientHeight")
    last = min(60, -(-(3 * 32 + height) // 32) + 6)  # the rows in view and 6 beyond each edge (row_picker.js)
    assert [r[0] for r in shown] == [f"r{k:02d}" for k in range(0, last)]  # in the order shown, none twice
    assert all(index == k + 2 and top == k * 32 for k, (_, index, top) in enumerate(shown))
    scroll_to(tab, 30 * 32)  # far down: every row is new, still in order
    shown = drawn_rows(tab)
    assert not tab.evaluate("el => el.isConnected", before)
    assert [r[0] for r in shown] == [f"r{k:02d}" for k in range(shown[0][1] - 2, shown[-1][1] - 1)]
    assert shown[0][1] - 2 == 30 - 6 and all(top == (index - 2) * 32 for _, index, top in shown)


def test_a_sort_draws_the_rows_in_their_new_order(tab):
    rows = [[f"r{k:02d}", f"name {k}", str(k)] for k in range(20)]
    mount(tab, rows)
    header = tab.locator("[role='columnheader']").nth(2)  # visits, numeric
    header.click()
    header.click()  # descending
    shown = drawn_rows(tab)
    assert [r[0] for r in shown][:5] == ["r19", "r18", "r17", "r16", "r15"]
    assert all(index == k + 2 and top == k * 32 for k, (_, index, top) in enumerate(shown))

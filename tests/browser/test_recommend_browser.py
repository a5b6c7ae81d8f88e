"""Recommend in Chromium: the reasons a person reads for a user's top 10 differ from item to item and name the
dataset's real fields; a what-if edit typed into the grid re-ranks the catalog with nothing cut off, and a model
that reads no user attribute says so instead of offering edits that cannot move it.
(The numbers behind both are checked against numpy and Captum in tests/test_page_recommend.py.)"""

from __future__ import annotations

from browser_helpers import wait_until_idle
from layout_checks import assert_nothing_cut_off_at_both_sizes

from attnrec.data import load_dataset

CHART = ".js-plotly-plot"  # every Plotly chart: st.plotly_chart's and attnrec's in-place ones
ROW_HEIGHT, HEADER_HEIGHT = 35, 35  # Streamlit's data grid


def reasons(page) -> list[str]:
    """The "why this item" column of the reasons table, as the browser shows it."""
    table = page.locator("[data-testid='stTable'] table").first
    table.wait_for()
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    column = headers.index("why this item")
    return [row.locator("th, td").nth(column).inner_text().strip() for row in table.locator("tbody tr").all()]


def test_reasons_differ_and_name_real_fields_and_a_what_if_edit_reranks(page, open_page, app_url):
    dataset = load_dataset("restaurants")
    fields = set(dataset.users.columns) | set(dataset.items.columns)
    open_page(page, "Recommend")
    page.get_by_role("heading", name="Recommend").wait_for()
    wait_until_idle(page)
    shown = reasons(page)
    assert len(shown) == 10
    assert len(set(shown)) >= 8, shown  # ten items, not one template ten times
    for reason in shown:
        named = {field for field in fields if field.replace("_", " ") in reason or field in reason}
        assert named, f"no field of the data is named in “{reason}”"
    assert_nothing_cut_off_at_both_sizes(page, "Recommend")

    # The shipped aligned model profiles users from the items they liked: it says no attribute edit can move it.
    page.get_by_text("reads none of the user's attributes").wait_for()

    # What-if on the synthetic model, whose user side reads the user's genre affinities: type a new value into the
    # editor's "value" cell of the first genre (the grid's first row).
    page.goto(f"{app_url}/recommend?dataset=synthetic&model=synthetic")
    page.get_by_role("heading", name="What if this user were different?").wait_for()
    wait_until_idle(page)
    synthetic = load_dataset("synthetic")
    genre = synthetic.users.columns[0]
    row = 0
    editor = page.locator(  # the first grid after the what-if heading
        "xpath=//h3[contains(., 'What if this user were different?')]/following::*[@data-testid='stDataFrame'][1]"
    )
    editor.wait_for()
    editor.scroll_into_view_if_needed()
    box = editor.bounding_box()
    assert box
    x, y = box["x"] + box["width"] * 0.75, box["y"] + HEADER_HEIGHT + row * ROW_HEIGHT + ROW_HEIGHT / 2
    page.mouse.click(x, y)  # selects the cell
    # The grid has taken the click once focus sits on its (accessible) cell, not just on its canvas.
    page.wait_for_function(
        "() => { const e = document.activeElement;"
        " return e && e.tagName === 'TD' && !!e.closest(\"[data-testid='stDataFrame']\"); }"
    )
    page.keyboard.press("Enter")  # opens the cell's editor with its value
    cell_editor = page.locator("textarea.gdg-input")  # the grid's cell editor
    cell_editor.wait_for()
    cell_editor.fill("0")
    cell_editor.press("Enter")
    page.get_by_text("Edited fields the model sees:").wait_for(timeout=120_000)
    wait_until_idle(page)
    assert genre in page.get_by_text("Edited fields the model sees:").inner_text()
    bars = page.locator(CHART).filter(has_text="How the edit moves each item")
    bars.wait_for(timeout=120_000)
    assert bars.locator(".bars .point").count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0
    assert_nothing_cut_off_at_both_sizes(page, "Recommend after a what-if edit")

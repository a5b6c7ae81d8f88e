"""Every page in Chromium with a dataset whose ids, item names and category values are Markdown / HTML payloads
(`![x](http://evil.invalid/…)`, `<img src=…>`, `<a href=…>`, `<b>…</b>`, `**bold**`, `=HYPERLINK(…)`).

The dataset is uploaded and kept on the Data page (with its user and item genre as an aligned pair) and a
latent model is trained on it, as a user would; then each page is opened from the menu. No request may leave
the app's own server, and no element may be created from a payload (no image or link to the payload host, no
bold/strong made of a data value). Then an aligned model is trained, whose dimensions are named after the
genre values: Explore's charts label their axes with them, and Plotly (which reads <a href>, <b> in labels as
markup) must show them as text, making no link and no bold text from them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from browser_helpers import drawn, wait_until_idle  # noqa: E402
from test_data_browser import set_text, upload_tables  # noqa: E402

from test_injection import payload_frames  # noqa: E402  (the same payloads as the AppTest corpus)

PAGES = {
    "Explore": "Explore one user–item pair",
    "Walkthrough": "Walkthrough: how the score S is built",
    "Compare": "Compare two pairs",
    "Attributions": "Attributions",
    "Recommend": "Recommend",
    "Model health": "Model health",
    "Data": "Your data",
}
FROM_PAYLOAD = (
    "img[src*='evil.invalid'], a[href*='evil.invalid'], [*|href*='evil.invalid'], "
    "[style*='evil.invalid'], strong:text-is('bold'), b:text-is('jazz'), strong:text-is('n')"
)
# A genre that is a link: in an aligned model it names a dimension, so it becomes an axis label.
LINK_GENRE = '<a href="http://evil.invalid/g">rock</a>'
# Plotly renders <a href> as an SVG <a> and <b> as a bold <tspan>; neither may come from a data value.
CHART = ".js-plotly-plot"  # every Plotly chart: st.plotly_chart's and attnrec's in-place ones
MARKUP_IN_CHART = (
    f"{CHART} a, {CHART} [*|href*='evil.invalid'], {CHART} tspan[style*='bold']:text-is('jazz'), "
    f"{CHART} tspan[style*='bold']:text-is('rock')"
)


def csv_payload(name: str, frame) -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": frame.to_csv(index=False).encode("utf-8")}


def test_payload_dataset_on_every_page_makes_no_outside_request(page, open_page, app_url):
    outside = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith((app_url, "data:", "blob:", "about:")) else None
        ),
    )
    users, items, interactions, _ = payload_frames()
    users.loc[5, "genre"] = items.loc[5, "genre"] = LINK_GENRE
    open_page(page, "Data")
    page.get_by_text("Your data", exact=True).wait_for()
    upload_tables(
        page,
        csv_payload("users.csv", users),
        csv_payload("items.csv", items),
        csv_payload("interactions.csv", interactions),
    )
    page.get_by_text("2 · Map columns to roles").wait_for()
    add_aligned_pair(page, "genre", "genre")
    set_text(page, "Dataset name", "payloads")
    page.get_by_role("button", name="Validate and keep this dataset").click()
    page.get_by_text("Kept dataset 'payloads'").wait_for()
    wait_until_idle(page)  # keeping reruns the page: a value typed before that rerun ends would be lost
    fill_training_form(page, epochs="2", d="4")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Model 'payloads model' finished").wait_for(timeout=180_000)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.locator("[data-testid='stSelectbox']").filter(has_text="Dataset").click()
    page.get_by_role("option", name="payloads", exact=True).click()  # kept = saved in the workspace
    wait_until_idle(page)
    for title, heading in PAGES.items():
        page.locator("[data-testid='stSidebarNav']").get_by_text(title, exact=True).click()
        page.get_by_role("heading", name=heading).first.wait_for(timeout=180_000)
        wait_until_idle(page)
        drawn(page)  # charts draw on the frames after the script run
        assert page.locator("[data-testid='stException']").count() == 0, title
        made = page.locator(FROM_PAYLOAD)
        assert made.count() == 0, (title, [made.nth(i).evaluate("e => e.outerHTML") for i in range(made.count())])

    # An aligned model: its dimensions are named after the genre values, payloads included.
    page.locator("[data-testid='stSidebarNav']").get_by_text("Data", exact=True).click()
    page.get_by_text("3 · Train a model").wait_for()  # its dataset: the one kept this session, 'payloads'
    page.get_by_text("named: paired user ↔ item columns", exact=True).click()  # the aligned recipe
    wait_until_idle(page)
    fill_training_form(page, epochs="2", name="payloads aligned")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Model 'payloads aligned' finished").wait_for(timeout=180_000)
    sidebar.locator("[data-testid='stSelectbox']").filter(has_text="Model").click()
    page.get_by_role("option", name=re.compile("^payloads aligned")).click()
    wait_until_idle(page)
    page.locator("[data-testid='stSidebarNav']").get_by_text("Explore", exact=True).click()
    page.get_by_role("heading", name=PAGES["Explore"]).first.wait_for(timeout=180_000)
    wait_until_idle(page)
    page.locator(f"{CHART} .xtick").first.wait_for()
    drawn(page)
    assert page.locator("[data-testid='stException']").count() == 0
    ticks = page.locator(f"{CHART} .xtick text").all_text_contents()
    assert any(LINK_GENRE in t for t in ticks) and any("<b>jazz</b>" in t for t in ticks), ticks  # shown as typed
    for selector in (FROM_PAYLOAD, MARKUP_IN_CHART):
        made = page.locator(selector)
        assert made.count() == 0, [made.nth(i).evaluate("e => e.outerHTML") for i in range(made.count())]
    assert outside == [], outside


def fill_training_form(page, **values: str) -> None:
    """Type into the training form and wait until every field holds what was typed (a rerun can redraw it)."""
    labels = {"epochs": "Epochs", "d": "d (latent dimensions)", "name": "Model name"}
    for key, value in values.items():
        box = page.get_by_label(labels[key], exact=True)
        for _ in range(5):
            box.fill(value)
            wait_until_idle(page)
            if box.input_value() == value:
                break
        assert box.input_value() == value, (key, box.input_value())


def add_aligned_pair(page, user_column: str, item_column: str) -> None:
    """One row in the mapping's aligned-pairs editor (a canvas grid: double-click a cell, type, Enter)."""
    page.get_by_text("Aligned user ↔ item pairs").click()
    wait_until_idle(page)
    grid = (
        page.locator("[data-testid='stExpander']")
        .filter(has_text="Aligned user")
        .locator("[data-testid='stDataFrame']")
    )
    grid.evaluate("e => e.scrollIntoView({block: 'center'})")  # its toolbar clear of the app's header
    grid.hover()  # shows the grid's toolbar
    add_row = page.get_by_role("button", name="Add row")
    add_row.wait_for()
    # A DOM click: under load the toolbar is still fading in (never "stable" to Playwright) or overlapped by the
    # grid's scroller, and a pointer click would land on the grid.
    add_row.evaluate("button => button.click()")
    for fraction, value in ((0.17, user_column), (0.44, item_column), (0.89, "categorical")):
        wait_until_idle(page)  # each edit reruns the page, which may move the grid
        box = grid.bounding_box()
        x, y = box["x"] + fraction * box["width"], box["y"] + 54  # the first row, under the header
        page.mouse.dblclick(x, y)  # opens the cell's dropdown editor...
        page.wait_for_timeout(500)
        page.mouse.click(x, y)  # ...whose input takes the keys only once clicked
        page.wait_for_timeout(300)
        page.keyboard.type(value)
        page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    wait_until_idle(page)

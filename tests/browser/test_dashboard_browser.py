"""Explore and Compare in Chromium: pick a pair by clicking table rows, read S, reopen the copied link.

Screenshots of both pages at 1280 px wide go to a temporary folder (the README's pictures come from
scripts/screenshots.py).
"""

from pathlib import Path

import numpy as np
import pytest
from browser_helpers import metric, save_full_page, url_params, wait_until_idle
from layout_checks import assert_nothing_cut_off_at_both_sizes
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from attnrec.figures import dimensions_that_matter

CHART = ".js-plotly-plot"  # every Plotly chart: st.plotly_chart's and attnrec's in-place ones
PICKER = ".attnrec-rows"  # Explore's user and item tables (attnrec.app.row_picker)


def click_row(page, table_index: int, row_id: str) -> None:
    """Click the row of `row_id` in the table_index-th picker, once the table offers it."""
    row = page.locator(PICKER).nth(table_index).locator(f".attnrec-row[data-id='{row_id}']")
    row.wait_for(state="visible", timeout=120_000)  # a rerun may be replacing the rows right now
    row.click()


@pytest.fixture(scope="module")
def shipped_model():
    from attnrec.model import Recommender

    folder = sorted(
        p
        for p in (Path(__file__).resolve().parents[2] / "sample_data" / "models").glob("*")
        if (p / "config.json").exists()
    )[0]
    return folder.name, Recommender.load(folder, device="cpu")


def test_explore_pick_a_pair_read_s_and_reopen_the_link(page, app_url, shipped_model, browser_context, screenshots):
    model_name, model = shipped_model
    page.goto(app_url)
    page.get_by_text("Explore one user–item pair").wait_for()
    page.wait_for_function(f'document.querySelectorAll("{CHART}").length >= 2')
    assert page.locator("[data-testid='stException']").count() == 0
    # Pick the user and the item: search narrows each table to the row, a click selects it at once (the row is
    # marked before the server answers).
    user_id, item_id = model.user_ids[5], model.item_ids[7]
    for index, (placeholder_index, text) in enumerate(((0, user_id), (1, item_id))):
        search = page.get_by_placeholder("any text, e.g. an id or a value").nth(placeholder_index)
        table = page.locator(PICKER).nth(index)
        whole = table.get_attribute("aria-rowcount")
        search.fill(text)
        search.press("Enter")
        # The search's rerun has drawn the narrowed table (on a busy machine it may start after idle was seen).
        expect(table).not_to_have_attribute("aria-rowcount", whole)
        wait_until_idle(page)
        chosen = page.locator(PICKER).nth(index).locator(f".attnrec-row[data-id='{text}']")
        # Marked on the click, before the server answers (tests/browser/test_row_picker_browser.py: also when a
        # rerun redraws the rows between the press and the release, which lost a click here under load).
        click_row(page, index, text)
        expect(chosen).to_have_attribute("aria-selected", "true", timeout=5_000)
        wait_until_idle(page)
    page.wait_for_function(f"new URLSearchParams(location.search).get('item') === '{item_id}'")
    params = url_params(page)
    assert params["user"] == user_id and params["item"] == item_id and params["model"] == model_name
    expected = model.trace(user_id, item_id)
    # The URL is written early in the pair's (fragment) rerun; the score tiles follow within that run. Wait for the
    # tile to show this pair's S (a wrong pair never does, and the wait fails), then read it.
    page.wait_for_function(
        """s => [...document.querySelectorAll("[data-testid='stMetric']")].some(m =>
            m.textContent.includes("S (score)")
            && Math.abs(parseFloat(m.querySelector("[data-testid='stMetricValue']").textContent) - s) <= 6e-5)""",
        arg=float(expected.s),
    )
    wait_until_idle(page)
    s_shown = metric(page, "S (score)")
    assert float(s_shown) == pytest.approx(expected.s, abs=6e-5)
    rank = expected.rank_span() if expected.ties else f"{expected.rank} of {len(model.item_ids)}"  # a tie: a range
    assert metric(page, "Rank for this user") == rank
    # Both heatmaps drew (an SVG layer each).
    assert page.locator(f"{CHART} .main-svg").count() >= 2
    # The "why" view: the contribution heatmap first, then A_U. Wide models show attention units (the taste block
    # as one column): click the A_U cell of head 2 of the named dimension with the largest |contribution| there.
    trace = expected.trace
    names = list(model.dimension_names)
    if model.d <= 12:
        shown_names = names
    else:
        units = model.attention_units()
        unit_names = model.unit_names()
        member = np.zeros((model.d, len(units)))
        for j, unit in enumerate(units):
            member[unit, j] = 1
        c, au, av = (m[0].numpy() @ member for m in (trace.contributions, trace.a_u, trace.a_v))
        null = [len(units) - 1] if model.null_slot else []
        product = np.abs(expected.x.numpy() * expected.y.numpy()) @ member
        shown = sorted(
            dimensions_that_matter(c, au, av, k=12, skip=null, product=product)
            + ([] if not null or au[:, -1].max() + av[:, -1].max() == 0 else null)
        )
        shown_names = [unit_names[j] for j in shown]
    named = [n for n in shown_names if n in names and n != names[-1] or model.d <= 12]
    dim_name = max(named, key=lambda n: abs(float(trace.contributions[0, 1, names.index(n)])))
    dim = names.index(dim_name)
    box = None
    for _ in range(10):  # the pair's reruns may still be replacing the charts: find the cell once they settle
        wait_until_idle(page)
        page.wait_for_function(f'document.querySelectorAll("{CHART}").length >= 3')
        try:
            heatmap = page.locator(CHART).nth(1)
            heatmap.scroll_into_view_if_needed(timeout=10_000)
            # Explore's heatmaps report clicks on their cells (attnrec.app.plotly_view): the centre of the cell in
            # row 1 (head 2), column of the dimension, from Plotly's own axes, in window coordinates.
            box = heatmap.evaluate(
                """(el, cell) => {
                    const layout = el._fullLayout, frame = el.getBoundingClientRect();
                    if (!layout || !layout.xaxis || !(el.data || []).length) return null;
                    return {x: frame.left + layout.xaxis._offset + layout.xaxis.l2p(cell[1]),
                            y: frame.top + layout.yaxis._offset + layout.yaxis.l2p(cell[0])};
                }""",
                [1, shown_names.index(dim_name)],
            )
        except PlaywrightError:
            box = None
        if box:
            break
    assert box, "the A_U heatmap never settled"
    page.mouse.click(box["x"], box["y"])
    wait_until_idle(page)
    story = (
        page.locator("[data-testid='stMarkdownContainer']")
        .filter(has_text=f"Head 2, dimension “{model.dimension_names[dim]}”")
        .first
    )
    story.wait_for()
    contribution = float(expected.trace.contributions[0, 1, dim])
    assert f"{contribution:+.4f}" in story.inner_text()
    # The uniform level 1/d is drawn as the reference on both attention heatmaps' colour bars.
    for index in (1, 2):
        ticks = page.locator(CHART).nth(index).locator(".colorbar text").all_text_contents()
        assert f"uniform {1 / model.d:.3g}" in ticks, ticks
    save_full_page(page, screenshots / "explore.png")
    assert_nothing_cut_off_at_both_sizes(page, "Explore, the why view")

    # The copied link, opened in a new tab (a new session), shows the same view.
    link = page.url
    again = browser_context.new_page()
    try:
        again.set_default_timeout(60_000)
        again.goto(link)
        again.get_by_text("Explore one user–item pair").wait_for()
        again.wait_for_function(f'document.querySelectorAll("{CHART}").length >= 2')
        assert metric(again, "S (score)") == s_shown
        assert again.get_by_text(f"selected: {user_id}").count() >= 1
        assert url_params(again)["item"] == item_id
        assert again.locator("[stAlert], [data-testid='stAlertContentWarning']").count() == 0
        # The other views of the pair: every label on screen at both window sizes.
        again.evaluate("() => { window.attnrecHeatmap = document.querySelector('.attnrec-plot'); }")
        for view in ("Z breakdown", "Attributions (Integrated Gradients)"):
            again.get_by_text(view, exact=True).click()
            wait_until_idle(again)
            # The why view's charts left the page and Plotly let go of them (plotly_view.js purges a chart, and
            # its window listeners, once it is detached).
            again.wait_for_function("() => !window.attnrecHeatmap.isConnected && !window.attnrecHeatmap._fullLayout")
            again.wait_for_function(f'document.querySelectorAll("{CHART}").length >= 1')
            assert_nothing_cut_off_at_both_sizes(again, f"Explore, {view}")
    finally:
        again.close()


def test_explore_tables_sort_by_a_header_and_follow_the_arrow_keys(page, app_url, shipped_model):
    """The pickers' own interactions: a header click sorts (numbers as numbers), the arrow keys move the choice
    (each move is a pick: the URL and S follow), and the pair chosen elsewhere (a link) is the row marked."""
    _, model = shipped_model
    users = [str(u) for u in model.user_ids]
    page.goto(f"{app_url}/?user={users[3]}")
    page.get_by_text("Explore one user–item pair").wait_for()
    table = page.locator(PICKER).nth(0)
    table.locator(".attnrec-row[aria-selected='true']").wait_for()
    assert table.locator(".attnrec-row[aria-selected='true']").get_attribute("data-id") == users[3]
    wait_until_idle(page)
    # The id column, descending after two clicks: the first row shown (aria-rowindex 2) is the largest id.
    header = table.locator("[role='columnheader']").first
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    table.evaluate("t => { t.scrollTop = 0; }")
    page.wait_for_function(
        "([i, id]) => { const r = document.querySelectorAll('.attnrec-rows')[i]"
        ".querySelector('.attnrec-row[aria-rowindex=\\'2\\']');"
        " return r && r.dataset.id === id; }",
        arg=[0, max(users)],
    )
    # Sorted descending, the row after users[3] (still the choice, now out of view) is the next smaller id: the
    # key moves there and brings it into view.
    table.focus()
    table.press("ArrowDown")
    below = max(u for u in users if u < users[3])
    page.wait_for_function(f"new URLSearchParams(location.search).get('user') === '{below}'")
    assert table.locator(".attnrec-row[aria-selected='true']").get_attribute("data-id") == below
    wait_until_idle(page)
    expected = model.trace(below, url_params(page)["item"])
    page.wait_for_function(
        """s => [...document.querySelectorAll("[data-testid='stMetric']")].some(m =>
            m.textContent.includes("S (score)")
            && Math.abs(parseFloat(m.querySelector("[data-testid='stMetricValue']").textContent) - s) <= 6e-5)""",
        arg=float(expected.s),
    )


def test_compare_renders_and_keeps_the_screenshot(page, app_url, shipped_model, screenshots):
    _, model = shipped_model
    user_id, item_a, item_b = model.user_ids[2], model.item_ids[1], model.item_ids[4]
    page.goto(app_url)  # app.py's navigation runs once before deep links work
    page.get_by_text("Explore one user–item pair").wait_for()
    page.goto(f"{app_url}/compare?user={user_id}&item={item_a}&item_b={item_b}")
    page.get_by_text("Compare two pairs").wait_for()
    page.wait_for_function(f'document.querySelectorAll("{CHART}").length >= 3')
    assert page.locator("[data-testid='stException']").count() == 0
    s_a, s_b = model.trace(user_id, item_a).s, model.trace(user_id, item_b).s
    assert float(metric(page, "S(A)")) == pytest.approx(s_a, abs=6e-5)
    assert float(metric(page, "S(B)")) == pytest.approx(s_b, abs=6e-5)
    save_full_page(page, screenshots / "compare.png")
    assert_nothing_cut_off_at_both_sizes(page, "Compare")

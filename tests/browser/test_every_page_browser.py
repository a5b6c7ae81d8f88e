"""Every page of the app in Chromium at 1280×800: it renders its title and charts without an exception, nothing
on it is cut off at 1280×800 or at 1920×1080, and its screenshot lands in a temporary folder (the README's
pictures come from scripts/screenshots.py).
Also: a copied deep link opened on a fresh server reopens the same page with its parameters, inside the app's
navigation."""

from urllib.parse import parse_qs, urlparse

import pytest
from browser_helpers import drawn, wait_until_idle
from layout_checks import assert_nothing_cut_off_at_both_sizes, cut_off

from conftest import serve_app

CHART = ".js-plotly-plot"  # every Plotly chart: st.plotly_chart's and attnrec's in-place ones

# menu title → (page heading, has charts on first view, screenshot name or None (another test takes it),
#               text to scroll to for the picture or None, the control that runs the slow section first or None)
PAGES = {
    "Walkthrough": ("Walkthrough: how the score S is built", True, None, None, None),
    "Attributions": ("Attributions", True, "attributions", "Against the reference", "Score the methods for this pair"),
    "Recommend": ("Recommend", False, "recommend", None, None),  # a table until the what-if editor is used
    # The sample report card (on request) is covered by the AppTests; run here it kept the shared server busy
    # for ~3 minutes after the test ended, which starved the next browser test's training.
    "Model health": ("Model health", True, "health", None, None),
    "Dataset-wide view": ("Dataset-wide view", True, "insights", None, None),
    "Data": ("Your data", False, None, None, None),  # nothing to chart until something is uploaded
}


@pytest.mark.parametrize("title", PAGES)
def test_page_renders_with_its_charts(page, open_page, title, screenshots):
    heading, has_charts, shot, scroll_to, run_first = PAGES[title]
    open_page(page, title)
    page.get_by_role("heading", name=heading).wait_for()
    wait_until_idle(page, timeout=420_000)
    if has_charts:
        page.locator(CHART).first.wait_for(timeout=420_000)
        assert page.locator(CHART).count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0
    if run_first:  # the report card runs on request: ask for it, then wait for its run
        control = page.get_by_text(run_first).first
        control.scroll_into_view_if_needed(timeout=120_000)
        control.click()
        wait_until_idle(page, timeout=420_000)
    if scroll_to:
        page.get_by_text(scroll_to, exact=True).first.scroll_into_view_if_needed(timeout=420_000)
        drawn(page)
    if shot:
        page.screenshot(path=str(screenshots / f"{shot}.png"))
    # Nothing cut off: no clipped text, no chart label outside its figure, at 1280×800 and at 1920×1080.
    assert_nothing_cut_off_at_both_sizes(page, title)


def test_the_cut_off_check_finds_cut_text_and_chart_labels(page, open_page):
    """The check the page tests rely on, shown to fail: clipped text, and a label drawn outside its chart."""
    open_page(page, "Walkthrough")
    page.locator(CHART).first.wait_for(timeout=420_000)
    wait_until_idle(page)
    assert cut_off(page) == []
    page.evaluate(
        """() => {
        const cut = document.createElement('div');
        cut.style.cssText = 'width: 40px; height: 24px; flex: none; overflow: hidden; white-space: nowrap';
        cut.textContent = 'a label far too long for its box';
        document.querySelector("[data-testid='stMain']").appendChild(cut);
        const svg = document.querySelector('.js-plotly-plot .main-svg');
        const text = document.createElementNS('http://www.w3.org/2000/svg', 'text');
        text.setAttribute('x', String(svg.getBoundingClientRect().width - 10));
        text.setAttribute('y', '30');
        text.textContent = 'a tick label running off the figure';
        svg.appendChild(text);
    }"""
    )
    page.evaluate(
        """() => {
        const field = document.createElement('input');
        field.style.cssText = 'width: 40px; height: 24px; flex: none';
        field.value = 'a model name far too long for its field';
        document.querySelector("[data-testid='stMain']").appendChild(field);
    }"""
    )
    cuts = cut_off(page)
    assert any("a model name far too long" in c for c in cuts), cuts
    assert any("a label far too long" in c for c in cuts), cuts
    assert any("a tick label running off" in c for c in cuts), cuts


def test_a_deep_link_on_a_fresh_server_opens_inside_the_app(browser_context, tmp_path):
    """The first request a fresh server gets is a deep link: it opens that page inside the app's navigation
    (menu titles, settings) with its parameters. (With a pages/ folder Streamlit would run the page alone; the
    scripts live in app_pages/ for that reason.)"""
    with serve_app(tmp_path / "server.log") as url:  # its own server: no session has run app.py there yet
        tab = browser_context.new_page()
        try:
            tab.set_default_timeout(120_000)
            tab.goto(f"{url}/compare?dataset=restaurants&model=restaurants-aligned&user=U1077&item=135085")
            tab.get_by_role("heading", name="Compare two pairs").wait_for()
            nav = tab.locator("[data-testid='stSidebarNav']")
            assert "Model health" in nav.inner_text()  # the app's menu titles, not bare file names
            query = parse_qs(urlparse(tab.url).query)
            assert urlparse(tab.url).path.endswith("/compare")
            assert query["user"] == ["U1077"] and query["item"] == ["135085"]
        finally:
            tab.close()

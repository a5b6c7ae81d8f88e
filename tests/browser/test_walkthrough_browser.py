"""The Walkthrough page renders in Chromium with its charts, and a screenshot is taken (for the README on
request: ATTNREC_SCREENSHOTS, see conftest)."""
from pathlib import Path

CHART = "[data-testid='stPlotlyChart'] .js-plotly-plot"


def test_walkthrough_renders_with_its_charts(page, open_page, screenshots):
    open_page(page, "Walkthrough")
    page.wait_for_selector(CHART)
    page.wait_for_function(f"document.querySelectorAll(\"{CHART}\").length >= 4")
    page.wait_for_selector("[data-testid='stMetricValue']")
    assert page.get_by_text("Walkthrough: how the score S is built").is_visible()
    assert page.locator("[data-testid='stMetricValue']").first.inner_text().strip() == "0.0292389"
    # Every chart drew its traces (an SVG layer per chart), and no Streamlit exception box appeared.
    assert page.locator(f"{CHART} .main-svg").count() >= 4
    assert page.locator("[data-testid='stException']").count() == 0
    save_full_page(page, screenshots / "walkthrough.png")
    assert (screenshots / "walkthrough.png").stat().st_size > 10_000


def save_full_page(page, path: Path) -> None:
    """Streamlit scrolls inside its main element, so grow the window to that element's height first."""
    height = page.evaluate("document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size({"width": 1280, "height": max(800, int(height))})
    page.wait_for_timeout(1000)  # charts re-layout to the new size before the picture
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_clicking_a_heatmap_cell_follows_that_dimension(page, open_page):
    open_page(page, "Walkthrough")
    heatmap = page.locator(CHART).first
    heatmap.wait_for()
    heatmap.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    # The invisible square marker over the cell "head 1, dim 3" (the third of three cells).
    box = heatmap.locator(".scatterlayer .point").nth(2).bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)
    assert "head 1, dim 3" in heatmap.locator(".hoverlayer").text_content()
    page.mouse.click(*centre)
    story = page.locator("[data-testid='stMarkdownContainer']", has_text="head 1, dim 3: A_U")
    story.wait_for()
    assert "contribution" in story.inner_text() and "0.8385" in story.inner_text()

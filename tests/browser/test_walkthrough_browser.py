"""The Walkthrough in Chromium: it renders with its charts (its screenshot goes to a temporary
folder); a link with the example in its query string reopens it with the same
numbers; a clicked heatmap cell shows its arithmetic; an edit lists what it moved; step mode goes next and
previous; a figure downloads as SVG from its toolbar."""

from urllib.parse import urlencode

import numpy as np
import pytest
from browser_helpers import save_full_page, url_params, wait_until_idle

from attnrec.walkthrough_math import cell_arithmetic, walk_values
from attnrec.walkthrough_state import WalkthroughState, encode
from attnrec.worked_example import ExampleInputs

CHART = ".js-plotly-plot"  # every Plotly chart: st.plotly_chart's and attnrec's in-place ones


def metric_s(page) -> str:
    return page.locator("[data-testid='stMetricValue']").first.inner_text().strip()


def shared_example() -> WalkthroughState:
    """An untied two-head example on 4 dimensions with τ = 0.5: nothing like the default."""
    inputs = ExampleInputs.document().resized(4, 2)
    w_v = inputs.w_v.copy()
    w_v[1, 0, 3] = 4.25
    return WalkthroughState(inputs.replace(x=np.array([0.9, -0.2, 0.35, 1.5]), w_v=w_v), 0.5, False)


def test_walkthrough_renders_with_its_charts(page, open_page, screenshots):
    open_page(page, "Walkthrough")
    page.wait_for_selector(CHART)
    page.wait_for_function(f'document.querySelectorAll("{CHART}").length >= 4')
    page.wait_for_selector("[data-testid='stMetricValue']")
    assert page.get_by_text("Walkthrough: how the score S is built").is_visible()
    assert metric_s(page) == "0.0292389"
    # Every chart drew its traces (an SVG layer per chart), and no Streamlit exception box appeared.
    assert page.locator(f"{CHART} .main-svg").count() >= 4
    assert page.locator("[data-testid='stException']").count() == 0
    # The page wrote its example into the URL.
    page.wait_for_function("new URLSearchParams(location.search).get('wu') === '1,2,3;4,5,6;7,8,9'")
    save_full_page(page, screenshots / "walkthrough.png")
    assert (screenshots / "walkthrough.png").stat().st_size > 10_000


def test_a_link_with_the_example_in_its_query_string_reopens_it(page, app_url):
    state = shared_example()
    params = {k: v for k, v in encode(state).items() if v is not None}
    expected = walk_values(state.inputs, state.tied, state.tau)
    page.goto(f"{app_url}/walkthrough?{urlencode(params)}")
    page.get_by_text("Walkthrough: how the score S is built").wait_for()
    page.wait_for_selector("[data-testid='stMetricValue']")
    wait_until_idle(page)
    assert metric_s(page) == f"{expected['s']:.6g}"
    assert page.locator("[data-testid='stAlertContentWarning']").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0
    # The controls show the link's d, H and τ, and the URL still holds the same example.
    numbers = page.locator("[data-testid='stNumberInputField']")
    assert [numbers.nth(k).input_value() for k in range(3)] == ["4", "2", "0.50"]
    shown = url_params(page)
    assert {k: shown[k] for k in params} == params
    # The followed cell's arithmetic (head 1, dim 1) carries the same numbers as an independent run.
    logit_line = cell_arithmetic(state.inputs, False, 0.5, 0, 0)[1].text
    code = page.locator("[data-testid='stCode']").first
    assert logit_line in code.inner_text()


def test_the_largest_example_opens_from_its_packed_link(page, app_url):
    """d = 40, H = 8, untied: too long to read (~160,000 characters), so x, y and the weights travel in `z`."""
    state = WalkthroughState(ExampleInputs.document().resized(40, 8), 0.5, False)
    params = {k: v for k, v in encode(state).items() if v is not None}
    assert "z" in params
    expected = walk_values(state.inputs, state.tied, state.tau)
    page.goto(f"{app_url}/walkthrough?{urlencode(params)}")
    page.wait_for_selector("[data-testid='stMetricValue']", timeout=120_000)
    wait_until_idle(page)
    assert metric_s(page) == f"{expected['s']:.6g}"
    assert page.locator("[data-testid='stAlertContentWarning']").count() == 0
    numbers = page.locator("[data-testid='stNumberInputField']")
    assert [numbers.nth(k).input_value() for k in range(3)] == ["40", "8", "0.50"]
    assert url_params(page)["z"] == params["z"]


def test_a_bad_link_warns_and_shows_the_documents_example(page, app_url):
    params = {k: v for k, v in encode(WalkthroughState.document()).items() if v is not None} | {"x": "1,2,nan"}
    page.goto(f"{app_url}/walkthrough?{urlencode(params)}")
    warning = page.locator("[data-testid='stAlertContentWarning']").first
    warning.wait_for()
    assert "x (user X), entry 3: 'nan' is not a finite number" in warning.inner_text()
    page.wait_for_selector("[data-testid='stMetricValue']")
    assert metric_s(page) == "0.0292389"
    page.wait_for_function("new URLSearchParams(location.search).get('x') === '0.5,0.7,0.3'")


def test_clicking_a_heatmap_cell_shows_its_arithmetic(page, open_page):
    open_page(page, "Walkthrough")
    heatmap = page.locator(CHART).first
    heatmap.wait_for()
    heatmap.scroll_into_view_if_needed()
    # The invisible square marker over the cell "head 1, dim 3" (the third of three cells).
    marker = heatmap.locator(".scatterlayer .point").nth(2)
    marker.wait_for()
    box = marker.bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)
    page.wait_for_function(f"document.querySelector(\"{CHART} .hoverlayer\").textContent.includes('head 1, dim 3')")
    page.mouse.click(*centre)
    code = page.locator("[data-testid='stCode']", has_text="A_U[dim 3]")
    code.wait_for()
    lines = code.inner_text()
    assert "A_U[dim 3] = e^ℓ_U,i / Σ_j e^ℓ_U,j = e^4.68 / (e^1.08 + e^2.88 + e^4.68)" in lines
    assert "= 0.8385" in lines and "c[dim 3] = Z_U·Z_V = 0.08385·0.2515 = 0.02109" in lines
    page.wait_for_function("new URLSearchParams(location.search).get('cell') === '1,3'")  # the link follows it too


def test_an_edit_lists_what_it_moved(page, open_page):
    open_page(page, "Walkthrough")
    page.wait_for_selector("[data-testid='stMetricValue']")
    wait_until_idle(page)
    tau = page.get_by_label("temperature τ")
    tau.fill("0.5")
    tau.press("Enter")
    page.wait_for_function("new URLSearchParams(location.search).get('tau') === '0.5'")
    wait_until_idle(page)
    before = walk_values(ExampleInputs.document(), True, 1.0)
    after = walk_values(ExampleInputs.document(), True, 0.5)
    caption = page.get_by_text("numbers moved (inputs first")
    caption.wait_for()
    # τ, then ℓ_U, ℓ_V, A_U, A_V, Z_U, Z_V and c on 3 dimensions each, then S: 23 numbers.
    assert caption.inner_text().startswith("23 numbers moved")
    assert metric_s(page) == f"{after['s']:.6g}"
    delta = page.locator("[data-testid='stMetricDelta']").first.inner_text().strip()
    assert float(delta) == pytest.approx(after["s"] - before["s"], rel=1e-3)


def test_step_mode_goes_next_and_previous(page, open_page, screenshots):
    open_page(page, "Walkthrough")
    page.wait_for_selector("[data-testid='stMetricValue']")
    wait_until_idle(page)
    page.get_by_text("Step-by-step mode").click()
    first = page.get_by_role("heading", name="1. The element-wise product X ⊙ Y")
    first.wait_for()
    page.get_by_text("Step 1 of 5").wait_for()
    page.get_by_role("button", name="Next ▶").click()
    page.get_by_role("heading", name="2. Logits: each side's weights applied to X ⊙ Y").wait_for()
    page.wait_for_function("new URLSearchParams(location.search).get('step') === '2'")
    first.wait_for(state="detached")  # one step on screen at a time
    # Step 2 shows the followed cell's logits as formulas (KaTeX) in large type.
    page.wait_for_function(
        "[...document.querySelectorAll('.katex-mathml annotation')].some("
        "a => a.textContent.includes('1 \\\\cdot 0.15 + 2 \\\\cdot 0.42 + 3 \\\\cdot 0.03'))"
    )
    wait_until_idle(page)
    page.screenshot(path=str(screenshots / "walkthrough_steps.png"))
    page.get_by_role("button", name="◀ Previous").click()
    first.wait_for()
    page.wait_for_function("new URLSearchParams(location.search).get('step') === '1'")
    assert page.get_by_role("button", name="◀ Previous").is_disabled()


def test_a_figure_downloads_as_svg_from_its_toolbar(page, open_page, tmp_path):
    open_page(page, "Walkthrough")
    page.wait_for_function(f'document.querySelectorAll("{CHART}").length >= 4')
    wait_until_idle(page)
    page.get_by_role("combobox", name="Figures download as").click()
    page.get_by_role("option", name="SVG").click()
    # The charts are redrawn with the new toolbar: Plotly titles its camera button "Download plot" for SVG
    # ("Download plot as a png" for PNG), so wait for that on the waterfall (the fourth chart).
    svg_button = ".modebar-btn[data-title='Download plot']"
    page.wait_for_function(
        f'(() => {{ const c = document.querySelectorAll("{CHART}")[3];'
        f' return c && c.querySelector("{svg_button}"); }})()'
    )
    wait_until_idle(page)
    waterfall = page.locator(CHART).nth(3)
    waterfall.scroll_into_view_if_needed()
    waterfall.hover()
    button = waterfall.locator(svg_button)
    button.wait_for()
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "walkthrough-waterfall.svg"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_text(encoding="utf-8").lstrip().startswith("<svg")

"""AppTest of the Walkthrough page: edits change every number and chart to an independent reference."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from attnrec.walkthrough_math import GLOSSARY
from attnrec.walkthrough_state import URL_KEYS, WalkthroughState, encode
from attnrec.worked_example import ExampleInputs
from plotly_json import decode_array as decode
from test_worked_example import check_texts

DOC_X, DOC_Y = [0.5, 0.7, 0.3], [0.3, 0.6, 0.1]
DOC_W = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
APP = str(Path(__file__).resolve().parents[1] / "app.py")
GENERATION = 1  # the page's first run loads the document's example as generation 1


def reference(x, y, w_u, w_v, tau=1.0):
    """The issue's formulas in numpy, per head: w (H, d, d)."""
    x, y, w_u, w_v = (np.asarray(a, dtype=float) for a in (x, y, w_u, w_v))
    out = {k: [] for k in ("a_u", "a_v", "z_u", "z_v")}
    for h in range(w_u.shape[0]):
        for side, w, other in (("u", w_u[h], y), ("v", w_v[h], x)):
            logits = w @ (x * y) / tau
            a = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
            out[f"a_{side}"].append(a)
            out[f"z_{side}"].append(a * other)
    out = {k: np.array(v) for k, v in out.items()}
    out["c"] = out["z_u"] * out["z_v"]
    out["s"] = float(out["c"].sum())
    return out


def charts(at):
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def traces(at, kind):
    return [t for spec in charts(at) for t in spec["data"] if t["type"] == kind]


def table(at, first_row: str):
    """The step table whose first row is labelled `first_row` (e.g. "A_U", "c")."""
    for frame in at.dataframe:
        if len(frame.value.index) and frame.value.index[0] == first_row:
            return frame.value
    raise AssertionError(f"no table starting with row {first_row!r}")


def edit(at, key, rows):
    at.session_state[key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    return at.run()


def assert_page_shows(at, ref):
    assert not at.exception
    heads = ref["a_u"].shape[0]
    a_u = table(at, "A_U" if heads == 1 else "A_U, head 1").to_numpy()
    np.testing.assert_allclose(a_u[:heads], ref["a_u"], atol=1e-9)
    np.testing.assert_allclose(a_u[heads:], ref["a_v"], atol=1e-9)
    z = table(at, "Z_U" if heads == 1 else "Z_U, head 1").to_numpy()
    np.testing.assert_allclose(z, np.concatenate([ref["z_u"], ref["z_v"]]), atol=1e-9)
    np.testing.assert_allclose(table(at, "c" if heads == 1 else "c, head 1").to_numpy(), ref["c"], atol=1e-9)
    assert float(at.metric[0].value) == pytest.approx(ref["s"], rel=1e-5)
    # Figure data: heatmaps A_U then A_V, bars Z_U/Z_V per head, the waterfall ending at S.
    heat_u, heat_v = traces(at, "heatmap")
    np.testing.assert_allclose(decode(heat_u["z"]), ref["a_u"], atol=1e-12)
    np.testing.assert_allclose(decode(heat_v["z"]), ref["a_v"], atol=1e-12)
    bars = {(b["name"], i // 2): decode(b["y"]) for i, b in enumerate(traces(at, "bar"))}
    for h in range(heads):
        np.testing.assert_allclose(bars[("Z_U", h)], ref["z_u"][h], atol=1e-12)
        np.testing.assert_allclose(bars[("Z_V", h)], ref["z_v"][h], atol=1e-12)
    (fall,) = traces(at, "waterfall")
    steps = decode(fall["y"])
    assert fall["x"][-1] == "S" and steps[-1] == pytest.approx(ref["s"], abs=1e-12)
    assert steps[:-1].sum() == pytest.approx(ref["s"], abs=1e-12)


@pytest.fixture
def at():
    # Through the real navigation: the app's landing page first, then the Walkthrough.
    app = AppTest.from_file(APP, default_timeout=60).run()
    return app.switch_page("app_pages/walkthrough.py").run()


def test_opens_on_the_documents_example(at):
    assert at.title[0].value.startswith("Walkthrough")
    assert_page_shows(at, reference(DOC_X, DOC_Y, [DOC_W], [DOC_W]))
    assert float(at.metric[0].value) == pytest.approx(0.0292389, abs=1e-6)
    assert any("Tied mode" in box.value for box in at.info)
    comparison = at.table[0].value
    assert comparison.loc["S", "the document says"] == "[0.6]"
    assert "X·Y" in comparison.loc["S", "what the document likely did"]
    assert len(at.latex) == 5  # one formula block per step


def test_editing_x_and_y_updates_numbers_and_figures(at):
    at = edit(at, f"walkthrough_xy_3_{GENERATION}", {0: {"X": "0.9"}, 2: {"Y": "-1.5"}})
    np.testing.assert_allclose(table(at, "X").to_numpy()[2], [0.9 * 0.3, 0.7 * 0.6, 0.3 * -1.5])
    assert_page_shows(at, reference([0.9, 0.7, 0.3], [0.3, 0.6, -1.5], [DOC_W], [DOC_W]))


def test_editing_w_a_updates_numbers_and_figures(at):
    at = edit(at, f"walkthrough_w_u_3_0_{GENERATION}", {1: {"dim 2": "-3"}, 2: {"dim 1": "0.25"}})
    w = np.array(DOC_W)
    w[1, 1], w[2, 0] = -3, 0.25
    assert_page_shows(at, reference(DOC_X, DOC_Y, [w], [w]))


@pytest.mark.parametrize(
    "bad, message",
    [
        ("abc", "'abc' is not a number"),
        (None, "is empty"),
        ("", "is empty"),
        ("nan", "not a finite number"),
        ("-inf", "not a finite number"),
    ],
)
def test_bad_entry_shows_a_message_and_keeps_the_last_good_state(at, bad, message):
    key = f"walkthrough_xy_3_{GENERATION}"
    at = edit(at, key, {0: {"X": "0.9"}})
    good = reference([0.9, 0.7, 0.3], DOC_Y, [DOC_W], [DOC_W])
    assert_page_shows(at, good)
    at = edit(at, key, {0: {"X": "0.9"}, 1: {"Y": bad}})
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and message in errors[0] and "row 'dim 2', column 'Y'" in errors[0]
    assert_page_shows(at, good)
    # Fixing the cell brings everything back to life.
    at = edit(at, key, {0: {"X": "0.9"}, 1: {"Y": "0.2"}})
    assert not at.error
    assert_page_shows(at, reference([0.9, 0.7, 0.3], [0.3, 0.2, 0.1], [DOC_W], [DOC_W]))


def test_untied_heads_and_temperature(at):
    at.toggle(key="walkthrough_tied").set_value(False).run()
    at.number_input(key="walkthrough_heads").set_value(2).run()
    at.number_input(key="walkthrough_tau").set_value(0.5).run()
    assert not any("Tied mode" in box.value for box in at.info)
    # W_V starts as the current W_U; give head 2's W_V an edit of our own, then check against the reference.
    at.radio(key=f"walkthrough_edit_head_{GENERATION}").set_value(1).run()
    at = edit(at, f"walkthrough_w_v_3_1_{GENERATION}", {0: {"dim 3": "4"}})
    inputs = at.session_state["walkthrough_inputs"]
    assert inputs.w_v[1, 0, 2] == 4 and inputs.heads == 2
    np.testing.assert_array_equal(inputs.w_u[0], DOC_W)
    np.testing.assert_array_equal(inputs.w_v[0], DOC_W)
    ref = reference(inputs.x, inputs.y, inputs.w_u, inputs.w_v, tau=0.5)
    assert not np.allclose(ref["a_u"], ref["a_v"])
    assert_page_shows(at, ref)


def test_untie_starts_from_the_edited_w_u_so_s_does_not_jump(at):
    """The issue's bug: untying used the transpose of the *original* W, discarding the edits."""
    at = edit(at, f"walkthrough_w_u_3_0_{GENERATION}", {0: {"dim 1": "-3"}, 2: {"dim 3": "0.5"}})
    edited = np.array(DOC_W)
    edited[0, 0], edited[2, 2] = -3, 0.5
    tied_ref = reference(DOC_X, DOC_Y, [edited], [edited])
    assert_page_shows(at, tied_ref)
    at.toggle(key="walkthrough_tied").set_value(False).run()
    inputs = at.session_state["walkthrough_inputs"]
    np.testing.assert_array_equal(inputs.w_v[0], edited)
    assert_page_shows(at, tied_ref)  # the same S: nothing was edited by untying


def test_d_grows_and_shrinks(at):
    at.number_input(key="walkthrough_d").set_value(5).run()
    inputs = at.session_state["walkthrough_inputs"]
    assert inputs.x.shape == (5,) and inputs.w_u.shape == (1, 5, 5)
    np.testing.assert_array_equal(inputs.w_u[0, :3, :3], DOC_W)  # the old entries survive
    assert list(table(at, "A_U").columns) == [f"dim {i}" for i in range(1, 6)]
    assert_page_shows(at, reference(inputs.x, inputs.y, inputs.w_u, inputs.w_u))
    at.number_input(key="walkthrough_d").set_value(2).run()
    assert_page_shows(at, reference(DOC_X[:2], DOC_Y[:2], [np.array(DOC_W)[:2, :2]], [np.array(DOC_W)[:2, :2]]))


def test_reset_restores_the_example_and_forgets_edits(at):
    at = edit(at, f"walkthrough_xy_3_{GENERATION}", {0: {"X": "5"}})
    at.number_input(key="walkthrough_heads").set_value(3).run()
    at.button[0].click().run()
    assert at.number_input(key="walkthrough_heads").value == 1
    assert_page_shows(at, reference(DOC_X, DOC_Y, [DOC_W], [DOC_W]))


# ---- the example in the URL ------------------------------------------------------------------------

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "walkthrough.py")
STATE = "walkthrough_inputs"
DOC_PARAMS = {
    "wt": "1",
    "d": "3",
    "h": "1",
    "tau": "1",
    "tied": "1",
    "x": "0.5,0.7,0.3",
    "y": "0.3,0.6,0.1",
    "wu": "1,2,3;4,5,6;7,8,9",
}


def url(at, key):
    value = at.query_params[key]
    return value[-1] if isinstance(value, list) else value


def walkthrough_params(at) -> dict[str, str]:
    return {k: url(at, k) for k in URL_KEYS + ("step", "cell") if k in at.query_params}


def open_link(params: dict[str, str], route: str) -> AppTest:
    """A fresh session opening a link: the page on its own, or the app navigated to the Walkthrough."""
    if route == "page":
        fresh = AppTest.from_file(PAGE, default_timeout=60)
        fresh.query_params.update(params)
        return fresh.run()
    fresh = AppTest.from_file(APP, default_timeout=60).run()
    fresh.query_params.update(params)
    return fresh.switch_page("app_pages/walkthrough.py").run()


def test_the_url_holds_the_documents_example(at):
    assert walkthrough_params(at) == DOC_PARAMS


@pytest.mark.parametrize("route", ["page", "app"])
def test_a_copied_link_reopens_the_same_inputs_and_s_in_a_fresh_session(at, route):
    at.toggle(key="walkthrough_tied").set_value(False).run()
    at.number_input(key="walkthrough_heads").set_value(2).run()
    at.number_input(key="walkthrough_tau").set_value(0.37).run()
    at = edit(at, f"walkthrough_xy_3_{GENERATION}", {0: {"X": "0.30000000000000004"}, 2: {"Y": "-1e-7"}})
    at.radio(key=f"walkthrough_edit_head_{GENERATION}").set_value(1).run()
    at = edit(at, f"walkthrough_w_v_3_1_{GENERATION}", {0: {"dim 3": "4.25"}})
    assert not at.exception
    shown = at.session_state[STATE]
    params = walkthrough_params(at)
    assert (params["tied"], params["h"], params["tau"], params["d"]) == ("0", "2", "0.37", "3")
    assert params["x"].startswith("0.30000000000000004,") and params["y"].endswith(",-1e-07")
    fresh = open_link(params, route)
    assert not fresh.exception and not fresh.warning
    got = fresh.session_state[STATE]
    for field in ("x", "y", "w_u", "w_v"):
        np.testing.assert_array_equal(getattr(got, field), getattr(shown, field), err_msg=field)
    for key in ("walkthrough_d", "walkthrough_heads", "walkthrough_tau"):
        assert fresh.number_input(key=key).value == at.number_input(key=key).value
    assert fresh.toggle(key="walkthrough_tied").value is False
    assert fresh.metric[0].value == at.metric[0].value
    assert_page_shows(fresh, reference(shown.x, shown.y, shown.w_u, shown.w_v, tau=0.37))
    assert walkthrough_params(fresh) == params  # and it writes the same link back


@pytest.mark.parametrize(
    "change, message",
    [
        ({"wu": "1,2,3;4,x,6;7,8,9"}, "wu (W_U), head 1, row 2, column 2: 'x' is not a number"),
        ({"x": "0.9,0.7,0.3", "y": "0.3,0.6,1e9"}, "too large"),  # a good x must not be half-applied
        ({"x": ",".join(["1"] * 41), "d": "41"}, "at most d = 40"),
        ({"wt": "7"}, "format version"),
        ({"tau": "0"}, "outside 0.01 … 100"),
        ({"y": "[link](http://evil.example),0.6,0.1"}, "y (item Y), entry 1: '[link](http://evil.example)' is not"),
    ],
)
def test_a_bad_link_warns_and_shows_the_documents_example(change, message):
    fresh = open_link(DOC_PARAMS | change, "page")
    assert not fresh.exception
    (warning,) = [w.value for w in fresh.warning]
    plain = warning.replace("\\", "").replace("\u200b", "")  # the link's text is shown escaped (no Markdown)
    assert "cannot be used" in plain and message in plain and "document's example" in plain
    if "evil" in str(change):
        assert "\\[link\\]\\(http" in warning
    assert_page_shows(fresh, reference(DOC_X, DOC_Y, [DOC_W], [DOC_W]))
    assert walkthrough_params(fresh) == DOC_PARAMS  # the URL now names what is shown
    fresh.run()
    assert not fresh.warning  # said once


def test_a_link_to_a_step_opens_step_mode_there_and_a_bad_step_warns():
    fresh = open_link(DOC_PARAMS | {"step": "4"}, "page")
    assert fresh.toggle(key="walkthrough_step_mode").value is True
    assert fresh.title[1].value.startswith("4. Attended vectors")
    bad = open_link(DOC_PARAMS | {"step": "9"}, "page")
    assert "step “9”" in bad.warning[0].value and bad.toggle(key="walkthrough_step_mode").value is False
    assert "step" not in bad.query_params


# ---- one cell's arithmetic, what an edit moved -------------------------------------------------------


def test_follow_a_cell_shows_its_arithmetic_with_the_numbers(at):
    (code,) = at.code
    assert "ℓ_U[dim 1] = Σ_j W_U[dim 1, j]·(X ⊙ Y)_j / τ = (1·0.15 + 2·0.42 + 3·0.03) / 1 = 1.08" in code.value
    at.toggle(key="walkthrough_tied").set_value(False).run()
    at.number_input(key="walkthrough_heads").set_value(2).run()
    at.number_input(key="walkthrough_tau").set_value(0.5).run()
    at.selectbox(key="walkthrough_cell_head").set_value(1).run()
    at.selectbox(key="walkthrough_cell_dim").set_value(2).run()
    inputs = at.session_state[STATE]
    assert not np.array_equal(inputs.w_u, inputs.w_v)
    text = at.code[0].value
    assert text.splitlines()[1].startswith("ℓ_U[head 2, dim 3]")
    check_texts(text.splitlines(), inputs, False, 0.5, 1, 2)
    # Shrinking the example past the chosen cell falls back to the first cell instead of failing.
    at.number_input(key="walkthrough_heads").set_value(1).run()
    assert not at.exception and at.code[0].value.splitlines()[1].startswith("ℓ_U[dim 3]")


def changes_table(at):
    for frame in at.dataframe:
        if list(frame.value.columns) == ["quantity", "where", "before", "after", "Δ"]:
            return frame.value
    return None


def test_an_edit_lists_every_number_it_moved_with_before_after_and_delta(at):
    assert changes_table(at) is None and at.metric[0].proto.delta == ""
    at = edit(at, f"walkthrough_xy_3_{GENERATION}", {0: {"X": "0.9"}})
    old = reference(DOC_X, DOC_Y, [DOC_W], [DOC_W])
    new = reference([0.9, 0.7, 0.3], DOC_Y, [DOC_W], [DOC_W])
    table = changes_table(at)
    rows = {(r.quantity, r.where): r for r in table.itertuples()}
    assert (rows[("X", "dim 1")].before, rows[("X", "dim 1")].after) == (0.5, 0.9)
    for quantity, key in (("A_U", "a_u"), ("A_V", "a_v"), ("Z_U", "z_u"), ("Z_V", "z_v"), ("c", "c")):
        for i in range(3):
            row = rows[(quantity, f"dim {i + 1}")]
            assert row.before == pytest.approx(old[key][0, i], abs=1e-12)
            assert row.after == pytest.approx(new[key][0, i], abs=1e-12)
            assert row.Δ == pytest.approx(new[key][0, i] - old[key][0, i], abs=1e-12)
    assert rows[("S", "")].Δ == pytest.approx(new["s"] - old["s"], abs=1e-12)
    assert at.metric[0].proto.delta == f"{new['s'] - old['s']:+.4g}"
    # A rerun without an edit (choosing a cell) keeps showing the last edit.
    at.selectbox(key="walkthrough_cell_dim").set_value(1).run()
    assert changes_table(at).equals(table)
    # The next edit is compared with the state after the first one.
    at = edit(at, f"walkthrough_xy_3_{GENERATION}", {0: {"X": "0.9"}, 1: {"Y": "0.2"}})
    table = changes_table(at)
    assert table.loc[table.quantity.isin(["X", "Y"]), "where"].tolist() == ["dim 2"]
    assert table.loc[table.quantity == "Y", "before"].item() == 0.6


def test_changing_d_says_the_numbers_cannot_be_paired(at):
    at.number_input(key="walkthrough_d").set_value(4).run()
    assert any("d = 3, H = 1 to d = 4, H = 1" in box.value for box in at.info)


# ---- step-by-step mode, glossary, downloads ----------------------------------------------------------


def test_step_mode_shows_one_step_at_a_time_with_next_and_previous(at):
    at.toggle(key="walkthrough_step_mode").set_value(True).run()
    assert not at.exception
    seen = []
    for number in range(1, 6):
        heading = at.title[1].value
        assert heading.startswith(f"{number}. ") and len(at.title) == 2  # only this step's heading
        assert at.get("progress")[0].proto.text == f"Step {number} of 5"
        seen.append(heading)
        assert url(at, "step") == str(number)
        if number < 5:
            at.button(key="walkthrough_next").click().run()
    assert at.button(key="walkthrough_next").disabled
    assert len(at.get("plotly_chart")) == 1 and at.metric[0].value == "0.0292389"  # the waterfall, S
    at.button(key="walkthrough_previous").click().run()
    assert at.title[1].value == seen[3] and len(at.get("plotly_chart")) == 1  # Z bars
    at.button(key="walkthrough_previous").click().run()
    assert at.title[1].value == seen[2] and len(at.get("plotly_chart")) == 2  # the two heatmaps
    # Step 3's own arithmetic in large type: the formula, then A_U and A_V of the chosen cell.
    blocks = [block.value.strip("$\n") for block in list(at.latex)[1:]]
    assert [block.split(" = ")[0] for block in blocks] == [r"A_{U,\text{dim 1}}", r"A_{V,\text{dim 1}}"]
    assert blocks[0].endswith("= 0.02291")
    at.toggle(key="walkthrough_step_mode").set_value(False).run()
    assert "step" not in at.query_params and len(at.latex) == 5


def test_glossary_lists_every_symbol(at):
    glossary = next(e for e in at.expander if e.label == "Glossary of the symbols")
    text = "\n".join(m.value for m in glossary.markdown)
    for symbol in ("X", "Y", "W_U", "W_V", "τ", "A_U", "A_V", "Z_U", "Z_V", "S", "H", "d"):
        assert f"`{symbol}`" in text or f"{symbol}," in text, symbol
    assert len(text.splitlines()) == len(GLOSSARY)


def test_every_figure_downloads_as_png_or_svg(at):
    configs = [json.loads(chart.proto.config) for chart in at.get("plotly_chart")]
    names = [c["toImageButtonOptions"]["filename"] for c in configs]
    assert names == ["walkthrough-heat_u", "walkthrough-heat_v", "walkthrough-z_bars", "walkthrough-waterfall"]
    assert all(c["toImageButtonOptions"]["format"] == "png" and c["displayModeBar"] for c in configs)
    at.selectbox(key="walkthrough_figure_format").set_value("svg").run()
    configs = [json.loads(chart.proto.config) for chart in at.get("plotly_chart")]
    assert [c["toImageButtonOptions"]["format"] for c in configs] == ["svg"] * 4


def shaded(at, first_row: str) -> set[tuple[str, str]]:
    """(row, column) of the shaded cells of the step table whose first row is `first_row`."""
    for frame in at.dataframe:
        value = frame.value
        if len(value.index) and value.index[0] == first_row:
            styles = frame.proto.arrow_data.styler.styles
            cells = {(int(r), int(c)) for r, c in re.findall(r"_row(\d+)_col(\d+)", styles)}
            return {(value.index[r], value.columns[c]) for r, c in cells}
    raise AssertionError(f"no table starting with row {first_row!r}")


def test_cells_an_edit_moved_are_shaded_in_the_step_tables(at):
    assert shaded(at, "X") == set() and shaded(at, "A_U") == set()
    at = edit(at, f"walkthrough_xy_3_{GENERATION}", {1: {"Y": "0.2"}})
    assert shaded(at, "X") == {("Y", "dim 2"), ("X ⊙ Y", "dim 2")}
    assert shaded(at, "ℓ_U") == {(row, f"dim {i}") for row in ("ℓ_U", "ℓ_V") for i in (1, 2, 3)}
    # Z_U = A_U ⊙ Y moves everywhere; the numbers in the tables are still the exact values.
    assert shaded(at, "Z_U") == {(row, f"dim {i}") for row in ("Z_U", "Z_V") for i in (1, 2, 3)}
    assert_page_shows(at, reference(DOC_X, [0.3, 0.2, 0.1], [DOC_W], [DOC_W]))
    assert any("Shaded cells moved" in c.value for c in at.caption)


def test_the_largest_example_travels_packed_and_reopens_identically():
    state = WalkthroughState(ExampleInputs.document().resized(40, 8), 0.5, False)
    params = {k: v for k, v in encode(state).items() if v is not None}
    assert "z" in params and "wu" not in params
    fresh = open_link(params, "page")
    assert not fresh.exception and not fresh.warning
    got = fresh.session_state[STATE]
    for field in ("x", "y", "w_u", "w_v"):
        np.testing.assert_array_equal(getattr(got, field), getattr(state.inputs, field), err_msg=field)
    assert fresh.number_input(key="walkthrough_d").value == 40
    assert fresh.number_input(key="walkthrough_heads").value == 8
    assert float(fresh.metric[0].value) == pytest.approx(
        reference(state.inputs.x, state.inputs.y, state.inputs.w_u, state.inputs.w_v, tau=0.5)["s"], rel=1e-5
    )
    assert walkthrough_params(fresh) == params


def test_the_followed_cell_is_in_the_link_too(at):
    at.number_input(key="walkthrough_heads").set_value(2).run()
    at.selectbox(key="walkthrough_cell_head").set_value(1).run()
    at.selectbox(key="walkthrough_cell_dim").set_value(2).run()
    params = walkthrough_params(at)
    assert params["cell"] == "2,3"
    fresh = open_link(params, "page")
    assert not fresh.warning
    assert (fresh.selectbox(key="walkthrough_cell_head").value, fresh.selectbox(key="walkthrough_cell_dim").value) == (
        1,
        2,
    )
    assert fresh.code[0].value == at.code[0].value
    at.selectbox(key="walkthrough_cell_head").set_value(0).run()
    at.selectbox(key="walkthrough_cell_dim").set_value(0).run()
    assert "cell" not in at.query_params  # the first cell is the default: not written
    bad = open_link(params | {"cell": "3,1"}, "page")
    assert "cell 3,1 is not in this example (heads 1–2, dimensions 1–3)" in bad.warning[0].value.replace("\\", "")
    assert bad.selectbox(key="walkthrough_cell_head").value == 0 and "cell" not in bad.query_params

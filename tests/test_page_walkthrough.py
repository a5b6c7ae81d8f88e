"""AppTest of the Walkthrough page: edits change every number and chart to an independent reference."""
import json

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from plotly_json import decode_array as decode

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
    fall, = traces(at, "waterfall")
    steps = decode(fall["y"])
    assert fall["x"][-1] == "S" and steps[-1] == pytest.approx(ref["s"], abs=1e-12)
    assert steps[:-1].sum() == pytest.approx(ref["s"], abs=1e-12)


@pytest.fixture
def at():
    # Through the real navigation: the app's landing page first, then the Walkthrough.
    app = AppTest.from_file(APP, default_timeout=60).run()
    return app.switch_page("pages/walkthrough.py").run()


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


@pytest.mark.parametrize("bad, message", [("abc", "'abc' is not a number"), (None, "is empty"),
                                          ("", "is empty"), ("nan", "not a finite number"),
                                          ("-inf", "not a finite number")])
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
    assert_page_shows(at, tied_ref)      # the same S: nothing was edited by untying


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

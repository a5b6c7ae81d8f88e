"""AppTest of the Explore page: every interaction changes the numbers and figures to an independent reference.

The model is a small real Recommender (real Featurizer, random weights) put into this session's model
registry, the way the Data page hands over a trained model.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from attention_reference import model_reference
from attnrec.app import plotly_view
from attnrec.device import available_devices
from plotly_json import chart_data, chart_specs, click_cell
from plotly_json import decode_array as decode
from row_picks import click_row, picker_data, picker_rows
from test_report import make_model, numpy_attention

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "explore.py")
NULL_SLOT_NOTE = "puts its whole weight on"  # Explore's note for a pair whose heads all pick the null slot


@pytest.fixture(scope="module")
def model():
    return make_model()


def open_page(model, **query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["user_datasets"] = {"tiny": model.dataset}
    at.session_state["user_models"] = {"tiny-latent": model}
    at.query_params["dataset"] = "tiny"
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def expected(model, user_id, item_id):
    """The pair by attnrec.attend on the model's own X and Y, and by an independent numpy reference."""
    with torch.no_grad():
        x = model.encode_user(model.user_rows(user_id))[0]
        y = model.encode_item(model.item_rows(item_id))[0]
        trace = model.attention(x, y)
    if model.variant.startswith("softmax (the design document's)"):
        ref = numpy_attention(
            x.numpy(),
            y.numpy(),
            model.w_u.detach().double().numpy(),
            model.w_v.detach().double().numpy(),
            model.temperature,
        )
    else:  # sparse normaliser, presence mask, null slot, taste block: the variant rebuilt in numpy
        ref = model_reference(model, x.numpy(), y.numpy())
    np.testing.assert_allclose(trace.a_u[0].numpy(), ref["a_u"], atol=1e-5)
    return trace, ref, x, y


def url(at, key):
    value = at.query_params[key]
    return value[-1] if isinstance(value, list) else value


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def shown_rank(at):
    """(value, delta) of the rank metric."""
    shown = next(m for m in at.metric if m.label == "Rank for this user")
    return shown.value, shown.delta or None


def expected_rank(rank, ties, n_items):
    """What the rank metric shows: "4 of 130", or a range of ranks with the count below it for a tied pair."""
    return (f"{rank}–{rank + ties}", f"of {n_items} · {ties + 1} tied") if ties else (f"{rank} of {n_items}", None)


def specs(at):
    return chart_specs(at)


def heatmaps(at):
    return [decode(t["z"]) for spec in specs(at) for t in spec["data"] if t["type"] == "heatmap"]


def show(at, view):
    at.radio(key="widget_explore_view").set_value(view).run()
    assert not at.exception, at.exception
    assert url(at, "view") == view


def assert_shows_pair(at, model, user_id, item_id):
    assert not at.exception, at.exception
    trace, ref, x, y = expected(model, user_id, item_id)
    assert float(metric(at, "S (score)")) == pytest.approx(ref["s"], abs=6e-5)
    # The "why" view: the exact H×d contributions (adding up to S), then A_U and A_V.
    contributions, heat_u, heat_v = heatmaps(at)[:3]
    ref_contributions = np.asarray(ref["z_u"]) * np.asarray(ref["z_v"])
    ref_a_u, ref_a_v = np.asarray(ref["a_u"]), np.asarray(ref["a_v"])
    if contributions.shape[1] < ref_contributions.shape[1]:
        # Wide models: attention units (a taste block summed into one column), the 12 with the largest
        # |Σ_h contribution| — plus the null slot when it is attended.
        units = model.attention_units()
        member = np.zeros((ref_contributions.shape[1], len(units)))
        for j, unit in enumerate(units):
            member[unit, j] = 1
        ref_contributions, ref_a_u, ref_a_v = ref_contributions @ member, ref_a_u @ member, ref_a_v @ member
        candidates = len(units) - (1 if model.null_slot else 0)
        c = np.abs(ref_contributions[:, :candidates].sum(axis=0))
        a = (ref_a_u + ref_a_v)[:, :candidates].mean(axis=0) / 2
        product = (np.abs(x.numpy() * y.numpy()) @ member)[:candidates]
        shown = sorted(range(candidates), key=lambda j: (-c[j], -a[j], -product[j], j))[:12]
        if model.null_slot and ref_a_u[:, -1].max() + ref_a_v[:, -1].max() > 0:
            shown.append(len(units) - 1)
        shown = np.sort(shown)
        assert contributions.shape[1] == len(shown)
    else:
        shown = np.arange(ref_contributions.shape[1])
        assert contributions.sum() == pytest.approx(ref["s"], abs=1e-5)
    np.testing.assert_allclose(contributions, ref_contributions[:, shown], atol=1e-6)
    np.testing.assert_allclose(heat_u, ref_a_u[:, shown], atol=1e-5)
    np.testing.assert_allclose(heat_v, ref_a_v[:, shown], atol=1e-5)
    with torch.no_grad():
        x_user = model.encode_user(model.user_rows(user_id))[0].numpy()
        items = model.encode_item(model.item_rows(list(model.item_ids))).numpy()
    scores = [model_reference(model, x_user, y_item)["s"] for y_item in items]
    rank = 1 + sum(s > ref["s"] + 1e-6 for s in scores)
    ties = sum(abs(s - ref["s"]) <= 1e-6 for s in scores) - 1  # items scoring the same share its ranks
    assert shown_rank(at) == expected_rank(rank, ties, len(model.item_ids))
    assert url(at, "user") == user_id and url(at, "item") == item_id
    # The Z breakdown section: Z_U / Z_V bars per head and a waterfall ending exactly at S.
    show(at, "breakdown")
    bars = [t for spec in specs(at) for t in spec["data"] if t["type"] == "bar"]
    np.testing.assert_allclose(decode(bars[0]["y"]), ref["z_u"][0], atol=1e-6)
    np.testing.assert_allclose(decode(bars[1]["y"]), ref["z_v"][0], atol=1e-6)
    waterfall = next(t for spec in specs(at) for t in spec["data"] if t["type"] == "waterfall")
    assert decode(waterfall["y"])[-1] == pytest.approx(ref["s"], abs=1e-6)
    show(at, "attention")


def test_default_pair_is_a_positive_and_matches_the_reference(model):
    at = open_page(model)
    first = model.dataset.positives.iloc[0]
    assert_shows_pair(at, model, first["user_id"], first["item_id"])
    p = 1 / (1 + np.exp(-(1.7 * float(metric(at, "S (score)")) - 0.3)))
    assert float(metric(at, "P(like)")) == pytest.approx(p, abs=2e-3)
    assert url(at, "method") == "ig" and not at.warning


def test_selecting_rows_in_the_user_and_item_tables(model):
    at = open_page(model)
    users, items = picker_rows(at, "explore_user_rows"), picker_rows(at, "explore_item_rows")
    assert list(users.index) == list(model.dataset.users.index) and list(items.index) == list(model.dataset.items.index)
    click_row(at, "explore_user_rows", users.index[4])
    click_row(at, "explore_item_rows", items.index[7])
    at.run()
    assert_shows_pair(at, model, model.dataset.users.index[4], model.dataset.items.index[7])
    # AppTest runs the whole page each time, and a new run of the page tells each table the pair (within the
    # pair's fragment a click's table is not told: tests/test_row_picker.py).
    assert picker_data(at, "explore_user_rows")["selected"] == model.dataset.users.index[4]


def test_search_filters_the_table_before_selecting(model):
    at = open_page(model)
    at.text_input(key="explore_item_search").set_value("i10").run()
    assert list(picker_rows(at, "explore_item_rows").index) == ["i10"]
    click_row(at, "explore_item_rows", "i10")
    at.run()
    first = model.dataset.positives.iloc[0]
    assert_shows_pair(at, model, first["user_id"], "i10")


def test_attributions_are_ig_bars_that_add_up(model):
    at = open_page(model, user="u2", item="i3", view="attributions")
    bars = [t for spec in specs(at) for t in spec["data"] if t["type"] == "bar" and t.get("orientation") == "h"]
    assert {b["name"] for b in bars} == {"user", "item"}
    total = sum(decode(b["x"]).sum() for b in bars)
    _, ref, _, _ = expected(model, "u2", "i3")
    # Zero baseline: the latent encoder maps zeros to its bias b, so S(baseline) = S(b_U, b_V).
    bu, bv = model.user_encoder.linear.bias.detach().numpy(), model.item_encoder.linear.bias.detach().numpy()
    s0 = numpy_attention(
        bu, bv, model.w_u.detach().double().numpy(), model.w_v.detach().double().numpy(), model.temperature
    )["s"]
    assert total == pytest.approx(ref["s"] - s0, abs=2e-3)


def test_vector_mode_uses_typed_values(model):
    at = open_page(model, user="u1", item="i2")
    at.radio(key="widget_explore_mode").set_value("vectors").run()
    assert not at.exception, at.exception
    editor = next(df for df in at.dataframe if list(df.value.columns) == ["X (user)", "Y (item)"])
    assert list(editor.value.index) == list(model.dimension_names)
    x, y = [0.5, -1.0, 2.0, 0.25], [1.5, 0.5, -0.5, 1.0]
    at.session_state[editor.key] = {
        "edited_rows": {i: {"X (user)": str(x[i]), "Y (item)": str(y[i])} for i in range(4)},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, at.exception
    ref = numpy_attention(
        x, y, model.w_u.detach().double().numpy(), model.w_v.detach().double().numpy(), model.temperature
    )
    assert float(metric(at, "S (score)")) == pytest.approx(ref["s"], abs=6e-5)
    np.testing.assert_allclose(heatmaps(at)[1], ref["a_u"], atol=1e-6)
    assert url(at, "mode") == "vectors"
    assert [float(v) for v in url(at, "x").split(",")] == x


def test_vector_mode_from_a_link_and_a_bad_vector(model):
    at = open_page(model, mode="vectors", x="1,2,3,4", y="0.5,0.5,0.5,-1")
    ref = numpy_attention(
        [1, 2, 3, 4],
        [0.5, 0.5, 0.5, -1],
        model.w_u.detach().double().numpy(),
        model.w_v.detach().double().numpy(),
        model.temperature,
    )
    assert float(metric(at, "S (score)")) == pytest.approx(ref["s"], abs=6e-5)
    bad = open_page(model, mode="vectors", x="1,2,oops", user="u1", item="i2")
    assert any("not 4 comma-separated numbers" in w.value for w in bad.warning)
    _, ref_pair, _, _ = expected(model, "u1", "i2")
    assert float(metric(bad, "S (score)")) == pytest.approx(ref_pair["s"], abs=6e-5)


@pytest.mark.parametrize("device", available_devices())
def test_device_switch_changes_no_number(model, device):
    at = open_page(model, user="u3", item="i5")
    before = {m.label: m.value for m in at.metric}
    heat_before = heatmaps(at)[1]
    at.sidebar.selectbox(key="widget_attnrec_device").set_value(device).run()
    assert not at.exception, at.exception
    assert url(at, "device") == device
    for label in ("S (score)", "P(like)", "Rank for this user"):
        assert metric(at, label) == before[label]
    np.testing.assert_allclose(heatmaps(at)[1], heat_before, atol=1e-5)


def test_heatmap_cell_click_tells_the_cells_story(model):
    at = open_page(model, user="u2", item="i6")
    click_cell(at, "explore_heat_item", [1, 2])
    at.run()
    assert not at.exception, at.exception
    trace, ref, x, y = expected(model, "u2", "i6")
    story = next(df.value for df in at.dataframe if "user side (U)" in df.value.columns)
    np.testing.assert_allclose(
        story["user side (U)"].to_numpy(),
        [ref["logits_u"][1, 2], ref["a_u"][1, 2], float(y[2]), ref["z_u"][1, 2]],
        atol=1e-6,
    )
    np.testing.assert_allclose(
        story["item side (V)"].to_numpy(),
        [ref["logits_v"][1, 2], ref["a_v"][1, 2], float(x[2]), ref["z_v"][1, 2]],
        atol=1e-6,
    )
    headline = next(m.value for m in at.markdown if m.value.startswith("**Head 2"))
    assert f"{ref['contributions'][1, 2]:+.4f}" in headline


def story_of(at):
    return [m.value for m in at.markdown if m.value.startswith("**Head ")]


def test_a_click_counts_only_on_the_figure_it_was_made_on(model):
    """Explore's charts keep their element across pairs (attnrec.app.plotly_view): a click is tied to the figure it
    was made on, so a click left from another pair's heatmap, or one whose figure is gone, tells no story."""
    at = open_page(model, user="u2", item="i6")
    data = chart_data(at, "explore_heat_item")
    assert data["clickable"] and data["chunk"] == plotly_view.plotly_chunk()
    assert json.loads(data["figure"]) == specs(at)[2]  # the A_V heatmap, as drawn
    # It reports heatmap cells itself: no click markers on the three heatmaps.
    assert [[t["type"] for t in spec["data"]] for spec in specs(at)[:3]] == [["heatmap"]] * 3
    at.session_state["explore_heat_item"] = {"click": {"view": "not this figure", "points": [[1, 2]]}}
    at.run()
    assert not at.exception and story_of(at) == []
    click_cell(at, "explore_heat_item", [1, 2])
    at.run()
    assert len(story_of(at)) == 1
    # Another pair: the click was on u2 × i6's heatmap, not on this one.
    click_row(at, "explore_item_rows", "i3")
    at.run()
    assert not at.exception and url(at, "item") == "i3"
    assert story_of(at) == []


def test_without_streamlits_plotly_chunk_the_charts_are_st_plotly_charts(model, monkeypatch):
    """A Streamlit whose frontend serves no PlotlyChart chunk: the same figures through st.plotly_chart, and a cell
    click through its point selection."""
    monkeypatch.setattr(plotly_view, "plotly_chunk", lambda static=None: None)
    at = open_page(model, user="u2", item="i6")
    assert not at.exception, at.exception
    charts = [n for n in at.get("bidi_component") if n.proto.component_name == plotly_view.COMPONENT]
    assert not charts and len(at.get("plotly_chart")) == 4
    assert [[t["type"] for t in spec["data"]] for spec in specs(at)[:3]] == [["heatmap", "scatter"]] * 3
    trace, ref, x, y = expected(model, "u2", "i6")
    np.testing.assert_allclose(heatmaps(at)[1], ref["a_u"], atol=1e-5)
    at.session_state["explore_heat_item"] = {
        "selection": {"points": [{"customdata": [1, 2]}], "point_indices": [], "box": [], "lasso": []}
    }
    at.run()
    assert not at.exception and len(story_of(at)) == 1


def test_good_link_reopens_the_view(model):
    at = open_page(model, user="u5", item="i9", method="saliency", device="cpu")
    assert_shows_pair(at, model, "u5", "i9")
    assert at.selectbox(key="widget_explore_method").value == "saliency"
    assert at.sidebar.selectbox(key="widget_attnrec_device").value == "cpu"
    assert not at.warning


def test_bad_link_warns_and_falls_back(model):
    at = open_page(model, user="nobody", item="i9", method="bogus", device="tpu")
    messages = " ".join(w.value for w in at.warning)
    assert "user “nobody”" in messages and "attribution method “bogus”" in messages
    assert "device “tpu”" in messages
    first = model.dataset.positives.iloc[0]
    assert_shows_pair(at, model, first["user_id"], "i9")
    assert url(at, "method") == "ig" and url(at, "device") == "auto"
    at.run()  # the URL now holds the corrected view: no warning the second time
    assert not at.warning


def test_no_model_for_a_dataset_says_so(model):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["user_datasets"] = {
        "bare": model.dataset.__class__(
            "bare", model.dataset.users, model.dataset.items, model.dataset.interactions, {}
        )
    }
    at.query_params["dataset"] = "bare"
    at.run()
    assert not at.exception
    assert any("No model for dataset “bare”" in i.value for i in at.info)


def open_shipped(user_id: str, item_id: str) -> AppTest:
    """Explore on restaurants and its shipped aligned checkpoint (loaded by the sidebar's cached loader), at a
    link to the pair."""
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in {
        "dataset": "restaurants",
        "model": "restaurants-aligned",
        "user": user_id,
        "item": item_id,
    }.items():
        at.query_params[key] = value
    return at.run()


def test_shipped_checkpoint_through_the_sidebar():
    """The real thing: restaurants + its shipped aligned checkpoint, loaded by the sidebar's cached loader."""
    from attnrec.app.session import MODELS_DIR
    from attnrec.model import Recommender

    folder = MODELS_DIR / "restaurants-aligned"
    model = Recommender.load(folder, device="cpu")
    user_id, item_id = model.user_ids[10], model.item_ids[20]
    at = open_shipped(user_id, item_id)
    assert_shows_pair(at, model, user_id, item_id)
    # A pair the model weighs (some head puts weight off the null slot) gets no null-slot note.
    trace = model.trace(user_id, item_id).trace
    assert bool((trace.a_u[0, :, :-1] != 0).any() or (trace.a_v[0, :, :-1] != 0).any())
    assert not [m for m in at.info if NULL_SLOT_NOTE in m.value]
    # Aligned mode: the heatmap's columns are named dimensions — the 12 that matter by default, all d on request.
    spec = specs(at)[0]
    assert set(str(n) for n in spec["data"][0]["x"]) <= set(model.unit_names())  # the taste block: one column
    at.radio(key="widget_explore_dims").set_value("all").run()
    assert not at.exception and url(at, "dims") == "all"
    spec = specs(at)[0]
    assert [str(n) for n in spec["data"][0]["x"]] == list(model.dimension_names)
    assert sum(decode(spec["data"][0]["z"]).ravel()) == pytest.approx(float(metric(at, "S (score)")), abs=1e-4)


def test_one_head_at_a_time(model):
    """The head selector (as in BertViz): one head's row in all three heatmaps, labelled with its number, its
    cells against the reference, a click on that row telling that head's story; the choice is in the URL."""
    heads = model.w_u.shape[0]
    assert heads >= 2
    at = open_page(model, user="u2", item="i6")
    at.selectbox(key="widget_explore_head").set_value(str(heads)).run()
    assert not at.exception, at.exception
    assert url(at, "head") == str(heads)
    trace, ref, x, y = expected(model, "u2", "i6")
    contributions, heat_u, heat_v = heatmaps(at)[:3]
    last = heads - 1
    np.testing.assert_allclose(contributions, (np.asarray(ref["z_u"]) * np.asarray(ref["z_v"]))[[last]], atol=1e-6)
    np.testing.assert_allclose(heat_u, np.asarray(ref["a_u"])[[last]], atol=1e-5)
    np.testing.assert_allclose(heat_v, np.asarray(ref["a_v"])[[last]], atol=1e-5)
    for spec in specs(at)[:3]:
        assert spec["data"][0]["y"] == [f"head {heads}"]
    title = specs(at)[0]["layout"]["title"]["text"]
    part = float((np.asarray(ref["z_u"]) * np.asarray(ref["z_v"]))[last].sum())
    assert f"head {heads}'s" in title and f"{part:+.4g}" in title
    # A click on the only row is the shown head's cell, not head 1's.
    click_cell(at, "explore_heat_user", [0, 1])
    at.run()
    story = next(df.value for df in at.dataframe if "user side (U)" in df.value.columns)
    assert story["user side (U)"].to_numpy()[1] == pytest.approx(ref["a_u"][last, 1], abs=1e-6)
    assert any(m.value.startswith(f"**Head {heads}, dimension") for m in at.markdown)
    # A link reopens that head; "all" is the default and leaves the URL clean.
    again = open_page(model, user="u2", item="i6", head=str(heads))
    assert again.selectbox(key="widget_explore_head").value == str(heads)
    again.selectbox(key="widget_explore_head").set_value("all").run()
    assert "head" not in again.query_params
    assert heatmaps(again)[0].shape[0] == heads


def test_the_sidebar_links_to_the_data_page_except_on_it():
    """Every page's sidebar says where people bring their own data or model (its element also comes early in a
    first view, so the browser fetches the page link's code with the sidebar's); the Data page does not link to
    itself."""
    app = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120).run()
    assert not app.exception

    def links(at):
        return [n.proto.label for n in at.get("page_link") if n.proto.page.endswith("data")]

    assert links(app) == ["Bring your own data or model"]
    app.switch_page("app_pages/data.py").run()
    assert not app.exception and links(app) == []


def test_a_pair_whose_heads_all_pick_the_null_slot_says_why_s_is_zero():
    """The shipped aligned model (1.5-entmax, presence mask, null slot) can put every head's whole weight on the
    null slot: S = 0, the model finding no evidence in the pair. The page says so in words; a pair it weighs
    does not get the note."""
    from attnrec.app.session import MODELS_DIR
    from attnrec.model import Recommender

    model = Recommender.load(MODELS_DIR / "restaurants-aligned", device="cpu")
    with torch.no_grad():
        xs = model.encode_user(model.user_matrix)
        ys = model.encode_item(model.item_matrix)
        n_users, n_items = len(xs), len(ys)
        x = xs.repeat_interleave(n_items, 0)
        y = ys.repeat(n_users, 1)
        trace = model.attention(x, y)
    off_null = (trace.a_u[:, :, :-1] != 0).any((1, 2)) | (trace.a_v[:, :, :-1] != 0).any((1, 2))
    assert torch.equal(trace.s[~off_null], torch.zeros(int((~off_null).sum())))  # no weight off the slot: S = 0
    lonely = int(torch.nonzero(~off_null)[0])  # a pair it weighs gets no note: test_shipped_checkpoint_…
    user_id, item_id = model.user_ids[lonely // n_items], model.item_ids[lonely % n_items]
    at = open_shipped(user_id, item_id)
    assert_shows_pair(at, model, user_id, item_id)  # against the independent numpy reference
    said = [m.value for m in at.info if NULL_SLOT_NOTE in m.value]
    assert len(said) == 1 and "null slot" in said[0]
    assert float(metric(at, "S (score)")) == 0.0
    _, heat_u, heat_v = heatmaps(at)[:3]
    np.testing.assert_allclose(heat_u[:, -1], 1.0, atol=1e-6)  # the last column shown: the null slot
    np.testing.assert_allclose(heat_v[:, -1], 1.0, atol=1e-6)
    # Every item the model reads this way for this user ties at S = 0: the pair holds that whole range of ranks.
    scores = trace.s.view(n_users, n_items)[lonely // n_items]
    first, ties = int((scores > 0).sum()) + 1, int((scores == 0).sum()) - 1
    assert ties > 0 and shown_rank(at) == (f"{first}–{first + ties}", f"of {n_items} · {ties + 1} tied")

"""AppTest of the Compare page: both pairs, their difference and ΔS's split, against numpy references."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from plotly_json import decode_array as decode
from test_report import make_dataset, make_model, numpy_attention

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "compare.py")


@pytest.fixture(scope="module")
def model():
    return make_model(seed=3)


def open_page(model, **query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["user_datasets"] = {"tiny": model.dataset}
    at.session_state["user_models"] = {"tiny-latent": model}
    at.query_params["dataset"] = "tiny"
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def reference(model, user_id, item_id):
    with torch.no_grad():
        x = model.encode_user(model.user_rows(user_id))[0].double().numpy()
        y = model.encode_item(model.item_rows(item_id))[0].double().numpy()
    return numpy_attention(
        x, y, model.w_u.detach().double().numpy(), model.w_v.detach().double().numpy(), model.temperature
    )


def traces(at, kind):
    return [t for chart in at.get("plotly_chart") for t in json.loads(chart.proto.spec)["data"] if t["type"] == kind]


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def url(at, key):
    value = at.query_params[key]
    return value[-1] if isinstance(value, list) else value


def show(at, view):
    at.radio(key="widget_compare_view").set_value(view).run()
    assert not at.exception, at.exception
    assert url(at, "view") == view


def assert_compares(at, model, pair_a, pair_b, attention="a_u"):
    assert not at.exception, at.exception
    ra, rb = reference(model, *pair_a), reference(model, *pair_b)
    assert float(metric(at, "S(A)")) == pytest.approx(ra["s"], abs=6e-5)
    assert float(metric(at, "S(B)")) == pytest.approx(rb["s"], abs=6e-5)
    assert float(metric(at, "ΔS = S(A) − S(B)")) == pytest.approx(ra["s"] - rb["s"], abs=6e-5)
    heat_a, heat_b, diff = (decode(t["z"]) for t in traces(at, "heatmap"))
    np.testing.assert_allclose(heat_a, ra[attention], atol=1e-6)
    np.testing.assert_allclose(heat_b, rb[attention], atol=1e-6)
    np.testing.assert_allclose(diff, ra[attention] - rb[attention], atol=1e-6)
    show(at, "delta")
    waterfall = traces(at, "waterfall")[0]
    steps = decode(waterfall["y"])
    assert steps[0] == pytest.approx(rb["s"], abs=1e-5) and steps[-1] == pytest.approx(ra["s"], abs=1e-5)
    by_dimension = ra["contributions"].sum(0) - rb["contributions"].sum(0)
    np.testing.assert_allclose(sorted(steps[1:-1]), sorted(by_dimension), atol=1e-6)
    grouped = [b for b in traces(at, "bar") if b.get("orientation") != "h"]
    np.testing.assert_allclose(decode(grouped[0]["y"]), ra["contributions"].sum(0), atol=1e-6)
    np.testing.assert_allclose(decode(grouped[1]["y"]), rb["contributions"].sum(0), atol=1e-6)
    show(at, "attention")


def test_two_items_for_one_user_from_a_link(model):
    at = open_page(model, user="u2", item="i1", item_b="i7")
    assert_compares(at, model, ("u2", "i1"), ("u2", "i7"))
    assert url(at, "compare") == "items" and url(at, "item_b") == "i7"
    # Attributions: one bar chart per pair on one shared value axis.
    show(at, "attributions")
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert len(charts) == 2 and charts[0]["layout"]["xaxis"]["range"] == charts[1]["layout"]["xaxis"]["range"]
    assert {t["name"] for c in charts for t in c["data"]} == {"user", "item"}


def test_switching_to_two_users_and_to_the_item_side(model):
    at = open_page(model, user="u1", item="i3")
    at.radio(key="widget_compare_mode").set_value("users").run()
    at.selectbox(key="widget_compare_user_b").set_value("u6").run()
    at.radio(key="compare_attention_side").set_value("A_V (item side, weights on X)").run()
    assert_compares(at, model, ("u1", "i3"), ("u6", "i3"), attention="a_v")
    assert url(at, "compare") == "users" and url(at, "user_b") == "u6"
    assert "item_b" not in at.query_params


def test_choosing_item_b_in_the_selectbox(model):
    at = open_page(model, user="u0", item="i2")
    at.selectbox(key="widget_compare_item_b").set_value("i9").run()
    assert_compares(at, model, ("u0", "i2"), ("u0", "i9"))


def test_default_item_b_is_the_users_best_other_item(model):
    at = open_page(model, user="u4", item="i0")
    scores = {i: reference(model, "u4", i)["s"] for i in model.item_ids}
    best = max((i for i in scores if i != "i0"), key=scores.get)
    assert url(at, "item_b") == best


def test_bad_link_warns_and_still_compares(model):
    at = open_page(model, user="u1", item="i1", item_b="ghost", compare="sideways")
    messages = " ".join(w.value for w in at.warning)
    assert "item “ghost”" in messages and "comparison “sideways”" in messages
    assert url(at, "compare") == "items" and url(at, "item_b") in model.item_ids
    assert_compares(at, model, ("u1", "i1"), ("u1", url(at, "item_b")))


def test_a_tied_pair_shows_its_range_of_ranks():
    """Items with the same attributes score the same S: each holds a range of ranks, "r–r+1" here."""
    dataset = make_dataset()
    dataset.items.loc["i5"] = dataset.items.loc["i3"]
    tied = make_model(dataset, seed=3)
    at = open_page(tied, user="u1", item="i3", item_b="i0")
    assert_compares(at, tied, ("u1", "i3"), ("u1", "i0"))
    scores = np.array([reference(tied, "u1", i)["s"] for i in tied.item_ids])  # the numpy reference, item by item

    def span(item):
        s = scores[list(tied.item_ids).index(item)]
        first, ties = int((scores > s + 1e-9).sum()) + 1, int((np.abs(scores - s) <= 1e-9).sum()) - 1
        return f"{first}–{first + ties}" if ties else str(first)

    assert span("i3").count("–") == 1 and "–" not in span("i0")
    assert metric(at, "Rank A / B") == f"{span('i3')} / {span('i0')}"

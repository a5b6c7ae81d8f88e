"""AppTest of app_pages/attributions.py: method, baseline and level switches, checked against Captum run here."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from captum.attr import FeatureAblation, IntegratedGradients
from scipy.stats import kendalltau
from streamlit.testing.v1 import AppTest

from attnrec.attention import attend
from attnrec.data import Featurizer, load_dataset
from attnrec.model import Recommender
from plotly_json import decode_array as _array

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "attributions.py")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(2)
    dataset = load_dataset("restaurants")
    return Recommender.from_featurizer(Featurizer.fit(dataset, "aligned"), dataset, heads=2)


def _page(model, user, item) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["user_models"] = {"page-test": model}
    at.session_state["attnrec_model_restaurants"] = "page-test"
    at.query_params["user"], at.query_params["item"] = user, item
    return at


def _figure(at, key):
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key) or key in c.proto.id)
    return json.loads(chart.proto.spec)


def _bars(at) -> dict[str, float]:
    bar = _figure(at, "attributions_main")["data"][0]
    return dict(zip(bar["y"], _array(bar["x"]).astype(float)))


def _field_groups(model, attr_u, attr_v, ablation=False):
    """{"user: field": value, "item: field": value}; ablation repeats a group's value on each column."""
    out = {}
    for side, groups, attr in (("user", model.users.groups, attr_u), ("item", model.items.groups, attr_v)):
        for g in groups:
            out[f"{side}: {g.name}"] = float(attr[0, g.start] if ablation else attr[0, g.start : g.stop].sum())
    return out


def _raw_inputs(model, user, item, baseline):
    fz = model.featurizer
    r_u, r_v = model.user_rows(user), model.item_rows(item)
    bu = torch.as_tensor(fz.baseline_row("user", baseline)).unsqueeze(0)
    bv = torch.as_tensor(fz.baseline_row("item", baseline)).unsqueeze(0)
    return (r_u, r_v), (bu, bv)


def _assert_bars_match(shown: dict, expected: dict, top: int = 15):
    # The chart keeps the `top` largest |values| (ties at the cut, often exact zeros, may go either way).
    assert len(shown) == min(top, len(expected))
    cut = sorted((abs(v) for v in expected.values()), reverse=True)[len(shown) - 1]
    assert min(abs(v) for v in shown.values()) >= cut - 1e-6
    for name, value in shown.items():
        assert value == pytest.approx(expected[name], rel=1e-3, abs=1e-6), name


def test_default_ig_bars_equal_captum_and_completeness_gap_is_reported(model):
    user, item = model.user_ids[4], model.item_ids[7]
    at = _page(model, user, item)
    at.run()
    assert not at.exception, at.exception
    # Aligned models start from the dataset-mean baseline (attnrec.explain.model_targets.default_baseline).
    assert at.radio(key="attributions_baseline").value == "mean"
    inputs, baselines = _raw_inputs(model, user, item, "mean")
    attr_u, attr_v = IntegratedGradients(model).attribute(
        inputs, baselines=baselines, n_steps=50, method="gausslegendre"
    )
    expected = _field_groups(model, attr_u.detach().double().numpy(), attr_v.detach().double().numpy())
    _assert_bars_match(_bars(at), expected)
    summary = at.dataframe[0].value.set_index("method")
    with torch.no_grad():
        change = float(model(*inputs)[0] - model(*baselines)[0])
    ig = summary.loc["Integrated Gradients"]
    assert ig["S − S(baseline)"] == pytest.approx(change, rel=1e-5, abs=1e-7)
    assert ig["completeness gap"] == pytest.approx(sum(expected.values()) - change, abs=1e-4)
    assert np.isfinite(ig["convergence delta"])
    assert np.isnan(summary.loc["Saliency", "convergence delta"])  # Saliency has no delta
    assert at.query_params["method"] in ("ig", ["ig"])


def test_method_switch_to_feature_ablation_and_baseline_switch_to_zeros(model):
    user, item = model.user_ids[10], model.item_ids[3]
    at = _page(model, user, item)
    at.run()
    at.selectbox(key="widget_explore_method").set_value("feature_ablation")
    at.radio(key="attributions_baseline").set_value("zeros")
    at.run()
    assert not at.exception, at.exception
    inputs, baselines = _raw_inputs(model, user, item, "zeros")
    mask_u = torch.as_tensor(np.concatenate([[k] * (g.stop - g.start) for k, g in enumerate(model.users.groups)]))
    offset = len(model.users.groups)
    mask_v = torch.as_tensor(
        np.concatenate([[k + offset] * (g.stop - g.start) for k, g in enumerate(model.items.groups)])
    )
    attr_u, attr_v = FeatureAblation(model).attribute(
        inputs, baselines=baselines, feature_mask=(mask_u.unsqueeze(0), mask_v.unsqueeze(0))
    )
    expected = _field_groups(model, attr_u.detach().double().numpy(), attr_v.detach().double().numpy(), ablation=True)
    _assert_bars_match(_bars(at), expected)
    assert "Feature Ablation" in _figure(at, "attributions_main")["layout"]["title"]["text"]


def test_level_switch_to_dimensions_attributes_paired_x_y_like_captum_on_attend(model):
    user, item = model.user_ids[1], model.item_ids[20]
    at = _page(model, user, item)
    at.run()
    at.radio(key="attributions_level").set_value("dimensions")
    at.radio(key="attributions_baseline").set_value("zeros")
    at.run()
    assert not at.exception, at.exception
    with torch.no_grad():
        x = model.encode_user(model.user_rows(user))
        y = model.encode_item(model.item_rows(item))

    def score(xx, yy):
        return attend(xx, yy, model.w_u, model.w_v, model.temperature).s

    attr_x, attr_y = IntegratedGradients(score).attribute(
        (x, y), baselines=(torch.zeros_like(x), torch.zeros_like(y)), n_steps=50, method="gausslegendre"
    )
    paired = (attr_x + attr_y)[0].detach().double().numpy()  # dimension i of X and of Y switch together
    expected = dict(zip(model.dimension_names, paired))
    _assert_bars_match(_bars(at), expected)
    # Attention-as-importance joins the comparison at this level; the agreement matrix holds Kendall τ of
    # the |attribution| rankings — recomputed here from Captum's IG and the attention weights of `attend`.
    heat = _figure(at, "attributions_heatmap")["data"][0]
    methods = [m.replace("<br>", " ") for m in heat["x"]]  # labels are wrapped over lines
    assert "Attention weights" in methods
    trace = attend(x, y, model.w_u, model.w_v, model.temperature)
    attention = (trace.a_v.mean(dim=1) + trace.a_u.mean(dim=1))[0].detach().double().numpy()
    agreement = _figure(at, "attributions_agreement")["data"][0]
    z = _array(agreement["z"]).astype(float)
    assert agreement["zmid"] == 0 and z.shape == (len(methods), len(methods))
    i, j = methods.index("Integrated Gradients"), methods.index("Attention weights")
    assert z[i, j] == pytest.approx(kendalltau(np.abs(paired), attention).statistic, abs=1e-3)

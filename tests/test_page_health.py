"""AppTest of app_pages/health.py: metrics table, head entropy figures, and the most-wrong pairs → Explore."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import entropy as scipy_entropy
from streamlit.testing.v1 import AppTest

from attnrec.data import Featurizer, load_dataset
from attnrec.evaluation import leave_one_out
from attnrec.model import Recommender
from plotly_json import decode_array as _array

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(3)
    dataset = load_dataset("restaurants")
    m = Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=6, heads=2)
    with torch.no_grad():  # sharpen head 1 so its entropy differs visibly from head 2
        m.w_u[0] *= 25.0
    return m


@pytest.fixture(scope="module", autouse=True)
def quality_cache(tmp_path_factory):
    """Held-out tables computed here are kept in a folder of this run (attnrec.quality_store), not ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("quality-cache")
        patch.setenv("ATTNREC_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def health_run(model):
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["user_models"] = {"page-test": model}
    at.session_state["attnrec_model_restaurants"] = "page-test"
    at.run()
    at.switch_page("app_pages/health.py").run()
    at.number_input(key="health_mf_epochs").set_value(5)
    at.slider(key="health_pairs").set_value(300)
    at.run()
    assert not at.exception, at.exception
    # The held-out table is computed on request (it trains BPR-MF), then kept.
    assert not any(set(d.value.columns) >= {"model", "HR@10"} for d in at.dataframe)
    at.button(key="health_metrics_run").click().run()
    assert not at.exception, at.exception
    return at


def _figure(at, key):
    chart = next(c for c in at.get("plotly_chart") if key in c.proto.id)
    return json.loads(chart.proto.spec)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_metrics_table_has_our_model_and_both_baselines(health_run, model):
    table = next(d.value for d in health_run.dataframe if "HR@10" in d.value.columns).set_index("model")
    assert list(table.index) == ["this model", "popularity", "BPR-MF"]
    # Popularity recomputed independently: rank each held-out item by training positive counts.
    split = leave_one_out(model.dataset, seed=0)
    counts = split.train.positives["item_id"].astype(str).value_counts()
    inter = model.dataset.interactions
    hits = []
    for user, item in zip(split.held_out["user_id"], split.held_out["item_id"]):
        touched = set(inter.loc[inter["user_id"] == user, "item_id"].astype(str)) - {item}
        candidates = [i for i in model.item_ids if i not in touched and i != item]
        mine = counts.get(item, 0)
        above = sum(counts.get(i, 0) > mine for i in candidates)
        ties = sum(counts.get(i, 0) == mine for i in candidates)
        # expected hit@10 with uniformly random tie order
        hits.append(np.mean([above + t + 1 <= 10 for t in range(ties + 1)]))
    assert table.loc["popularity", "HR@10"] == pytest.approx(np.mean(hits), abs=1e-9)
    assert table.loc["this model", "users"] == len(split.held_out)
    assert 0 <= table.loc["BPR-MF", "AUC"] <= 1


def test_entropy_histograms_match_an_independent_numpy_trace(health_run, model):
    pairs = model.dataset.interactions.sample(n=300, random_state=0)
    r_u = model.users.matrix[[model.users.row_of(u) for u in pairs["user_id"]]].astype(np.float64)
    r_v = model.items.matrix[[model.items.row_of(i) for i in pairs["item_id"]]].astype(np.float64)
    lu, li = model.user_encoder.linear, model.item_encoder.linear
    x = r_u @ lu.weight.detach().double().numpy().T + lu.bias.detach().double().numpy()
    y = r_v @ li.weight.detach().double().numpy().T + li.bias.detach().double().numpy()
    a_u = _softmax(np.einsum("hij,nj->nhi", model.w_u.detach().double().numpy(), x * y) / model.temperature)
    normalised = np.array([[scipy_entropy(a_u[n, h]) for h in range(2)] for n in range(len(a_u))]) / np.log(model.d)
    figure = _figure(health_run, "entropy_user")
    edges = np.linspace(0, 1, 21)
    for h in range(2):
        counts, _ = np.histogram(np.clip(normalised[:, h], 0, 1), bins=edges)
        np.testing.assert_array_equal(_array(figure["data"][h]["y"]), counts)
    mean = _array(_figure(health_run, "mean_user")["data"][0]["z"]).astype(float)
    np.testing.assert_allclose(mean, a_u.mean(axis=0), rtol=1e-4, atol=1e-6)
    titles = [a["text"] for a in figure["layout"]["annotations"]]
    assert titles[0].startswith("head 1:") and f"{normalised[:, 0].mean():.2f}" in titles[0]


def test_clicking_a_most_wrong_pair_opens_explore_with_that_pair(model):
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["user_models"] = {"page-test": model}
    at.session_state["attnrec_model_restaurants"] = "page-test"
    at.run()
    at.switch_page("app_pages/health.py").run()
    at.number_input(key="health_mf_epochs").set_value(5)
    at.slider(key="health_pairs").set_value(300)
    at.run()
    # The highest-scored observed negative, found independently here.
    negatives = model.dataset.interactions[model.dataset.interactions["label"] == 0]
    with torch.no_grad():
        s = model(model.user_rows(list(negatives["user_id"])), model.item_rows(list(negatives["item_id"]))).numpy()
    top = negatives.iloc[int(np.argmax(s))]
    assert f"user {top['user_id']} · item {top['item_id']}" in [m.value for m in at.markdown]
    at.button(key="wrong_negative_0").click()
    at.run()
    assert not at.exception, at.exception
    assert at.query_params["user"] in (top["user_id"], [top["user_id"]])
    assert at.query_params["item"] in (top["item_id"], [top["item_id"]])
    assert at.session_state["explore_user"] == top["user_id"]
    assert at.session_state["explore_item"] == top["item_id"]
    assert [t.value for t in at.title][0].startswith("Explore")


def test_the_held_out_table_is_kept_on_disk_and_equals_a_fresh_computation(health_run, model, quality_cache):
    from attnrec import quality_store

    shown = next(d.value for d in health_run.dataframe if "HR@10" in d.value.columns)
    kept, protocol = quality_store.stored(model, 10, 5)
    fresh, fresh_protocol = quality_store.compute(model, k=10, mf_epochs=5)
    pd.testing.assert_frame_equal(kept, fresh)  # the stored numbers are the recomputed ones, exactly
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), fresh)
    assert protocol == json.loads(json.dumps(fresh_protocol, default=quality_store._plain))
    assert list((quality_cache / "quality").glob("*.json")) == [
        quality_cache / "quality" / f"{quality_store.fingerprint(model)}.json"
    ]
    # A fresh session on the same model reads the table instead of training BPR-MF again.
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["user_models"] = {"page-test": model}
    at.session_state["attnrec_model_restaurants"] = "page-test"
    at.session_state["health_mf_epochs"] = 5
    at.run()
    at.switch_page("app_pages/health.py").run()
    assert not at.exception, at.exception
    again = next(d.value for d in at.dataframe if "HR@10" in d.value.columns)
    pd.testing.assert_frame_equal(again.reset_index(drop=True), fresh)
    assert at.button(key="health_metrics_run").label == "Recompute"


def test_model_health_says_the_uniform_model_s_heatmaps_carry_no_information():
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({"dataset": "restaurants", "model": "restaurants-latent"})
    at.run()
    at.switch_page("app_pages/health.py").run()
    assert not at.exception, at.exception
    warnings = " | ".join(w.value for w in at.warning)
    assert "heatmaps carry no information" in warnings, warnings


def test_each_wrong_pair_says_its_score_and_rank_a_tie_as_a_range(health_run, model):
    """Every pair in the most-wrong lists: S and its rank among all items, from the model's forward pass over the
    whole catalog here; a pair other items tie with holds a range of ranks."""
    import re

    pairs = [re.fullmatch(r"user (\S+) · item (\S+)", m.value) for m in health_run.markdown]
    pairs = [p.groups() for p in pairs if p]
    captions = [c.value for c in health_run.caption if re.match(r"S = -?[0-9.]+ · rank ", c.value)]
    assert len(pairs) == len(captions) == 20
    assert any("–" in c for c in captions)  # this model ties some held-out positives with other items
    items = list(model.item_ids)
    for (user, item), caption in zip(pairs, captions):
        with torch.no_grad():
            every = model(model.user_rows([user] * len(items)), model.item_rows(items)).numpy().astype(np.float64)
        s = every[items.index(item)]
        first, ties = int((every > s + 1e-5).sum()) + 1, int((np.abs(every - s) <= 1e-5).sum()) - 1
        span = f"{first}–{first + ties}" if ties else f"{first}"
        assert caption == f"S = {s:.3f} · rank {span} of {len(items)}", (user, item)

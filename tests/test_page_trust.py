"""AppTest of the trust sections of app_pages/attributions.py and app_pages/health.py.

The report card shown on each page is checked against `attnrec.explain.report.report_card` run here on a
target built here, and its key numbers against independent computations: exact Shapley values by
enumerating every coalition with the model's own forward pass, Integrated Gradients from Captum,
Kendall τ from scipy, deletion / insertion areas by hand. The attention verdict text must be what
`agreement_verdict` says for τ values computed here from the attention trace of `attend`.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from itertools import combinations
from math import factorial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from captum.attr import IntegratedGradients
from scipy.stats import kendalltau
from streamlit.testing.v1 import AppTest

from attnrec.attention import attend
from attnrec.data import Featurizer, load_dataset
from attnrec.explain import Group, targets_for
from attnrec.explain.agreement import agreement_verdict
from attnrec.explain.batch import explain_pairs
from attnrec.explain.report import report_card, verdict
from attnrec.explain.sanity import cascading_randomization, sanity_verdicts
from attnrec.model import Recommender
from plotly_json import decode_array as _array

ROOT = Path(__file__).resolve().parents[1]
ATTRIBUTIONS = str(ROOT / "app_pages" / "attributions.py")
APP = str(ROOT / "app.py")
NUMBERS = [
    "max_abs_error",
    "kendall_tau",
    "top_k_overlap",
    "relative_gap",
    "infidelity",
    "sensitivity_max",
    "deletion_auc",
    "insertion_auc",
]
PAGE_DEFAULT_COMPARE = ["ig", "saliency", "input_x_gradient", "feature_ablation"]  # Main = IG + "Compare with"


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("restaurants")


@pytest.fixture(scope="module")
def aligned(dataset):
    torch.manual_seed(2)
    return Recommender.from_featurizer(Featurizer.fit(dataset, "aligned"), dataset, heads=2)


@pytest.fixture(scope="module")
def latent(dataset):
    torch.manual_seed(3)
    return Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=6, heads=2)


# ---- helpers -------------------------------------------------------------------------------------


def _attributions_page(model, user, item) -> AppTest:
    at = AppTest.from_file(ATTRIBUTIONS, default_timeout=300)
    at.session_state["user_models"] = {"page-test": model}
    at.session_state["attnrec_model_restaurants"] = "page-test"
    at.query_params["user"], at.query_params["item"] = user, item
    at.session_state["attributions_card_on"] = True  # the card runs when switched on (it is the slow part)
    return at


def _table(at, *columns) -> pd.DataFrame:
    """The one dataframe on the page that has all these columns."""
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def _card(at) -> pd.DataFrame:
    """The report card, from its two tables (against the reference; scored by the model itself)."""
    reference = _table(at, "method", "verdict", "max_abs_error", "kendall_tau").set_index("method")
    model = _table(at, "method", "infidelity", "deletion_auc").set_index("method")
    assert list(model.index) == list(reference.index)
    return reference.join(model)


def _verdict_box(at) -> str:
    texts = [e.value for kind in (at.success, at.info, at.warning) for e in kind if e.value.startswith("**Verdict")]
    assert len(texts) == 1, texts
    return texts[0].split(":** ", 1)[1]


def _figure(at, key):
    chart = next(c for c in at.get("plotly_chart") if key in c.proto.id)
    return json.loads(chart.proto.spec)


def _assert_card_equals(shown: pd.DataFrame, direct, names: dict):
    """Every number and verdict of the page's card equals report_card's summary run in the test."""
    summary = direct.summary.set_index("method")
    assert list(shown.index) == [names[k] for k in summary.index]
    for key, row in summary.iterrows():
        got = shown.loc[names[key]]
        assert got["verdict"] == row["verdict"], key
        expected = {**{c: row[c] for c in NUMBERS if c != "sensitivity_max"}, "sensitivity_max": row["sensitivity"]}
        gap = direct.per_pair.loc[direct.per_pair["method"] == key, "completeness_gap"].median()
        expected["completeness_gap"] = gap
        for column, value in expected.items():
            if np.isnan(value):
                assert np.isnan(got[column]), (key, column)
            else:
                # float32 sums may round differently here and in the app (torch's thread count, which the app
                # sets to 1, and Captum's sensitivity noise): ~1e-6 relative, and a gap at rounding level
                # (IG's ~1e-9 of S) may move by about its own size. τ and top-k take a few discrete values, so
                # this compares them exactly: report_card ranks rounding noise as ties (snap_noise).
                floor = {"completeness_gap": 1e-8, "relative_gap": 1e-6}.get(column, 1e-12)
                assert got[column] == pytest.approx(value, rel=1e-4, abs=floor), (key, column)


def _score_scale(score, u, v, bu, bv) -> float:
    """max(|S|, |S(baseline)|) of this pair, from the model's own forward pass."""
    with torch.no_grad():
        return max(abs(float(score(u, v)[0])), abs(float(score(bu, bv)[0])))


def _resolved(values, score_scale: float) -> np.ndarray:
    """Values as the model's float32 scores resolve them, by hand: with tol = 16 eps · max(|S|, |S(baseline)|,
    max |value|), values joined by steps ≤ tol to 0 become 0, and to each other become one value (their
    smallest): rounding noise turned back into the exact ties it came from."""
    values = np.asarray(values, dtype=float)
    tol = 16 * float(np.finfo(np.float32).eps) * max(score_scale, float(np.abs(values).max()))
    points = sorted([(0.0, -1)] + [(float(x), i) for i, x in enumerate(values)])  # -1: the anchor at 0
    runs = [[points[0]]]
    for point in points[1:]:
        if point[0] - runs[-1][-1][0] <= tol:
            runs[-1].append(point)
        else:
            runs.append([point])
    out = values.copy()
    for run in runs:
        value = 0.0 if any(i < 0 for _, i in run) else run[0][0]
        for _, i in run:
            if i >= 0:
                out[i] = value
    return out


def _assert_ranking(card: pd.DataFrame, direct, names: dict, score_scale: float, reference=None):
    """τ, top-k overlap and verdict of every row, from scipy on the methods' values as the model resolves them
    (`_resolved`; `reference`: the truth, when the test computed it independently)."""
    truth = direct.attributions[direct.reference].groups[0] if reference is None else np.asarray(reference)
    for key, name in names.items():
        values = truth if key == direct.reference else direct.attributions[key].groups[0]
        tau = kendalltau(_resolved(values, score_scale), _resolved(truth, score_scale)).statistic
        top = _top_k(_resolved(np.abs(values), score_scale), _resolved(np.abs(truth), score_scale))
        assert card.loc[name, "kendall_tau"] == pytest.approx(tau, abs=1e-6), name
        assert card.loc[name, "top_k_overlap"] == pytest.approx(top), name
        if key != direct.reference:
            assert card.loc[name, "verdict"] == verdict(tau, top, card.loc[name, "relative_gap"], 3)[0], name


def _exact_shapley(score, u, v, bu, bv, groups) -> np.ndarray:
    """φ by enumerating every coalition: groups = [(user columns, item columns)], score(u, v) -> S (1,)."""
    n = len(groups)

    def value(coalition):
        mu, mv = torch.zeros_like(u), torch.zeros_like(v)
        for g in coalition:
            mu[:, list(groups[g][0])] = 1.0
            mv[:, list(groups[g][1])] = 1.0
        with torch.no_grad():
            return float(score(bu + mu * (u - bu), bv + mv * (v - bv))[0])

    cache = {}
    phi = np.zeros(n)
    for i in range(n):
        others = [g for g in range(n) if g != i]
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for subset in combinations(others, size):
                with_i = tuple(sorted(subset + (i,)))
                for key in (subset, with_i):
                    if key not in cache:
                        cache[key] = value(key)
                phi[i] += weight * (cache[with_i] - cache[subset])
    return phi


def _top_k(a, b, k=3) -> float:
    top = lambda x: set(np.argsort(-np.abs(x), kind="stable")[:k])  # noqa: E731
    return len(top(a) & top(b)) / k


def _deletion_insertion_areas(score, u, v, bu, bv, groups, values) -> tuple[float, float]:
    """Areas of the report card's curves, by hand: groups in order of value × sign(S − S(baseline))."""
    with torch.no_grad():
        s, s0 = float(score(u, v)[0]), float(score(bu, bv)[0])
    order = np.argsort(-np.asarray(values) * np.sign(s - s0), kind="stable")

    def with_on(on):
        mu, mv = torch.zeros_like(u), torch.zeros_like(v)
        for g in on:
            mu[:, list(groups[g][0])] = 1.0
            mv[:, list(groups[g][1])] = 1.0
        with torch.no_grad():
            return (float(score(bu + mu * (u - bu), bv + mv * (v - bv))[0]) - s0) / (s - s0)

    n = len(groups)
    insertion = [with_on(order[:k]) for k in range(n + 1)]
    deletion = [with_on(order[k:]) for k in range(n + 1)]
    x = np.arange(n + 1) / n
    return float(np.trapezoid(deletion, x)), float(np.trapezoid(insertion, x))


# ---- Attributions page -----------------------------------------------------------------------------


@pytest.mark.slow
def test_pair_card_over_18_fields_says_ground_truth_is_unavailable_and_matches_report_card(aligned):
    user, item = aligned.user_ids[4], aligned.item_ids[7]
    at = _attributions_page(aligned, user, item)
    at.run()
    # Aligned models open on the dataset-mean baseline; this card is checked on zeros (φ enumerated below).
    assert at.radio(key="attributions_baseline").value == "mean"
    at.radio(key="attributions_baseline").set_value("zeros").run()
    assert not at.exception, at.exception
    warning = next(w.value for w in at.warning if w.value.startswith("This report card has no exact ground truth"))
    assert "18 fields" in warning and "Shapley Value Sampling (200 random permutations)" in warning
    target = targets_for(aligned, aligned.user_rows([user]), aligned.item_rows([item]), "fields", "zeros")
    direct = report_card(target, methods=PAGE_DEFAULT_COMPARE)
    assert direct.reference == "shapley_sampling"
    names = {
        "shapley_sampling": "Shapley Value Sampling",
        "ig": "Integrated Gradients",
        "saliency": "Saliency",
        "input_x_gradient": "Input × Gradient",
        "feature_ablation": "Feature Ablation",
    }
    card = _card(at)
    _assert_card_equals(card, direct, names)
    u, v = aligned.user_rows([user]), aligned.item_rows([item])
    _assert_ranking(card, direct, names, _score_scale(aligned, u, v, torch.zeros_like(u), torch.zeros_like(v)))


def test_families_grouping_gives_exact_ground_truth_checked_by_enumeration_and_captum(aligned):
    user, item = aligned.user_ids[4], aligned.item_ids[7]
    at = _attributions_page(aligned, user, item)
    at.run()
    at.radio(key="attributions_card_grouping_fields").set_value("families")
    at.radio(key="attributions_baseline").set_value("zeros")  # aligned models open on "mean"
    at.run()
    assert not at.exception, at.exception
    families = aligned.featurizer.groups("user")
    assert [(g.name, g.start, g.stop) for g in families] == [
        (g.name, g.start, g.stop) for g in aligned.featurizer.groups("item")
    ]
    assert any(
        s.value.startswith(f"Ground truth: exact Shapley values over the {len(families)} feature families")
        for s in at.success
    )
    card = _card(at)
    # The same card from attnrec.explain directly, on groups built here.
    groups = [Group(g.name, tuple(range(g.start, g.stop)), tuple(range(g.start, g.stop))) for g in families]
    target = targets_for(aligned, aligned.user_rows([user]), aligned.item_rows([item]), "fields", "zeros")
    direct = report_card(replace(target, groups=groups), methods=PAGE_DEFAULT_COMPARE)
    names = {
        "shapley_exact": "Exact Shapley",
        "ig": "Integrated Gradients",
        "saliency": "Saliency",
        "input_x_gradient": "Input × Gradient",
        "feature_ablation": "Feature Ablation",
    }
    _assert_card_equals(card, direct, names)
    # Independent numbers for the IG row: exact Shapley by enumerating all 2^9 coalitions, IG from Captum.
    u, v = aligned.user_rows([user]), aligned.item_rows([item])
    bu, bv = torch.zeros_like(u), torch.zeros_like(v)
    cols = [(range(g.start, g.stop), range(g.start, g.stop)) for g in families]
    phi = _exact_shapley(aligned, u, v, bu, bv, cols)
    ig_u, ig_v = IntegratedGradients(aligned).attribute((u, v), baselines=(bu, bv), n_steps=50, method="gausslegendre")
    ig_u, ig_v = ig_u.detach().double().numpy()[0], ig_v.detach().double().numpy()[0]
    ig = np.array([ig_u[c].sum() + ig_v[c].sum() for c, _ in cols])
    with torch.no_grad():
        change = float(aligned(u, v)[0] - aligned(bu, bv)[0])
    row = card.loc["Integrated Gradients"]
    assert row["max_abs_error"] == pytest.approx(np.abs(ig - phi).max(), rel=1e-3, abs=1e-7)
    # Four families equal the baseline on both sides here: φ = IG = 0 exactly for them, a four-way tie.
    assert (phi == 0).sum() >= 2 and set(np.flatnonzero(phi == 0)) == set(np.flatnonzero(ig == 0))
    assert row["kendall_tau"] == pytest.approx(kendalltau(ig, phi).statistic, abs=1e-6)
    assert row["top_k_overlap"] == pytest.approx(_top_k(ig, phi))
    assert row["verdict"] == verdict(kendalltau(ig, phi).statistic, _top_k(ig, phi), row["relative_gap"], 3)[0]
    # The other rows: τ and top-k against the enumerated φ.
    _assert_ranking(card, direct, names, _score_scale(aligned, u, v, bu, bv), reference=phi)
    assert row["completeness_gap"] == pytest.approx(ig.sum() - change, abs=1e-5)
    deletion, insertion = _deletion_insertion_areas(aligned, u, v, bu, bv, cols, ig)
    assert row["deletion_auc"] == pytest.approx(deletion, abs=1e-4)
    assert row["insertion_auc"] == pytest.approx(insertion, abs=1e-4)
    assert card.loc["Exact Shapley", "completeness_gap"] == pytest.approx(phi.sum() - change, abs=1e-7)
    # The curves drawn are the card's mean curves, one line per method on each panel.
    curves = _figure(at, "attributions_curves")
    assert [t["name"] for t in curves["data"][::2]] == list(card.index)


def test_dimension_level_card_has_attention_and_the_verdict_matches_agreement_verdict(latent):
    user, item = latent.user_ids[1], latent.item_ids[20]
    at = _attributions_page(latent, user, item)
    at.run()
    at.radio(key="attributions_level").set_value("dimensions")
    at.run()
    assert not at.exception, at.exception
    card = _card(at)
    chosen = ["ig", "saliency", "input_x_gradient", "feature_ablation", "attention"]
    target = targets_for(latent, latent.user_rows([user]), latent.item_rows([item]), "dimensions", "zeros")
    direct = report_card(target, methods=chosen)
    names = {
        "shapley_exact": "Exact Shapley",
        "ig": "Integrated Gradients",
        "saliency": "Saliency",
        "input_x_gradient": "Input × Gradient",
        "feature_ablation": "Feature Ablation",
        "attention": "Attention weights",
    }
    _assert_card_equals(card, direct, names)
    # Attention vs exact Shapley, from scratch: attention weights of `attend`, φ by enumeration over d = 6.
    with torch.no_grad():
        x, y = latent.encode_user(latent.user_rows([user])), latent.encode_item(latent.item_rows([item]))
    score = lambda xx, yy: attend(xx, yy, latent.w_u, latent.w_v, latent.temperature).s  # noqa: E731
    trace = attend(x, y, latent.w_u, latent.w_v, latent.temperature)
    attention = (trace.a_u.mean(dim=1) + trace.a_v.mean(dim=1))[0].detach().double().numpy()
    paired = [((i,), (i,)) for i in range(latent.d)]
    phi = _exact_shapley(score, x, y, torch.zeros_like(x), torch.zeros_like(y), paired)
    tau = kendalltau(attention, np.abs(phi)).statistic
    assert _verdict_box(at) == agreement_verdict([tau], "Exact Shapley")
    ig_x, ig_y = IntegratedGradients(score).attribute(
        (x, y), baselines=(torch.zeros_like(x), torch.zeros_like(y)), n_steps=50, method="gausslegendre"
    )
    ig = (ig_x + ig_y)[0].detach().double().numpy()
    per_pair = _table(at, "method", "kendall_tau", "reading").set_index("method")
    assert per_pair.loc["Exact Shapley", "kendall_tau"] == pytest.approx(tau, abs=1e-6)
    assert per_pair.loc["Integrated Gradients", "kendall_tau"] == pytest.approx(
        kendalltau(attention, np.abs(ig)).statistic, abs=1e-6
    )
    assert per_pair.loc["Exact Shapley", "reading"] == agreement_verdict([tau]).split(":")[0]
    # Attention's own row in the card: its importance against φ.
    assert card.loc["Attention weights", "kendall_tau"] == pytest.approx(kendalltau(attention, phi).statistic, abs=1e-6)


# ---- Model health page --------------------------------------------------------------------------------

SAMPLE = 10
HEALTH_METHODS = ["ig", "saliency", "attention"]


@pytest.fixture(scope="module", autouse=True)
def kept_folder(tmp_path_factory):
    """Model health keeps what it ran on disk (attnrec.kept_results): in a folder of this module only, so nothing
    another test ran is shown here as already run."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("kept-cache")
        patch.setenv("ATTNREC_CACHE_DIR", str(folder))
        yield folder


def _health_session(latent):
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["user_models"] = {"page-test": latent}
    at.session_state["attnrec_model_restaurants"] = "page-test"
    at.session_state["health_mf_epochs"] = 3
    at.session_state["health_pairs"] = 100
    at.session_state["health_trust_pairs"] = SAMPLE
    at.session_state["health_trust_methods_dimensions"] = HEALTH_METHODS
    at.session_state["health_sanity_pairs"] = 5
    at.run()
    at.switch_page("app_pages/health.py").run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def health(latent):
    at = _health_session(latent)
    # The card over the sample runs on request (it takes tens of seconds), then stays for these settings.
    assert not any("kendall_tau" in d.value.columns for d in at.dataframe)
    at.button(key="health_trust_run").click().run()
    assert not at.exception, at.exception
    return at


def _sample(model, n):
    pairs = model.dataset.interactions.sample(n=n, random_state=0)  # the page's sample: seed 0
    return [str(u) for u in pairs["user_id"]], [str(i) for i in pairs["item_id"]]


def test_health_card_over_the_sample_equals_report_card_and_exact_shapley(health, latent):
    users, items = _sample(latent, SAMPLE)
    target = targets_for(latent, latent.user_rows(users), latent.item_rows(items), "dimensions", "zeros")
    direct = report_card(target, methods=HEALTH_METHODS)
    card = _card(health)
    _assert_card_equals(
        card,
        direct,
        {
            "shapley_exact": "Exact Shapley",
            "ig": "Integrated Gradients",
            "saliency": "Saliency",
            "attention": "Attention weights",
        },
    )
    # IG's median τ with the truth, from scratch: Captum IG and enumerated Shapley per pair.
    with torch.no_grad():
        x, y = latent.encode_user(latent.user_rows(users)), latent.encode_item(latent.item_rows(items))
    score = lambda xx, yy: attend(xx, yy, latent.w_u, latent.w_v, latent.temperature).s  # noqa: E731
    ig_x, ig_y = IntegratedGradients(score).attribute(
        (x, y), baselines=(torch.zeros_like(x), torch.zeros_like(y)), n_steps=50, method="gausslegendre"
    )
    ig = (ig_x + ig_y).detach().double().numpy()
    paired = [((i,), (i,)) for i in range(latent.d)]
    zeros = torch.zeros(1, latent.d)
    phi = np.stack([_exact_shapley(score, x[b : b + 1], y[b : b + 1], zeros, zeros, paired) for b in range(SAMPLE)])
    taus = [kendalltau(ig[b], phi[b]).statistic for b in range(SAMPLE)]
    assert card.loc["Integrated Gradients", "kendall_tau"] == pytest.approx(np.median(taus), abs=1e-6)
    assert card.loc["Integrated Gradients", "top_k_overlap"] == pytest.approx(
        np.mean([_top_k(ig[b], phi[b]) for b in range(SAMPLE)])
    )
    # Attention vs attributions over the sample: histogram of τ per pair, and the verdict.
    trace = attend(x, y, latent.w_u, latent.w_v, latent.temperature)
    attention = (trace.a_u.mean(dim=1) + trace.a_v.mean(dim=1)).detach().double().numpy()
    tau_exact = np.array([kendalltau(attention[b], np.abs(phi[b])).statistic for b in range(SAMPLE)])
    assert _verdict_box(health) == agreement_verdict(tau_exact, "Exact Shapley")
    figure = _figure(health, "health_agreement")
    titles = [a["text"] for a in figure["layout"]["annotations"]]
    assert titles[0].startswith("Exact Shapley") and titles[1].startswith("Integrated Gradients")
    counts, _ = np.histogram(tau_exact, bins=np.linspace(-1, 1, 21))
    np.testing.assert_array_equal(_array(figure["data"][0]["y"]), counts)
    tau_ig = np.array([kendalltau(attention[b], np.abs(ig[b])).statistic for b in range(SAMPLE)])
    counts, _ = np.histogram(tau_ig, bins=np.linspace(-1, 1, 21))
    np.testing.assert_array_equal(_array(figure["data"][1]["y"]), counts)
    summary = _table(health, "method", "median_tau", "verdict").set_index("method")
    assert summary.loc["Integrated Gradients", "median_tau"] == pytest.approx(np.median(tau_ig), abs=1e-9)
    assert summary.loc["Exact Shapley", "verdict"] == agreement_verdict(tau_exact).split(":")[0]


def test_sanity_checks_run_on_the_button_and_match_cascading_randomization(health, latent):
    assert not any(
        "median ρ" in list(d.value.columns) or "spearman_median" in d.value.columns for d in health.dataframe
    )
    health.button(key="health_sanity_run").click()
    health.run()
    assert not health.exception, health.exception
    shown = _table(health, "name", "stage", "spearman_median", "flagged").set_index("name")
    users, items = _sample(latent, 5)
    rows_u, rows_v = latent.user_rows(users), latent.item_rows(items)
    results = cascading_randomization(
        latent, lambda m: targets_for(m, rows_u, rows_v, "dimensions", "zeros"), HEALTH_METHODS
    )
    verdicts = sanity_verdicts(results).set_index("method")
    names = {"ig": "Integrated Gradients", "saliency": "Saliency", "attention": "Attention weights"}
    for key, name in names.items():
        assert shown.loc[name, "spearman_median"] == pytest.approx(verdicts.loc[key, "spearman_median"], abs=1e-12)
        assert bool(shown.loc[name, "flagged"]) == bool(verdicts.loc[key, "flagged"])
        assert shown.loc[name, "stage"] == "attention weights + encoders"
    lines = _figure(health, "health_sanity")
    ig_line = next(t for t in lines["data"] if t["name"] == "Integrated Gradients")
    np.testing.assert_allclose(
        _array(ig_line["y"]).astype(float), [1.0] + results.loc[results["method"] == "ig", "spearman_median"].tolist()
    )
    earlier = results[(results["stage"] == "attention weights") & (results["spearman_median"] > 0.9)]
    notes = [i.value for i in health.info if i.value.startswith("After randomizing only the attention weights")]
    assert len(notes) == (1 if len(earlier) else 0)
    for key in earlier["method"]:
        assert names[key] in notes[0]
    flagged = [names[k] for k in verdicts.index[verdicts["flagged"]]]
    messages = [w.value for w in health.warning if w.value.startswith("Barely change")]
    assert (messages and all(n in messages[0] for n in flagged)) if flagged else not messages


def test_batch_parquet_upload_is_summarised_from_the_file(health, latent, tmp_path):
    users, items = _sample(latent, 8)
    out = explain_pairs(
        latent,
        pd.DataFrame({"user_id": users, "item_id": items}),
        ["ig", "attention"],
        tmp_path / "out.parquet",
        level="dimensions",
        progress=False,
    )
    health.file_uploader(key="health_batch_upload").upload("out.parquet", out.read_bytes())
    health.run()
    assert not health.exception, health.exception
    assert not [e.value for e in health.error]
    frame = pq.read_table(out).to_pandas()
    per_method = _table(health, "method", "pairs", "median relative gap").set_index("method")
    assert list(per_method.index) == ["Integrated Gradients", "Attention weights"]
    for key, name in (("ig", "Integrated Gradients"), ("attention", "Attention weights")):
        one = frame[frame["method"] == key].drop_duplicates("pair")
        relative = (one["completeness_gap"].abs() / (one["s"] - one["s_baseline"]).abs()).median()
        assert per_method.loc[name, "pairs"] == 8
        assert per_method.loc[name, "median relative gap"] == pytest.approx(relative, rel=1e-6)
    top = _table(health, "group", "share_ranked_first").set_index("group")  # first method in the file: IG
    ig = frame[frame["method"] == "ig"]
    firsts = ig[ig["rank"] == 1]["group"].value_counts() / 8
    for group, share in firsts.items():
        assert top.loc[group, "share_ranked_first"] == pytest.approx(share)
    # τ between the file's attention rows and |IG| per pair, as a histogram.
    wide = ig.pivot(index="pair", columns="group", values="attribution")
    att = frame[frame["method"] == "attention"].pivot(index="pair", columns="group", values="attribution")
    taus = [kendalltau(att.loc[p], wide.loc[p, att.columns].abs()).statistic for p in att.index]
    counts, _ = np.histogram(taus, bins=np.linspace(-1, 1, 21))
    np.testing.assert_array_equal(_array(_figure(health, "health_batch_agreement")["data"][0]["y"]), counts)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("broken.parquet", b"PAR1 this is not really parquet", "not a readable Parquet file"),
        ("empty.parquet", b"", "empty"),
        ("other.parquet", None, "not an `attnrec explain` output"),
    ],
)
def test_a_broken_batch_file_gives_a_message_not_an_exception(health, name, content, message, tmp_path, monkeypatch):
    if content is None:  # a valid Parquet file with other columns
        sink = io.BytesIO()
        pq.write_table(pa.table({"user": ["a"], "score": [1.0]}), sink)
        content = sink.getvalue()
    health.file_uploader(key="health_batch_upload").upload(name, content)
    health.run()
    assert not health.exception, health.exception
    errors = [e.value.replace("\\", "") for e in health.error]
    assert len(errors) == 1 and message in errors[0] and name in errors[0], errors
    health.file_uploader(key="health_batch_upload").set_value(None)
    # Server paths are read only inside the folder the operator configured (ATTNREC_BATCH_DIR).
    monkeypatch.setenv("ATTNREC_BATCH_DIR", str(tmp_path))
    health.run()
    health.text_input(key="health_batch_path").input("out.parquet")
    health.run()
    assert not health.exception
    assert any("no such file in the batch folder" in e.value.replace("\\", "") for e in health.error)
    health.text_input(key="health_batch_path").input("")
    health.run()


def test_batch_reader_names_the_wrong_column_and_refuses_other_paths(tmp_path, latent):
    from attnrec.explain.batch_reader import BatchFileError, read_batch_explanations

    users, items = _sample(latent, 3)
    out = explain_pairs(
        latent,
        pd.DataFrame({"user_id": users, "item_id": items}),
        ["ig"],
        tmp_path / "ok.parquet",
        level="dimensions",
        progress=False,
    )
    table = pq.read_table(out)
    frame = read_batch_explanations(out.read_bytes())
    assert len(frame) == table.num_rows == 3 * latent.d
    np.testing.assert_array_equal(frame["attribution"].to_numpy(), table.column("attribution").to_numpy())
    bad = table.set_column(
        table.schema.get_field_index("attribution"), "attribution", pa.array(["high"] * table.num_rows)
    )
    sink = io.BytesIO()
    pq.write_table(bad, sink)
    with pytest.raises(BatchFileError, match="column 'attribution' holds string, expected double"):
        read_batch_explanations(sink.getvalue())
    sink = io.BytesIO()
    pq.write_table(table.slice(0, 0), sink)
    with pytest.raises(BatchFileError, match="no rows"):
        read_batch_explanations(sink.getvalue())
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(BatchFileError, match="only .parquet"):
        read_batch_explanations(tmp_path / "notes.txt")


def test_a_new_session_shows_the_kept_card_and_sanity_checks_without_running_them(latent, tmp_path, monkeypatch):
    """Once run, the card (with attention vs attributions) and the sanity checks are kept on disk for this model and
    these settings: a new session (or a restarted server) shows the very same tables at once, and says so."""
    monkeypatch.setenv("ATTNREC_CACHE_DIR", str(tmp_path))  # this test's own folder: the others start with none
    ran = _health_session(latent)
    assert not any("kendall_tau" in d.value.columns for d in ran.dataframe)
    ran.button(key="health_trust_run").click().run()
    ran.button(key="health_sanity_run").click().run()
    assert not ran.exception, ran.exception
    assert {p.name.split("-")[0] for p in (tmp_path / "kept").glob("*.json")} == {"trust", "sanity"}

    fresh = _health_session(latent)
    assert "health_trust_request" not in fresh.session_state and "health_sanity_request" not in fresh.session_state
    pd.testing.assert_frame_equal(_card(fresh), _card(ran))
    assert _verdict_box(fresh) == _verdict_box(ran)
    for key in ("health_curves", "health_agreement", "health_sanity"):
        assert _figure(fresh, key)["data"] == _figure(ran, key)["data"]
    columns = ("name", "stage", "spearman_median", "flagged")
    pd.testing.assert_frame_equal(_table(fresh, *columns), _table(ran, *columns))
    kept_notes = [c.value for c in fresh.caption if c.value.startswith("Kept from an earlier run")]
    assert len(kept_notes) == 2
    assert fresh.button(key="health_trust_run").label == "Run it again"
    assert fresh.button(key="health_sanity_run").label == "Run again"
    # Other settings were never run: nothing kept is shown for them.
    fresh.slider(key="health_sanity_pairs").set_value(10).run()
    assert not any("spearman_median" in d.value.columns for d in fresh.dataframe)

"""AppTest of app_pages/insights.py (Dataset-wide view), every number checked against numpy computed here:
global importance (exact contributions, families, IG completeness), dependence, slices (HR@10 / NDCG@10 /
attention entropy per slice, worst slice) and two models on one pair and on the same held-out users."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from attnrec.data import Featurizer, load_dataset
from attnrec.evaluation import leave_one_out
from attnrec.model import Recommender
from plotly_json import decode_array as _array

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "insights.py")


# ---- the models and an independent numpy copy of their math ------------------------------------------


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("restaurants")


@pytest.fixture(scope="module")
def latent(dataset):
    torch.manual_seed(3)
    return Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=6, heads=2)


@pytest.fixture(scope="module")
def latent_b(dataset):
    torch.manual_seed(5)
    return Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=4, heads=1)


@pytest.fixture(scope="module")
def aligned(dataset):
    torch.manual_seed(7)
    m = Recommender.from_featurizer(Featurizer.fit(dataset, "aligned"), dataset, heads=2)
    with torch.no_grad():  # make the attention matter: random, larger W
        m.w_u.normal_(0, 2.0)
        m.w_v.normal_(0, 2.0)
    return m


def _numpy(t):
    return t.detach().double().cpu().numpy()


def _encode(model, side, ids):
    enc = model.users if side == "user" else model.items
    r = enc.matrix[[enc.row_of(str(i)) for i in ids]].astype(np.float64)
    encoder = model.user_encoder if side == "user" else model.item_encoder
    if model.mode == "latent":
        return r @ _numpy(encoder.linear.weight).T + _numpy(encoder.linear.bias)
    scale = np.log1p(np.exp(_numpy(encoder.scale)))  # softplus
    return scale * r[:, : len(scale)]


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _trace(model, x, y):
    """(A_U, A_V, C) with C (n, H, d) = A_U·A_V·X·Y; S = C summed over heads and dimensions."""
    p = x * y
    a_u = _softmax(np.einsum("hij,nj->nhi", _numpy(model.w_u), p) / model.temperature)
    a_v = _softmax(np.einsum("hij,nj->nhi", _numpy(model.w_v), p) / model.temperature)
    return a_u, a_v, a_u * a_v * p[:, None, :]


def _pairs_trace(model, users, items):
    x, y = _encode(model, "user", users), _encode(model, "item", items)
    return (x, y) + _trace(model, x, y)


def _catalog_scores(model, user):
    x = _encode(model, "user", [user])
    y = _encode(model, "item", model.item_ids)
    return _trace(model, np.repeat(x, len(y), axis=0), y)[2].sum(axis=(1, 2))


def _entropy(a):
    return -(a * np.log(np.clip(a, 1e-300, None))).sum(-1) / np.log(a.shape[-1])


def _leave_one_out_reference(model, dataset, k=10):
    """Per held-out user: expected hit@k, ndcg@k (uniform tie order), expected rank, all in numpy."""
    split = leave_one_out(dataset, seed=0)  # the split itself is the protocol; everything after is ours
    inter = dataset.interactions
    rows = []
    for user, item in zip(split.held_out["user_id"], split.held_out["item_id"]):
        scores = dict(zip(model.item_ids, _catalog_scores(model, user)))
        touched = set(inter.loc[inter["user_id"].astype(str) == user, "item_id"].astype(str))
        negatives = np.array([scores[i] for i in model.item_ids if i not in touched])
        mine = scores[item]
        above, ties = int((negatives > mine).sum()), int((negatives == mine).sum())
        positions = np.arange(above + 1, above + ties + 2)
        rows.append(
            {
                "user_id": user,
                "item_id": item,
                "hit": np.mean(positions <= k),
                "ndcg": np.mean(np.where(positions <= k, 1 / np.log2(positions + 1), 0.0)),
                "rank": 1 + above + ties / 2,
            }
        )
    return pd.DataFrame(rows)


def _touched(dataset, user):
    inter = dataset.interactions
    return inter.loc[inter["user_id"].astype(str) == user, "item_id"].astype(str).nunique()


# ---- running the page ---------------------------------------------------------------------------------


def _page(models: dict, first: str, through_app: bool = False, **state):
    """The page with session models; `through_app` opens it from app.py (whose first page is Explore), which
    links to other pages need; otherwise the page script runs alone (faster)."""
    at = AppTest.from_file(APP if through_app else PAGE, default_timeout=180)
    at.session_state["user_models"] = models
    at.session_state["attnrec_model_restaurants"] = first
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if through_app:
        at.switch_page("app_pages/insights.py").run()
    assert not at.exception, at.exception
    return at


def _figure(at, key):
    chart = next(c for c in at.get("plotly_chart") if key in c.proto.id)
    return json.loads(chart.proto.spec)


def _frame(at, columns):
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


@pytest.fixture(scope="module")
def drivers(latent):
    at = _page({"page-test": latent}, "page-test")
    at.slider(key="insights_pairs").set_value(100)
    at.radio(key="insights_kind").set_value("dimensions")
    at.run()
    assert not at.exception, at.exception
    return at


def _dimensions(at):
    """The module's page with the exact per-dimension view (tests here change other widgets, in any order)."""
    if at.radio(key="insights_kind").value != "dimensions":
        at.radio(key="insights_kind").set_value("dimensions")
        at.run()
        assert not at.exception, at.exception
    return at


def test_the_sample_is_each_users_positives_and_as_many_never_seen_items(drivers, dataset):
    pairs = _frame(drivers, ["user_id", "item_id", "label", "s"])
    assert len(pairs) == 100
    inter = dataset.interactions.astype({"user_id": str, "item_id": str})
    positives = set(zip(inter.loc[inter["label"] == 1, "user_id"], inter.loc[inter["label"] == 1, "item_id"]))
    touched = set(zip(inter["user_id"], inter["item_id"]))
    for row in pairs.itertuples():
        if row.label == 1:
            assert (row.user_id, row.item_id) in positives
        else:
            assert (row.user_id, row.item_id) not in touched
    per_user = pairs.groupby("user_id", sort=False)["label"].agg(["sum", "count"])
    assert (per_user["sum"] <= 5).all()
    complete = per_user.iloc[:-1]  # the last user may be cut off when the sample fills up
    assert (complete["count"] == 2 * complete["sum"]).all()


def test_summary_and_bars_are_the_exact_contributions(drivers, latent):
    _dimensions(drivers)
    pairs = _frame(drivers, ["user_id", "item_id", "label", "s"])
    x, y, a_u, a_v, c = _pairs_trace(latent, pairs["user_id"], pairs["item_id"])
    per_dim = c.sum(axis=1)  # (n, d): the exact split of S
    np.testing.assert_allclose(pairs["s"], per_dim.sum(axis=1), rtol=1e-4, atol=1e-6)
    mean_abs = np.abs(per_dim).mean(axis=0)
    order = np.argsort(-mean_abs)
    summary = _figure(drivers, "insights_summary")
    assert [t["name"] for t in summary["data"]] == [f"latent {j + 1}" for j in order]
    for trace, j in zip(summary["data"], order):
        np.testing.assert_allclose(_array(trace["x"]), per_dim[:, j], rtol=1e-4, atol=1e-7)
        value = (x * y)[:, j]
        scaled = (value - value.min()) / (value.max() - value.min())
        np.testing.assert_allclose(_array(trace["marker"]["color"]), scaled, atol=1e-4)
    bars = _figure(drivers, "insights_bars")["data"][0]
    np.testing.assert_allclose(_array(bars["x"])[::-1], mean_abs[order], rtol=1e-4)
    assert list(bars["y"])[::-1] == [f"latent {j + 1}" for j in order]


def test_dependence_plots_a_dimensions_value_against_its_contribution_and_s_per_attribute(drivers, latent, dataset):
    at = _dimensions(drivers)
    at.selectbox(key="insights_dependence_feature").set_value("latent 3")
    at.radio(key="insights_attr_side").set_value("item")
    at.run()
    at.selectbox(key="insights_attr_item").set_value("price")
    at.run()
    assert not at.exception, at.exception
    pairs = _frame(at, ["user_id", "item_id", "label", "s"])
    x, y, _, _, c = _pairs_trace(latent, pairs["user_id"], pairs["item_id"])
    scatter = _figure(at, "insights_dependence")["data"][0]
    np.testing.assert_allclose(_array(scatter["x"]), x[:, 2] * y[:, 2], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(_array(scatter["y"]), c.sum(axis=1)[:, 2], rtol=1e-4, atol=1e-7)
    s = c.sum(axis=(1, 2))
    price = dataset.items["price"].reindex(pairs["item_id"]).to_numpy()
    boxes = {t["name"]: _array(t["y"]) for t in _figure(at, "insights_attribute")["data"]}
    assert set(boxes) == set(pd.unique(price))
    for value, shown in boxes.items():
        np.testing.assert_allclose(np.sort(shown), np.sort(s[price == value]), rtol=1e-4, atol=1e-7)
    at.radio(key="insights_attr_side").set_value("user")
    at.run()
    at.selectbox(key="insights_attr_user").set_value("payments")  # multi-valued: "cash; VISA"
    at.run()
    assert not at.exception, at.exception
    payments = dataset.users["payments"].reindex(pairs["user_id"]).to_numpy()
    boxes = {t["name"]: _array(t["y"]) for t in _figure(at, "insights_attribute")["data"]}
    for value, shown in boxes.items():
        mask = np.array(
            [
                value in ([v.strip() for v in str(cell).split(";")] if pd.notna(cell) else ["(missing)"])
                for cell in payments
            ]
        )
        np.testing.assert_allclose(np.sort(shown), np.sort(s[mask]), rtol=1e-4, atol=1e-7)
    assert sum(len(v) for v in boxes.values()) > len(pairs)  # some users pay several ways


def test_integrated_gradients_over_fields_add_up_to_the_score_change(latent):
    at = _page({"page-test": latent}, "page-test")
    at.slider(key="insights_pairs").set_value(100)
    at.radio(key="insights_kind").set_value("fields")
    at.run()
    assert not at.exception, at.exception
    pairs = _frame(at, ["user_id", "item_id", "label", "s"])
    table = _frame(at, ["feature", "mean_abs", "mean", "share_positive"])
    s = _pairs_trace(latent, pairs["user_id"], pairs["item_id"])[-1].sum(axis=(1, 2))
    # Baseline "zeros" (latent default): raw rows of zeros, so X and Y are the encoders' biases.
    bx, by = _numpy(latent.user_encoder.linear.bias)[None], _numpy(latent.item_encoder.linear.bias)[None]
    s_base = _trace(latent, bx, by)[2].sum()
    assert len(table) == len(latent.featurizer.groups("user")) + len(latent.featurizer.groups("item"))
    assert table["mean"].sum() == pytest.approx(np.mean(s - s_base), rel=1e-2, abs=1e-4)
    assert list(table["mean_abs"]) == sorted(table["mean_abs"], reverse=True)


def test_families_sum_the_dimensions_of_each_family(aligned):
    at = _page({"page-aligned": aligned}, "page-aligned")
    at.slider(key="insights_pairs").set_value(60)
    at.run()
    assert at.radio(key="insights_kind").value == "families"  # the aligned default
    pairs = _frame(at, ["user_id", "item_id", "label", "s"])
    _, _, _, _, c = _pairs_trace(aligned, pairs["user_id"], pairs["item_id"])
    per_dim = c.sum(axis=1)
    families = {g.name: per_dim[:, g.start : g.stop].sum(axis=1) for g in aligned.featurizer.groups("user")}
    table = _frame(at, ["feature", "mean_abs", "mean", "share_positive"]).set_index("feature")
    assert set(table.index) == set(families)
    for name, values in families.items():
        assert table.loc[name, "mean_abs"] == pytest.approx(np.abs(values).mean(), rel=1e-4, abs=1e-8)
        assert table.loc[name, "mean"] == pytest.approx(values.mean(), rel=1e-4, abs=1e-8)
    np.testing.assert_allclose(sum(families.values()), pairs["s"], rtol=1e-4, atol=1e-6)


# ---- slices -------------------------------------------------------------------------------------------


def test_slices_by_item_price_match_a_numpy_leave_one_out(latent, dataset):
    at = _page({"page-test": latent}, "page-test", through_app=True, insights_view="slices")
    at.radio(key="widget_insights_slice_side").set_value("item")
    at.run()
    at.selectbox(key="widget_insights_slice_column_item").set_value("price")
    at.run()
    assert not at.exception, at.exception
    table = _frame(at, ["slice", "users", "HR@10", "NDCG@10", "attention entropy", "worst"]).set_index("slice")
    ref = _leave_one_out_reference(latent, dataset)
    ref["slice"] = dataset.items["price"].reindex(ref["item_id"]).fillna("(missing)").to_numpy()
    _, _, a_u, a_v, _ = _pairs_trace(latent, ref["user_id"], ref["item_id"])
    ref["entropy"] = (_entropy(a_u).mean(axis=1) + _entropy(a_v).mean(axis=1)) / 2
    expected = ref.groupby("slice").agg(
        users=("hit", "size"), hr=("hit", "mean"), ndcg=("ndcg", "mean"), entropy=("entropy", "mean")
    )
    assert set(table.index) == set(expected.index)
    for name, row in expected.iterrows():
        assert table.loc[name, "users"] == row["users"]
        assert table.loc[name, "HR@10"] == pytest.approx(row["hr"], abs=1e-9)
        assert table.loc[name, "NDCG@10"] == pytest.approx(row["ndcg"], abs=1e-9)
        assert table.loc[name, "attention entropy"] == pytest.approx(row["entropy"], abs=1e-5)
    eligible = expected[expected["users"] >= 5].sort_values(["hr", "ndcg"])
    assert list(table.index[table["worst"]]) == [eligible.index[0]]
    warning = [w.value for w in at.warning if w.value.startswith("Worst slice")]
    assert warning and f"“{eligible.index[0]}”" in warning[0]
    bars = _figure(at, "insights_slices")["data"][0]
    assert bars["marker"]["color"][list(bars["x"]).index(eligible.index[0])] == "#c0392b"
    line = _figure(at, "insights_slices")["layout"]["shapes"][0]
    assert line["y0"] == pytest.approx(ref["hit"].mean(), abs=1e-9)  # every held-out user, one slice each
    # The worst slice's lowest-ranked held-out pairs, one click from Explore.
    worst = ref[ref["slice"] == eligible.index[0]].sort_values("rank", ascending=False, kind="stable").head(5)
    listed = [m.value for m in at.markdown if "held-out item ranked" in m.value]
    assert listed == [
        f"user {r.user_id} · item {r.item_id} — held-out item ranked {r.rank:g} of {int(r.candidates)} candidates"
        for r in worst.assign(
            candidates=[len(latent.item_ids) - _touched(dataset, u) + 1 for u in worst["user_id"]]
        ).itertuples()
    ]
    first = worst.iloc[0]
    next(b for b in at.button if b.key and b.key.startswith("insights_worst_")).click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["explore_user"] == first["user_id"]
    assert at.session_state["explore_item"] == first["item_id"]
    assert [t.value for t in at.title][0].startswith("Explore")


def test_multi_valued_item_attribute_puts_a_user_in_each_values_slice(latent, dataset):
    at = _page({"page-test": latent}, "page-test", insights_view="slices")
    at.radio(key="widget_insights_slice_side").set_value("item")
    at.run()
    at.selectbox(key="widget_insights_slice_column_item").set_value("parking")
    at.run()
    assert not at.exception, at.exception
    table = _frame(at, ["slice", "users", "HR@10", "NDCG@10", "worst"]).set_index("slice")
    ref = _leave_one_out_reference(latent, dataset)
    parking = dataset.items["parking"].reindex(ref["item_id"])
    values = [set(v.strip() for v in str(cell).split(";")) if pd.notna(cell) else {"(missing)"} for cell in parking]
    names = set().union(*values)
    assert set(table.index) == names and len(names) > 1
    for name in names:
        mask = np.array([name in v for v in values])
        assert table.loc[name, "users"] == mask.sum()
        assert table.loc[name, "HR@10"] == pytest.approx(ref["hit"][mask].mean(), abs=1e-9)
        assert table.loc[name, "NDCG@10"] == pytest.approx(ref["ndcg"][mask].mean(), abs=1e-9)
    line = _figure(at, "insights_slices")["layout"]["shapes"][0]
    assert line["y0"] == pytest.approx(ref["hit"].mean(), abs=1e-9)
    assert any("slices overlap" in c.value for c in at.caption)


def test_numeric_user_attribute_is_cut_into_quantile_bins(latent, dataset):
    at = _page({"page-test": latent}, "page-test", insights_view="slices")
    at.selectbox(key="widget_insights_slice_column_user").set_value("birth_year")
    at.number_input(key="insights_slice_bins").set_value(3)
    at.run()
    assert not at.exception, at.exception
    table = _frame(at, ["slice", "users", "HR@10"])
    years = dataset.users["birth_year"].astype(float)
    edges = np.quantile(years.dropna(), [0, 1 / 3, 2 / 3, 1])
    held = leave_one_out(dataset, seed=0).held_out
    held_years = years.reindex(held["user_id"]).to_numpy()
    bins = np.clip(np.searchsorted(edges, held_years, side="left") - 1, 0, 2)  # (a, b] bins, first closed
    expected = np.bincount(bins, minlength=3)
    shown = table[table["slice"] != "(missing)"]
    assert len(shown) == 3 and list(shown["users"]) == list(expected)
    assert shown["slice"].iloc[0].startswith(f"[{edges[0]:.4g},")
    assert table["users"].sum() == len(held)


# ---- two models -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compared(latent, latent_b):
    # Model B starts as the first other model (a shipped checkpoint); the session's earlier choice picks ours.
    at = _page(
        {"page-a": latent, "page-b": latent_b},
        "page-a",
        insights_view="models",
        explore_user="U1077",
        explore_item="135085",
        insights_model_b="page-b",
    )
    assert at.selectbox(key="widget_insights_model_b").value == "page-b"
    return at


def test_one_pair_under_both_models(compared, latent, latent_b):
    summary = _frame(compared, ["model", "S", "P(like)", "rank"]).set_index("model")
    assert list(summary.index) == ["page-a", "page-b"]
    tops = [d.value for d in compared.dataframe if "dimension" in d.value.columns]
    attended_frames = dict(
        zip(["page-a", "page-b"], [d.value for d in compared.dataframe if "attended" in d.value.columns])
    )
    field_frames = dict(zip(["page-a", "page-b"], [d.value for d in compared.dataframe if "field" in d.value.columns]))
    for name, model, top in (("page-a", latent, tops[0]), ("page-b", latent_b, tops[1])):
        _, _, a_u, a_v, c = _pairs_trace(model, ["U1077"], ["135085"])
        s = c.sum()
        catalog = _catalog_scores(model, "U1077")
        a, b = _numpy(model.calibration)
        assert summary.loc[name, "S"] == pytest.approx(s, rel=1e-4, abs=1e-7)
        assert summary.loc[name, "rank"] == 1 + int((catalog > catalog[model.item_ids.index("135085")]).sum())
        assert summary.loc[name, "P(like)"] == pytest.approx(1 / (1 + np.exp(-(a * s + b))), rel=1e-4)
        assert summary.loc[name, "entropy A_U"] == pytest.approx(_entropy(a_u).mean(), abs=1e-5)
        assert summary.loc[name, "entropy A_V"] == pytest.approx(_entropy(a_v).mean(), abs=1e-5)
        per_dim = c.sum(axis=1)[0]
        order = np.argsort(-np.abs(per_dim))[: min(5, model.d)]
        assert list(top["dimension"]) == [f"latent {j + 1}" for j in order]
        np.testing.assert_allclose(top["contribution"], per_dim[order], rtol=1e-4, atol=1e-8)
        attended = attended_frames[name]
        weight = ((a_u + a_v) / 2).mean(axis=1)[0]
        order = np.argsort(-weight)[: min(5, model.d)]
        assert list(attended["attended"]) == [f"latent {j + 1}" for j in order]
        np.testing.assert_allclose(attended["weight"], weight[order], rtol=1e-4)
        fields = field_frames[name]
        s_base = _trace(
            model, _numpy(model.user_encoder.linear.bias)[None], _numpy(model.item_encoder.linear.bias)[None]
        )[2].sum()
        caption = next(
            c.value for c in compared.caption if "Integrated Gradients" in c.value and f"{s - s_base:+.4g}" in c.value
        )
        assert "baseline “zeros”" in caption
        assert fields["attribution"].abs().is_monotonic_decreasing and len(fields) == 5


def test_same_held_out_users_metrics_ranks_and_who_wins(compared, latent, latent_b, dataset):
    metrics = _frame(compared, ["model", "HR@10", "NDCG@10"]).set_index("model")
    ranks = _frame(compared, ["user_id", "item_id", "rank page-a", "rank page-b"])
    ref_a, ref_b = _leave_one_out_reference(latent, dataset), _leave_one_out_reference(latent_b, dataset)
    for name, ref in (("page-a", ref_a), ("page-b", ref_b)):
        assert metrics.loc[name, "HR@10"] == pytest.approx(ref["hit"].mean(), abs=1e-9)
        assert metrics.loc[name, "NDCG@10"] == pytest.approx(ref["ndcg"].mean(), abs=1e-9)
        assert metrics.loc[name, "users"] == len(ref)
    assert list(ranks["user_id"]) == list(ref_a["user_id"])
    np.testing.assert_array_equal(ranks["rank page-a"], ref_a["rank"])
    np.testing.assert_array_equal(ranks["rank page-b"], ref_b["rank"])
    wins = {m.label: int(m.value) for m in compared.metric}
    assert wins["page\\-a ranks better"] == int((ref_a["rank"] < ref_b["rank"]).sum())
    assert wins["page\\-b ranks better"] == int((ref_b["rank"] < ref_a["rank"]).sum())
    assert wins["same rank"] == int((ref_a["rank"] == ref_b["rank"]).sum())
    scatter = _figure(compared, "insights_ranks")["data"][0]
    np.testing.assert_array_equal(_array(scatter["x"]), ref_a["rank"])
    np.testing.assert_array_equal(_array(scatter["y"]), ref_b["rank"])


# ---- data values stay data ---------------------------------------------------------------------------

LINK = '<a href="http://evil.invalid">click</a>'
IMAGE = "![x](http://evil.invalid/u.png)"
BOLD = "<b>jazz</b>"
FORMULA = '=HYPERLINK("http://evil.invalid","click")'
RAW_MARKERS = (re.compile(r"\]\(http"), re.compile(r"(?<!\\)<(img|a |b>)"))
LIVE_TAG = re.compile(r"<\s*/?\s*(a|b|i|em|s|sub|sup|span|img)(\s|>|/|$)", re.IGNORECASE)


@pytest.fixture(scope="module")
def payload_models():
    from attnrec.data import load_own_dataset

    user_ids = [IMAGE, "u-2", "u3", "u4", "u5", "u6"]
    item_ids = [LINK, FORMULA, "i3", "i4", "i5", "i6"]
    genres = [IMAGE, BOLD, "**bold**"]
    users = pd.DataFrame({"uid": user_ids, "genre": [genres[i % 3] for i in range(6)]})
    items = pd.DataFrame(
        {
            "iid": item_ids,
            "name": [LINK, BOLD, IMAGE, "n4", "n5", "n6"],
            "genre": [genres[(i + 1) % 3] for i in range(6)],
        }
    )
    rows = [(user_ids[u], item_ids[(u + k) % 6], 5 if k < 2 else 1) for u in range(6) for k in range(4)]
    schema = {
        "user_id": "uid",
        "item_id": "iid",
        "label": {"column": "rating", "threshold": 4},
        "item_name": "name",
        "user_features": {"genre": {"kind": "categorical"}},
        "item_features": {"genre": {"kind": "categorical"}},
    }
    data = load_own_dataset(users, items, pd.DataFrame(rows, columns=["uid", "iid", "rating"]), schema, name="payloads")
    torch.manual_seed(1)
    fz = Featurizer.fit(data, "latent")
    return {
        BOLD: Recommender.from_featurizer(fz, data, d=3, heads=2),
        LINK: Recommender.from_featurizer(fz, data, d=3, heads=1),
    }


def _rendered(at) -> list[str]:
    texts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success"):
        texts += [str(e.value) for e in getattr(at, kind)]
    return texts + [str(m.label) for m in at.metric]


def _figure_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _figure_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _figure_strings(item)


@pytest.mark.parametrize("view", ["drivers", "slices", "models"])
def test_payload_ids_names_and_values_are_shown_as_text(payload_models, view):
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["user_datasets"] = {"payloads": next(iter(payload_models.values())).dataset}
    at.session_state["user_models"] = payload_models
    at.session_state["attnrec_dataset"] = "payloads"
    at.session_state["attnrec_model_payloads"] = BOLD
    at.session_state["insights_view"] = view
    at.session_state["explore_user"], at.session_state["explore_item"] = IMAGE, LINK
    at.run()
    at.switch_page("app_pages/insights.py").run()
    if view == "drivers":
        at.radio(key="insights_attr_side").set_value("item")
        at.run()
        at.selectbox(key="insights_attr_item").set_value("name")
    elif view == "slices":
        at.radio(key="widget_insights_slice_side").set_value("item")
        at.run()
        at.selectbox(key="widget_insights_slice_column_item").set_value("genre")
    at.run()
    assert not at.exception, at.exception
    for text in _rendered(at):
        for marker in RAW_MARKERS:
            assert not marker.search(text), f"live markup {marker.pattern!r} in: {text}"
    strings = [s for chart in at.get("plotly_chart") for s in _figure_strings(json.loads(chart.proto.spec))]
    assert strings and not [s for s in strings if LIVE_TAG.search(s)]
    shown = " ".join(strings + _rendered(at))
    expected = {"drivers": "&lt;a href", "slices": "&lt;b&gt;jazz", "models": "&lt;b&gt;jazz"}[view]
    assert expected in shown  # the payload is there, as text
    if view in ("slices", "models"):  # downloads: every text cell spreadsheet-safe
        from test_injection import assert_formula_safe, csv_download

        frame = csv_download(at, {"slices": "insights_slices_csv", "models": "insights_ranks_csv"}[view])
        assert_formula_safe(frame)
        if view == "models":
            held = leave_one_out(next(iter(payload_models.values())).dataset, seed=0).held_out
            assert (("'" + FORMULA) in frame["item_id"].tolist()) == (FORMULA in set(held["item_id"]))
            assert FORMULA not in frame["item_id"].tolist()


def test_leaving_out_what_is_learned_from_ids_keeps_the_named_families(dataset):
    # The shipped aligned hybrid: named families plus taste dimensions learned from one-hot ids.
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["attnrec_model_restaurants"] = "restaurants-aligned"
    at.run()
    at.switch_page("app_pages/insights.py").run()
    at.slider(key="insights_pairs").set_value(50)
    at.run()
    assert not at.exception, at.exception
    full = _frame(at, ["feature", "mean_abs", "mean"]).set_index("feature")
    box = at.checkbox(key="insights_drop_ids")
    share = full.loc["taste (learned from ids)", "mean_abs"] / full["mean_abs"].sum()
    assert f"{share:.2%} of the mean |value|" in box.label
    box.check()
    at.run()
    assert not at.exception, at.exception
    named = _frame(at, ["feature", "mean_abs", "mean"]).set_index("feature")
    assert set(named.index) == set(full.index) - {"taste (learned from ids)"}
    pd.testing.assert_frame_equal(named.sort_index(), full.drop(index="taste (learned from ids)").sort_index())
    assert [t["name"] for t in _figure(at, "insights_summary")["data"]] == list(named.index[:20])


def test_a_copied_link_reopens_the_view_and_a_stale_one_warns(latent, latent_b):
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["user_models"] = {"page-test": latent}
    at.session_state["attnrec_model_restaurants"] = "page-test"
    for key, value in {"insight": "slices", "slice_side": "item", "slice_by": "price"}.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("app_pages/insights.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="widget_insights_view").value == "slices"
    assert at.selectbox(key="widget_insights_slice_column_item").value == "price"
    assert set(_frame(at, ["slice", "users", "HR@10"])["slice"]) == {"low", "medium", "high"}
    at.selectbox(key="widget_insights_slice_column_item").set_value("alcohol")
    at.run()
    assert at.query_params["slice_by"] in ("alcohol", ["alcohol"])

    stale = AppTest.from_file(APP, default_timeout=180)
    stale.session_state["user_models"] = {"page-a": latent, "page-b": latent_b}
    stale.session_state["attnrec_model_restaurants"] = "page-a"
    for key, value in {"insight": "models", "model_b": "page-b", "model_a": "no-such-model"}.items():
        stale.query_params[key] = value
    stale.run()
    stale.switch_page("app_pages/insights.py").run()
    assert not stale.exception, stale.exception
    assert stale.selectbox(key="widget_insights_model_b").value == "page-b"
    assert stale.selectbox(key="widget_insights_model_a").value == "page-a"
    assert any("no\\-such\\-model" in w.value for w in stale.warning)


def test_a_dataset_with_one_model_says_how_to_get_a_second(payload_models):
    model = payload_models[BOLD]
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["user_datasets"] = {"payloads": model.dataset}
    at.session_state["user_models"] = {"only": model}
    at.session_state["attnrec_dataset"] = "payloads"
    at.session_state["insights_view"] = "models"
    at.run()
    at.switch_page("app_pages/insights.py").run()
    assert not at.exception, at.exception
    assert any("has one model" in i.value for i in at.info)
    assert not at.get("plotly_chart")

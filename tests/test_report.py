"""pair_explanation.py and exports.py: a pair's explanation (checked against numpy), its JSON, formula-safe CSV
and escaped HTML."""

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch

from attnrec.data import Featurizer
from attnrec.data.types import Dataset
from attnrec.exports import to_csv_bytes, to_frame, to_html, to_json_dict
from attnrec.model import Recommender
from attnrec.pair_explanation import cell_story, explain_pair, explain_vectors

NASTY = "<script>alert('x')</script>"


def make_dataset(n_users=7, n_items=11, seed=0) -> Dataset:
    """A small dataset with every field kind, including attribute text that is HTML and a formula."""
    rng = np.random.default_rng(seed)
    cuisines = ["Mexican", "Thai", '=HYPERLINK("http://x")', NASTY, "Italian"]
    users = pd.DataFrame(
        {
            "likes": [";".join(rng.choice(cuisines, size=2, replace=False)) for _ in range(n_users)],
            "budget": rng.choice(["low", "medium", "high"], size=n_users),
            "age": rng.integers(18, 70, size=n_users).astype(float),
        },
        index=pd.Index([f"u{i}" for i in range(n_users)], name="user_id"),
    )
    users.loc["u0", "budget"] = "@SUM(A1)"
    users.loc["u0", "likes"] = '=HYPERLINK("http://x");Thai'
    items = pd.DataFrame(
        {
            "cuisine": rng.choice(cuisines, size=n_items),
            "price": rng.choice(["low", "medium", "high"], size=n_items),
            "rating": rng.normal(3, 1, size=n_items),
        },
        index=pd.Index([f"i{i}" for i in range(n_items)], name="item_id"),
    )
    items.loc["i0", "cuisine"] = NASTY
    pairs = [(f"u{u}", f"i{(3 * u + j) % n_items}", int(j < 2)) for u in range(n_users) for j in range(3)]
    schema = {
        "user_features": {
            "likes": {"kind": "multi", "separator": ";"},
            "budget": {"kind": "categorical"},
            "age": {"kind": "numeric"},
        },
        "item_features": {
            "cuisine": {"kind": "categorical"},
            "price": {"kind": "categorical"},
            "rating": {"kind": "numeric"},
        },
    }
    return Dataset("tiny", users, items, pd.DataFrame(pairs, columns=["user_id", "item_id", "label"]), schema)


def make_model(dataset=None, heads=2, d=4, seed=0) -> Recommender:
    dataset = dataset or make_dataset()
    torch.manual_seed(seed)
    model = Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=d, heads=heads, temperature=0.8)
    with torch.no_grad():  # a non-trivial calibration, so probability ≠ σ(S)
        model.calibration.copy_(torch.tensor([1.7, -0.3]))
    return model


def numpy_attention(x, y, w_u, w_v, tau):
    """Independent reference of the document's formulas, per head."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    out = {"a_u": [], "a_v": [], "logits_u": [], "logits_v": []}
    for h in range(w_u.shape[0]):
        for side, w in (("u", w_u[h]), ("v", w_v[h])):
            logits = w @ (x * y) / tau
            e = np.exp(logits - logits.max())
            out[f"logits_{side}"].append(logits)
            out[f"a_{side}"].append(e / e.sum())
    out = {k: np.array(v) for k, v in out.items()}
    out["z_u"], out["z_v"] = out["a_u"] * y, out["a_v"] * x
    out["contributions"] = out["z_u"] * out["z_v"]
    out["s"] = float(out["contributions"].sum())
    return out


@pytest.fixture(scope="module")
def model():
    return make_model()


@pytest.fixture(scope="module")
def explanation(model):
    return explain_pair(model, "u0", "i0", "ig", {"n_steps": 50}, context={"dataset": "tiny", "model": NASTY})


def weights(model):
    return (model.w_u.detach().double().numpy(), model.w_v.detach().double().numpy(), model.temperature)


def test_explain_pair_matches_numpy_and_rank(model, explanation):
    p = explanation.pair
    ref = numpy_attention(p.x.numpy(), p.y.numpy(), *weights(model))
    for name in ("logits_u", "a_u", "z_u", "a_v", "z_v", "contributions"):
        np.testing.assert_allclose(getattr(p.trace, name)[0].numpy(), ref[name], atol=1e-5)
    assert p.s == pytest.approx(ref["s"], abs=1e-5)
    assert p.probability == pytest.approx(1 / (1 + np.exp(-(1.7 * ref["s"] - 0.3))), abs=1e-6)
    # Rank: 1 + the number of catalog items this user scores strictly higher, via the numpy reference.
    scores = [
        numpy_attention(p.x.numpy(), model.encode_item(model.item_rows(i))[0].detach().numpy(), *weights(model))["s"]
        for i in model.item_ids
    ]
    assert p.rank == 1 + sum(s > ref["s"] + 1e-6 for s in scores)
    assert abs(explanation.residual) < 1e-5 and explanation.n_items == 11


def test_attributions_are_complete_and_labelled_with_attribute_values(explanation):
    table = explanation.table
    assert set(table["side"]) == {"user", "item"}
    assert set(table["field"]) == {"likes", "budget", "age", "cuisine", "price", "rating"}
    a = explanation.attribution
    # IG is complete: the attributions add up to S − S(baseline).
    assert table["attribution"].sum() == pytest.approx(a.s[0] - a.s_baseline[0], abs=2e-3)
    assert a.s[0] == pytest.approx(explanation.pair.s, abs=1e-5)
    assert table.loc[table["field"] == "cuisine", "label"].item() == f"cuisine {NASTY}"
    assert list(table["attribution"].abs()) == sorted(table["attribution"].abs(), reverse=True)


def test_explain_vectors_uses_the_typed_numbers(model):
    x, y = [0.5, -1.0, 2.0, 0.25], [1.5, 0.5, -0.5, 1.0]
    ex = explain_vectors(model, x, y, "ig", {"n_steps": 64})
    ref = numpy_attention(x, y, *weights(model))
    np.testing.assert_allclose(ex.pair.trace.a_v[0].numpy(), ref["a_v"], atol=1e-6)
    assert ex.pair.s == pytest.approx(ref["s"], abs=1e-5)
    assert ex.vectors and ex.pair.user_id == "typed X"
    # Dimension-level IG on both sides: 2·d rows, complete w.r.t. the zero baseline (S(0, 0) = 0).
    assert len(ex.table) == 8 and ex.table["attribution"].sum() == pytest.approx(ref["s"], abs=2e-3)
    catalog = [
        numpy_attention(x, model.encode_item(model.item_rows(i))[0].detach().numpy(), *weights(model))["s"]
        for i in model.item_ids
    ]
    assert ex.pair.rank == 1 + sum(s > ref["s"] + 1e-6 for s in catalog)


def test_explain_vectors_rejects_wrong_length(model):
    with pytest.raises(ValueError, match="4 values"):
        explain_vectors(model, [1.0, 2.0], [1.0, 2.0], None)


def test_cell_story_reads_one_cell(explanation):
    trace = explanation.pair.trace
    story = cell_story(trace, 1, 2, ["a", "b", "c", "d"])
    assert story["head"] == 2 and story["dimension"] == "c"
    assert story["a_u"] == pytest.approx(float(trace.a_u[0, 1, 2]))
    assert story["contributions"] == pytest.approx(story["z_u"] * story["z_v"], rel=1e-6)
    assert story["share_of_s"] == pytest.approx(story["contributions"] / explanation.pair.s)
    with pytest.raises(ValueError, match="outside"):
        cell_story(trace, 2, 0, ["a", "b", "c", "d"])


def test_json_round_trips_and_holds_the_numbers(explanation):
    blob = json.loads(json.dumps(to_json_dict(explanation)))
    assert blob["format"] == "attnrec-explanation" and blob["user_id"] == "u0"
    np.testing.assert_allclose(blob["attention"]["a_u"], explanation.pair.trace.a_u[0].numpy(), atol=1e-7)
    assert np.sum(blob["attention"]["contributions"]) == pytest.approx(blob["s"], abs=1e-5)
    assert blob["attribution"]["method"] == "ig" and blob["attribution"]["params"]["n_steps"] == 50
    assert {r["field"] for r in blob["attribution"]["rows"]} == set(explanation.table["field"])
    assert blob["context"]["model"] == NASTY


def test_csv_is_formula_safe_and_complete(explanation):
    text = to_csv_bytes(explanation).decode("utf-8")
    frame = pd.read_csv(io.StringIO(text), dtype={"text": str, "name": str})
    for column in ("section", "side", "dimension", "name", "text"):
        cells = frame[column].dropna().astype(str)
        assert not cells.str.match(r"^[=+\-@\t\r]").any(), column
    assert "'@SUM(A1)" in set(frame["text"].dropna())
    assert '\'=HYPERLINK("http://x");Thai' in set(frame["text"].dropna())
    a_u = frame[frame["section"] == "a_u"]
    assert len(a_u) == 2 * 4
    assert float(frame.loc[frame["name"] == "S", "value"].item()) == pytest.approx(explanation.pair.s)
    # Negative numbers stay numbers (not text with an apostrophe).
    assert (frame["value"].dropna() < 0).any()
    assert len(to_frame(explanation)) == len(frame)


def test_html_is_self_contained_and_escaped(explanation):
    from attnrec.figures.pair import side_attribution_bars

    figure = side_attribution_bars(explanation.table, f"IG for {NASTY}")
    html = to_html(explanation, {f"Attributions {NASTY}": figure}, title=f"Report {NASTY}")
    assert NASTY not in html  # never raw, anywhere (figure JSON included)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script src=" not in html and "cdn.plot.ly" not in html.split("</head>")[1]
    assert "Plotly.newPlot" in html and html.count("<script") >= 3
    start = html.index("<script type='application/json' id='explanation'>") + len(
        "<script type='application/json' id='explanation'>"
    )
    embedded = json.loads(html[start : html.index("</script>", start)])
    assert embedded["s"] == pytest.approx(explanation.pair.s)


def test_every_export_says_a_tied_pair_shares_its_ranks():
    dataset = make_dataset()
    dataset.items.loc["i5"] = dataset.items.loc["i3"]  # the same attributes: i3 and i5 score the same
    model = make_model(dataset)
    ex = explain_pair(model, "u1", "i3", "")
    rank, n = ex.pair.rank, ex.n_items
    # Independently: the other items' scores, pair by pair, against this one's.
    others = [model.trace("u1", i).s for i in model.item_ids if i != "i3"]
    assert rank == 1 + sum(s > ex.pair.s + 1e-6 for s in others)
    assert ex.pair.ties == sum(abs(s - ex.pair.s) <= 1e-6 for s in others) == 1
    assert to_json_dict(ex)["rank_ties"] == 1
    frame = to_frame(ex)
    assert frame.loc[frame["name"].str.startswith("rank ties", na=False), "value"].tolist() == [1]
    assert f"rank {rank}–{rank + 1} of {n}" in to_html(ex, {}, title="tied")
    alone = explain_pair(model, "u1", "i0", "")
    assert to_json_dict(alone)["rank_ties"] == 0 and f"rank {alone.pair.rank} of {n}<" in to_html(alone, {}, title="x")

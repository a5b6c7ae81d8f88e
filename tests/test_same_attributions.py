"""One pair, one method, one baseline: every place that explains it gets the same attributions.

A latent model with a nonlinear encoder (hidden = 8) is where "the dataset mean" can mean two things at the
dimension level (the encoded mean raw row, or the mean of the encoded rows). The Attributions page (its
side-by-side chart and its summary table), its report card, Model health's trust target, Explore's
`explain_pair`, Recommend's reasons, the Dataset-wide view's IG and the batch CLI (`attnrec explain`) must all
explain S against the same baseline. The reference is independent of Captum: S(baseline) is the model's own
`forward` on the featurizer's baseline rows (`attnrec.explain.model_targets.baseline_rows`), at both levels.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from attnrec.data import Featurizer, load_dataset
from attnrec.model import Recommender
from plotly_json import decode_array

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "attributions.py")
BASELINE = "mean"


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(5)
    dataset = load_dataset("restaurants")
    model = Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=4, heads=2, hidden=8)
    with torch.no_grad():  # a new model's MLP starts at zero (a linear encoder); make it bend, as training does
        for encoder in (model.user_encoder, model.item_encoder):
            torch.nn.init.normal_(encoder.linear.weight, std=0.5)
            torch.nn.init.normal_(encoder.mlp[-1].weight, std=1.0)
            torch.nn.init.normal_(encoder.mlp[-1].bias, std=0.5)
    model._item_cache = None
    return model


@pytest.fixture(scope="module")
def pair(model):
    user = model.user_ids[3]
    return user, str(model.top_k(user, k=1)["item_id"].iloc[0])  # Recommend lists it first


def _s_baseline(model) -> float:
    """S on the baseline rows, straight from the model (no Captum, no explain target)."""
    fz = model.featurizer
    with torch.no_grad():
        bu = torch.as_tensor(fz.baseline_row("user", BASELINE), dtype=torch.float32)[None]
        bv = torch.as_tensor(fz.baseline_row("item", BASELINE), dtype=torch.float32)[None]
        return float(model(bu, bv)[0])


def _page_values(model, user, item, level):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["user_models"] = {"same-attributions": model}
    at.session_state["attnrec_model_restaurants"] = "same-attributions"
    at.query_params["user"], at.query_params["item"] = user, item
    at.run()
    at.radio(key="attributions_level").set_value(level)
    at.radio(key="attributions_baseline").set_value(BASELINE)
    at.run()
    assert not at.exception, at.exception
    chart = next(c for c in at.get("plotly_chart") if "attributions_main" in c.proto.id)
    bar = json.loads(chart.proto.spec)["data"][0]
    bars = dict(zip(bar["y"], decode_array(bar["x"]).astype(float)))
    summary = at.dataframe[0].value.set_index("method").loc["Integrated Gradients"]
    return bars, float(summary["sum of attributions"]), float(summary["S − S(baseline)"])


def _by_group(attribution, row=0) -> dict[str, float]:
    return dict(zip(attribution.group_names, np.asarray(attribution.groups[row], dtype=float)))


def _assert_same(name, got: dict, want: dict):
    assert set(got) <= set(want), name
    for group, value in got.items():
        assert value == pytest.approx(want[group], rel=1e-4, abs=1e-6), f"{name}: {group}"


@pytest.mark.parametrize("level", ["fields", "dimensions"])
def test_every_page_and_the_batch_cli_explain_one_pair_alike(model, pair, level, tmp_path):
    from attnrec.explain import explain
    from attnrec.explain.batch import cli_main
    from attnrec.explain.report import report_card
    from attnrec.trust_plan import trust_target

    user, item = pair
    s = float(model.score([user], [item])["s"].iloc[0])
    s_base = _s_baseline(model)

    # The reference: the report card's target (trust_target) explained with IG.
    card_target = trust_target(model, [user], [item], level, BASELINE)
    card = report_card(card_target, methods=("ig",), infidelity_samples=0, sensitivity_samples=0)
    reference = card.attributions["ig"]
    assert float(reference.s_baseline[0]) == pytest.approx(s_base, rel=1e-5, abs=1e-6)
    assert float(reference.s[0]) == pytest.approx(s, rel=1e-5, abs=1e-6)
    want = _by_group(reference)
    # IG adds up to the score change it explains (to its quadrature error).
    assert sum(want.values()) == pytest.approx(s - s_base, rel=2e-2, abs=1e-4)

    # Model health scores a sample of pairs in one target (app_pages/health.py); this pair is its last row.
    users, items = [model.user_ids[0], model.user_ids[1], user], [model.item_ids[0], model.item_ids[1], item]
    found = {
        "Model health (sample target)": _by_group(
            explain(trust_target(model, users, items, level, BASELINE), "ig"), row=2
        )
    }
    bars, total, change = _page_values(model, user, item, level)
    found["Attributions page (chart)"] = bars
    assert change == pytest.approx(s - s_base, rel=1e-4, abs=1e-6), "Attributions page: S − S(baseline)"
    assert total == pytest.approx(sum(want.values()), rel=1e-4, abs=1e-6), "Attributions page: Σ attributions"

    # The batch CLI, as `attnrec explain` runs it, from a saved checkpoint.
    model.save(tmp_path / "model")
    pd.DataFrame({"user_id": [user], "item_id": [item]}).to_csv(tmp_path / "pairs.csv", index=False)
    assert (
        cli_main(
            [
                "--checkpoint",
                str(tmp_path / "model"),
                "--pairs",
                str(tmp_path / "pairs.csv"),
                "--methods",
                "ig",
                "--out",
                str(tmp_path / "out.parquet"),
                "--level",
                level,
                "--baseline",
                BASELINE,
                "--no-progress",
            ]
        )
        == 0
    )
    batch = pd.read_parquet(tmp_path / "out.parquet")
    found["attnrec explain"] = dict(zip(batch["group"], batch["attribution"].astype(float)))
    assert float(batch["s_baseline"].iloc[0]) == pytest.approx(s_base, rel=1e-5, abs=1e-6)

    if level == "fields":  # Explore, Recommend and the Dataset-wide view explain the raw fields
        from attnrec.insights import ig_importance
        from attnrec.pair_explanation import explain_pair
        from attnrec.reasons import recommendations_with_reasons

        explored = explain_pair(model, user, item, "ig", baseline=BASELINE)
        found["Explore (explain_pair)"] = _by_group(explored.attribution)
        assert float(explored.attribution.s_baseline[0]) == pytest.approx(s_base, rel=1e-5, abs=1e-6)
        table, recommended = recommendations_with_reasons(model, user, k=3, baseline=BASELINE)
        assert str(table["item_id"].iloc[0]) == item
        found["Recommend (reasons)"] = _by_group(recommended, row=0)
        wide = ig_importance(
            model, pd.DataFrame({"user_id": [user], "item_id": [item], "label": [1]}), baseline=BASELINE
        )
        found["Dataset-wide view (IG)"] = dict(zip(wide.names, np.asarray(wide.values[0], dtype=float)))
    for name, got in found.items():
        _assert_same(name, got, want)


def test_typed_vectors_are_explained_with_the_models_own_attention_variant():
    """Explore's typed X, Y: the attributions explain the S the page shows (model.attention, here sparsemax),
    not a softmax stand-in of the same weights."""
    from attnrec.pair_explanation import explain_vectors

    torch.manual_seed(6)
    dataset = load_dataset("restaurants")
    sparse = Recommender.from_featurizer(
        Featurizer.fit(dataset, "latent"), dataset, d=4, heads=2, attention="sparsemax"
    )
    x, y = [0.9, -0.4, 0.3, 1.2], [0.5, 0.8, -0.7, 0.6]
    ex = explain_vectors(sparse, x, y, "ig")
    with torch.no_grad():
        s = float(sparse.attention(torch.tensor([x]), torch.tensor([y])).s[0])
    assert ex.pair.s == pytest.approx(s, rel=1e-6, abs=1e-7)
    assert float(ex.attribution.s[0]) == pytest.approx(s, rel=1e-6, abs=1e-7)
    assert float(ex.attribution.s_baseline[0]) == 0.0
    assert ex.baseline == "zeros"  # what Explore's caption names (X = Y = 0), whatever the model's default

"""The Data page with 1–5 star ratings and timestamps (a small generated MovieLens-like set as CSV): it maps
the timestamp (so the hold-out is by time), suggests ≥ 4, and shows the positive share of the threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from attnrec.data.mapping import positive_share, suggest_threshold, suggest_timestamp
from attnrec.data.ratings_like import generate_ratings_like
from attnrec.evaluation import leave_one_out

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def csv_tables() -> dict[str, bytes]:
    tables = generate_ratings_like(n_users=25, n_items=40, n_ratings=500, seed=4)
    users = pd.DataFrame(tables["users"], columns=["user_id", "age", "gender", "occupation", "zip_code"])
    items = pd.DataFrame([row[:3] for row in tables["items"]], columns=["item_id", "title", "release_date"])
    ratings = pd.DataFrame(tables["interactions"], columns=["user_id", "item_id", "rating", "timestamp"])
    return {
        "users": users.to_csv(index=False).encode(),
        "items": items.to_csv(index=False).encode(),
        "interactions": ratings.to_csv(index=False).encode(),
        "raw": ratings,
    }


@pytest.fixture(scope="module")
def mapped(csv_tables) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "data.py"), default_timeout=120).run()
    for role in ("users", "items", "interactions"):
        at.file_uploader(key=f"data_upload_{role}").set_value((f"{role}.csv", csv_tables[role], "text/csv"))
    at.run()
    assert not at.exception and not at.error
    return at


def _widget(at, kind: str, prefix: str):
    key = next(k for k in at.session_state if str(k).startswith(prefix))
    return getattr(at, kind)(key=key)


def test_suggestions_by_rule():
    assert suggest_threshold(["1", "5", "3", "2"]) == 4  # 1–5 stars → 4
    assert suggest_threshold([0.5, 5.0, 3.5]) == 4  # half stars
    assert suggest_threshold(range(1, 11)) == 8 and suggest_threshold([0, 100]) == 75
    assert suggest_threshold([0, 1, 2]) == 1 and suggest_threshold([0, 1]) == 1
    assert positive_share(["5", "4", "3", "1", "x"], 4) == (0.5, 4, 1)
    frame = pd.DataFrame(columns=["user_id", "item_id", "rating", "timestamp"])
    assert suggest_timestamp(frame, exclude=("user_id", "item_id")) == "timestamp"
    assert suggest_timestamp(pd.DataFrame(columns=["u", "rated_at", "stars"])) == "rated_at"
    assert suggest_timestamp(pd.DataFrame(columns=["u", "i", "stars"])) is None


def test_timestamp_is_mapped_and_threshold_four_is_suggested(mapped):
    at = mapped
    assert _widget(at, "selectbox", "data_label_").value == "rating"
    assert _widget(at, "number_input", "data_threshold_").value == 4.0
    assert _widget(at, "selectbox", "data_timestamp_").value == "timestamp"


def test_positive_share_of_the_threshold_is_shown(mapped, csv_tables):
    at = mapped
    raw = csv_tables["raw"]["rating"].astype(int)
    for threshold in (4.0, 3.0):
        _widget(at, "number_input", "data_threshold_").set_value(threshold).run()
        share = (raw >= threshold).mean()
        expected = f"{share:.0%} of rows are positives ({int((raw >= threshold).sum()):,} of {len(raw):,} rows"
        captions = [c.value.replace("\\", "") for c in at.caption]
        assert any(expected in c for c in captions), captions
    _widget(at, "number_input", "data_threshold_").set_value(4.0).run()


def test_kept_dataset_is_held_out_by_time(mapped, csv_tables):
    at = mapped
    at.text_input(key="data_dataset_name").set_value("stars").run()
    at.button(key="data_keep").click().run()
    assert not at.exception and not at.error
    dataset = at.session_state["user_datasets"]["stars"]
    assert dataset.schema["timestamp"] == "timestamp" and dataset.schema["label"]["threshold"] == 4
    raw = csv_tables["raw"]
    assert dataset.interactions["label"].tolist() == (raw["rating"].astype(int) >= 4).astype(int).tolist()
    split = leave_one_out(dataset)
    assert split.by == "timestamp"
    # each held-out pair is the user's latest positive, ties going to the last row of the file
    raw = raw.assign(row=range(len(raw)), t=raw["timestamp"].astype(int), pos=raw["rating"].astype(int) >= 4)
    expected = {
        u: g.sort_values(["t", "row"]).iloc[-1]["item_id"]
        for u, g in raw[raw.pos].groupby("user_id")
        if g["item_id"].nunique() >= 2
    }
    assert dict(zip(split.held_out["user_id"], split.held_out["item_id"])) == expected


def test_trained_on_the_page_then_evaluated_with_both_baselines_in_model_health(mapped):
    """The whole own-data path in the app: keep → train (Data page) → held-out quality with popularity and
    BPR-MF (Model health), the popularity row checked against a count done here."""
    at = mapped
    at.text_input(key="data_dataset_name").set_value("stars").run()
    at.button(key="data_keep").click().run()
    at.radio(key="data_train_recipe").set_value("latent").run()
    at.number_input(key="data_train_epochs").set_value(2)
    at.number_input(key="data_train_d").set_value(4)
    at.text_input(key="data_model_name_stars").set_value("stars model")
    at.button(key="FormSubmitter:data_train_form-Train").click().run()
    assert at.session_state["data_training_job"].join(300).status == "done"
    at.run()
    assert not at.exception and "stars model" in at.session_state["user_models"]
    model = at.session_state["user_models"]["stars model"]

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.session_state["user_datasets"] = {"stars": model.dataset}
    app.session_state["user_models"] = {"stars model": model}
    app.query_params.update({"dataset": "stars", "model": "stars model"})
    app.run()
    app.switch_page("app_pages/health.py").run()
    app.number_input(key="health_mf_epochs").set_value(3)
    app.button(key="health_metrics_run").click().run()
    assert not app.exception, app.exception
    table = next(d.value for d in app.dataframe if "HR@10" in d.value.columns).set_index("model")
    assert list(table.index) == ["this model", "popularity", "BPR-MF"]
    # popularity HR@10, independently: rank each held-out item among the user's unseen items by training counts
    split = leave_one_out(model.dataset, seed=0)
    train = split.train.interactions
    counts = train.loc[train["label"] == 1, "item_id"].value_counts()
    items = list(model.dataset.items.index)
    hits = []
    for row in split.held_out.itertuples():
        seen = set(train.loc[train["user_id"] == row.user_id, "item_id"])
        scores = {i: counts.get(i, 0) for i in items if i not in seen or i == row.item_id}
        better = sum(s > scores[row.item_id] for i, s in scores.items() if i != row.item_id)
        hits.append(better < 10)
    assert table.loc["popularity", "HR@10"] == pytest.approx(np.mean(hits), abs=0.05)

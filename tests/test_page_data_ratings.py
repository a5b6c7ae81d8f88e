"""The Data page with 1–5 star ratings and timestamps (a small generated MovieLens-like set as CSV): it maps
the timestamp (so the hold-out is by time), suggests ≥ 4, and shows the positive share of the threshold."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from attnrec.data.ratings_like import generate_ratings_like
from attnrec.data.uploads import positive_share, suggest_threshold, suggest_timestamp
from attnrec.evaluation import leave_one_out

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def csv_tables() -> dict[str, bytes]:
    tables = generate_ratings_like(n_users=25, n_items=40, n_ratings=500, seed=4)
    users = pd.DataFrame(tables["users"], columns=["user_id", "age", "gender", "occupation", "zip_code"])
    items = pd.DataFrame([row[:3] for row in tables["items"]], columns=["item_id", "title", "release_date"])
    ratings = pd.DataFrame(tables["interactions"], columns=["user_id", "item_id", "rating", "timestamp"])
    return {"users": users.to_csv(index=False).encode(), "items": items.to_csv(index=False).encode(),
            "interactions": ratings.to_csv(index=False).encode(), "raw": ratings}


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
    assert suggest_threshold(["1", "5", "3", "2"]) == 4            # 1–5 stars → 4
    assert suggest_threshold([0.5, 5.0, 3.5]) == 4                 # half stars
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
    expected = {u: g.sort_values(["t", "row"]).iloc[-1]["item_id"] for u, g in raw[raw.pos].groupby("user_id")
                if g["item_id"].nunique() >= 2}
    assert dict(zip(split.held_out["user_id"], split.held_out["item_id"])) == expected

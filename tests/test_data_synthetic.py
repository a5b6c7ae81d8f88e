"""Synthetic data: the planted truth is saved, reloadable, and really is what drives the scores."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attnrec.data import load_dataset
from attnrec.data.synthetic import GENRES, generate, true_scores, write

SAVED = Path(__file__).resolve().parents[1] / "sample_data" / "synthetic"


@pytest.fixture(scope="module")
def synthetic():
    return load_dataset("synthetic")


def numpy_true_score(planted, x, y):
    """Independent reference: the document's formula written out in numpy for one pair."""
    drive = planted["driving_dimensions"]["indices"]
    x, y = np.asarray(x, float)[drive], np.asarray(y, float)[drive]
    total = 0.0
    for w_u, w_v in zip(np.asarray(planted["w_u"]), np.asarray(planted["w_v"])):
        p = x * y
        lu, lv = w_u @ p / planted["temperature"], w_v @ p / planted["temperature"]
        a_u, a_v = np.exp(lu - lu.max()), np.exp(lv - lv.max())
        a_u, a_v = a_u / a_u.sum(), a_v / a_v.sum()
        total += float(np.sum((a_u * y) * (a_v * x)))
    return total


def test_saved_files_and_planted_truth(synthetic):
    planted = json.loads((SAVED / "planted.json").read_text(encoding="utf-8"))
    assert synthetic.planted == planted
    assert (len(synthetic.users), len(synthetic.items), len(synthetic.interactions)) == (2000, 1000, 30000)
    assert set(synthetic.interactions["label"]) == {1}
    assert synthetic.interactions.groupby("user_id").size().eq(15).all()
    assert not synthetic.interactions.duplicated(["user_id", "item_id"]).any()
    drive = planted["driving_dimensions"]
    assert len(drive["indices"]) == 4 and len(planted["dimension_names"]) == 12
    assert drive["names"] == [planted["dimension_names"][i] for i in drive["indices"]]
    assert np.asarray(planted["w_u"]).shape == (planted["heads"], 4, 4)
    for field in ("age_group", "device", "signup_year"):
        assert field in synthetic.users.columns and field in synthetic.schema["user_features"]
    for field in ("studio", "language", "runtime_min"):
        assert field in synthetic.items.columns and field in synthetic.schema["item_features"]


def test_true_score_matches_an_independent_reference(synthetic):
    planted = synthetic.planted
    users = synthetic.users[list(GENRES)].to_numpy()
    items = synthetic.items[list(GENRES)].to_numpy()
    rng = np.random.default_rng(1)
    u, v = rng.integers(0, len(users), 50), rng.integers(0, len(items), 50)
    ours = true_scores(planted, users[u], items[v]).numpy()
    reference = [numpy_true_score(planted, users[a], items[b]) for a, b in zip(u, v)]
    np.testing.assert_allclose(ours, reference, rtol=1e-12)


def test_only_driving_dimensions_change_the_true_score(synthetic):
    planted = synthetic.planted
    users = synthetic.users[list(GENRES)].to_numpy()[:200]
    items = synthetic.items[list(GENRES)].to_numpy()[:200]
    base = true_scores(planted, users, items).numpy()
    drive = set(planted["driving_dimensions"]["indices"])
    rng = np.random.default_rng(2)
    for dim in range(len(GENRES)):
        changed = items.copy()
        changed[:, dim] = rng.uniform(0, 1, len(changed))
        moved = np.abs(true_scores(planted, users, changed).numpy() - base)
        if dim in drive:
            assert (moved > 1e-6).mean() > 0.9, planted["dimension_names"][dim]
        else:
            assert moved.max() == 0.0, planted["dimension_names"][dim]


def test_positives_come_from_the_top_of_the_true_scores(synthetic):
    planted = synthetic.planted
    users = synthetic.users[list(GENRES)].to_numpy()
    items = synthetic.items[list(GENRES)].to_numpy()
    sample = synthetic.users.index[:100]
    x = synthetic.interactions[synthetic.interactions["user_id"].isin(sample)]
    item_row = {i: r for r, i in enumerate(synthetic.items.index)}
    percentiles = []
    for user, group in x.groupby("user_id"):
        u = synthetic.users.index.get_loc(user)
        scores = true_scores(planted, np.repeat(users[u : u + 1], len(items), axis=0), items).numpy()
        chosen = scores[[item_row[i] for i in group["item_id"]]]
        percentiles.extend((scores[None, :] < chosen[:, None]).mean(axis=1))
    assert np.median(percentiles) > 0.95  # noisy, but mostly from each user's best films


def test_generation_is_reproducible_and_matches_the_saved_files(tmp_path):
    small = generate(seed=3, n_users=40, n_items=60, positives_per_user=5)
    again = generate(seed=3, n_users=40, n_items=60, positives_per_user=5)
    for table in ("users", "items", "interactions"):
        pd.testing.assert_frame_equal(small[table], again[table])
    assert small["planted"] == again["planted"]
    write(small, tmp_path)
    reloaded = load_dataset(tmp_path)
    assert reloaded.planted == json.loads(json.dumps(small["planted"]))
    assert len(reloaded.interactions) == 40 * 5

    full = generate(seed=0)
    saved = pd.read_csv(SAVED / "interactions.csv", dtype=str)
    assert full["interactions"].astype(str).equals(saved)
    assert json.loads(json.dumps(full["planted"])) == json.loads((SAVED / "planted.json").read_text())

"""Featurizer: encodings checked against values computed here from the raw CSV, JSON round trips."""

import csv
import json
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attnrec.data import DataError, Featurizer, load_dataset

RAW = Path(__file__).resolve().parents[1] / "sample_data" / "restaurants"


@pytest.fixture(scope="module")
def restaurants():
    return load_dataset("restaurants")


@pytest.fixture(scope="module")
def synthetic():
    return load_dataset("synthetic")


def raw_profile():
    with open(RAW / "userprofile.csv", encoding="utf-8", newline="") as handle:
        return {r["userID"]: r for r in csv.DictReader(handle)}


def test_latent_encoding_against_raw_rows(restaurants):
    featurizer = Featurizer.fit(restaurants, "latent")
    users = featurizer.encode("user", restaurants.users)
    row = dict(zip(users.columns, users.matrix[users.row_of("U1077")].tolist()))
    # U1077: usercuisine Mexican; userpayment VISA, cash, bank_debit_cards; smoker false; budget medium
    on = {c for c, v in row.items() if v == 1.0 and "=" in c}
    assert {
        "cuisines=Mexican",
        "payments=Visa",
        "payments=cash",
        "payments=bank debit cards",
        "smoker=no",
        "budget=medium",
        "drink_level=social drinker",
        "area=San Luis Potosí",
    } <= on
    assert not any(v for c, v in row.items() if c.startswith("cuisines=") and c != "cuisines=Mexican")
    # numeric: standardised with the population mean/std of the known values ('?' excluded)
    profile = raw_profile()
    weights = [float(r["weight"]) for r in profile.values() if r["weight"] != "?"]
    expected = (65 - statistics.fmean(weights)) / statistics.pstdev(weights)
    assert row["weight"] == pytest.approx(expected, rel=1e-6)
    years = [float(r["birth_year"]) for r in profile.values()]
    assert row["birth_year"] == pytest.approx((1987 - statistics.fmean(years)) / statistics.pstdev(years), rel=1e-6)


def test_latent_missing_numbers_and_categories_encode_to_zero(restaurants):
    featurizer = Featurizer.fit(restaurants, "latent")
    users = featurizer.encode("user", restaurants.users)
    missing_budget = [u for u, r in raw_profile().items() if r["budget"] == "?"][0]
    groups = {g.name: g for g in featurizer.groups("user")}
    assert not users.matrix[users.row_of(missing_budget), groups["budget"].slice].any()
    table = restaurants.users.iloc[:1].copy()
    table["smoker"] = "sometimes"  # never seen in fitting: all zeros, not an error
    encoded = featurizer.encode("user", table)
    assert not encoded.matrix[0, groups["smoker"].slice].any()


def test_groups_are_contiguous_and_named(restaurants):
    for mode in ("aligned", "latent"):
        featurizer = Featurizer.fit(restaurants, mode)
        for side in ("user", "item"):
            groups, columns = featurizer.groups(side), featurizer.columns(side)
            assert groups[0].start == 0 and groups[-1].stop == len(columns)
            assert all(a.stop == b.start for a, b in zip(groups, groups[1:]))
            assert len({g.name for g in groups}) == len(groups)
    latent = Featurizer.fit(restaurants, "latent", use_ids=True)
    groups = {g.name: g for g in latent.groups("item")}
    assert groups["id"].kind == "id" and groups["id"].stop - groups["id"].start == 130
    assert "birth_year" in latent.columns("user") and "cuisines=Mexican" in latent.columns("user")
    one_hot = latent.encode("item", latent_items := restaurants.items).matrix[:, groups["id"].slice]
    np.testing.assert_array_equal(one_hot, np.eye(len(latent_items)))


@pytest.mark.parametrize("mode, use_ids", [("aligned", False), ("latent", False), ("latent", True)])
@pytest.mark.parametrize("name", ["restaurants", "synthetic"])
def test_json_round_trip_gives_identical_matrices(name, mode, use_ids, restaurants, synthetic):
    data = restaurants if name == "restaurants" else synthetic
    featurizer = Featurizer.fit(data, mode, use_ids=use_ids)
    blob = json.loads(json.dumps(featurizer.to_json()))  # through real JSON text
    rebuilt = Featurizer.from_json(blob)
    assert rebuilt.to_json() == featurizer.to_json()
    assert rebuilt.dimension_names == featurizer.dimension_names
    for side, table in (("user", data.users), ("item", data.items)):
        a, b = featurizer.encode(side, table), rebuilt.encode(side, table)
        assert a.matrix.dtype == np.float32
        np.testing.assert_array_equal(a.matrix, b.matrix)
        assert a.columns == b.columns and a.groups == b.groups and a.ids == b.ids
        for kind in ("zeros", "mean", "unknown"):
            np.testing.assert_array_equal(featurizer.baseline_row(side, kind), rebuilt.baseline_row(side, kind))


def test_baselines(restaurants):
    featurizer = Featurizer.fit(restaurants, "latent")
    users = featurizer.encode("user", restaurants.users)
    np.testing.assert_allclose(featurizer.baseline_row("user", "mean"), users.matrix.mean(axis=0), atol=1e-6)
    assert not featurizer.baseline_row("user", "zeros").any()
    # "unknown" is exactly what an all-missing row encodes to
    blank = pd.DataFrame({c: [np.nan] for c in restaurants.users.columns}, index=pd.Index(["nobody"]))
    np.testing.assert_array_equal(
        featurizer.encode("user", blank).matrix[0], featurizer.baseline_row("user", "unknown")
    )
    with pytest.raises(ValueError, match="baseline kind"):
        featurizer.baseline_row("user", "median")


def test_synthetic_aligned_dimensions_are_the_genre_values(synthetic):
    featurizer = Featurizer.fit(synthetic, "aligned")
    assert featurizer.dimension_names == synthetic.planted["dimension_names"]
    genres = [n.split(": ", 1)[1] for n in featurizer.dimension_names]
    users = featurizer.encode("user", synthetic.users)
    np.testing.assert_array_equal(users.matrix, synthetic.users[genres].to_numpy(dtype=np.float32))


def test_encoding_a_table_without_a_fitted_column_is_a_data_error(restaurants):
    featurizer = Featurizer.fit(restaurants, "aligned")
    with pytest.raises(DataError, match="budget"):
        featurizer.encode("user", restaurants.users.drop(columns="budget"))
    with pytest.raises(ValueError, match="aligned mode only"):
        Featurizer.fit(restaurants, "latent", user_profile="history")


def test_aligned_with_ids_appends_one_hot_ids_after_the_named_columns(restaurants):
    plain = Featurizer.fit(restaurants, "aligned")
    featurizer = Featurizer.fit(restaurants, "aligned", use_ids=True)
    users = featurizer.encode("user", restaurants.users)
    named = len(plain.dimension_names)
    assert users.columns[:named] == plain.columns("user")
    assert users.matrix.shape == (len(restaurants.users), named + len(restaurants.users))
    np.testing.assert_array_equal(users.matrix[:, named:], np.eye(len(restaurants.users), dtype=np.float32))
    assert featurizer.groups("user")[-1].name == "id" and featurizer.groups("user")[-1].kind == "id"


@pytest.mark.slow
def test_history_profiles_are_means_over_training_positives_and_never_read_held_out_pairs(restaurants):
    from attnrec.evaluation import leave_one_out

    split = leave_one_out(restaurants, seed=0)
    featurizer = Featurizer.fit(split.train, "aligned", user_profile="history")
    users = featurizer.encode("user", restaurants.users)
    items = featurizer.encode("item", restaurants.items)
    item_row = {i: r for r, i in enumerate(items.ids)}
    # Independent: each user's side is the plain mean of the item rows of their *training* positives.
    train_pos = split.train.interactions[split.train.interactions["label"] == 1]
    by_user = train_pos.groupby(train_pos["user_id"].astype(str))["item_id"].apply(lambda s: [str(i) for i in s])
    for r, user in enumerate(users.ids):
        rows = [item_row[i] for i in by_user.get(user, [])]
        expected = items.matrix[rows].mean(axis=0) if rows else np.zeros(items.matrix.shape[1])
        np.testing.assert_allclose(users.matrix[r], expected, atol=2e-6)
    # The held-out item never counts: with it, some profiles would differ.
    full = Featurizer.fit(restaurants, "aligned", user_profile="history")
    moved = [
        u
        for u in split.held_out["user_id"]
        if not np.allclose(
            full.encode("user", restaurants.users.loc[[u]]).matrix,
            featurizer.encode("user", restaurants.users.loc[[u]]).matrix,
        )
    ]
    assert len(moved) >= len(split.held_out) // 2
    # Item side: one dimension per attribute value held by at least two items, 0/1.
    assert set(np.unique(items.matrix)) <= {0.0, 1.0}
    assert (items.matrix.sum(axis=0) >= 2).all()
    assert featurizer.dimension_names[0].startswith("cuisines: ")


@pytest.mark.parametrize(
    "mode, options",
    [("latent", {"use_ids": True}), ("aligned", {}), ("aligned", {"user_profile": "history", "use_ids": True})],
)
def test_read_columns_are_exactly_the_columns_whose_edit_changes_the_encoding(restaurants, mode, options):
    """The reference: change one raw cell at a time and see whether the encoded row moves."""
    featurizer = Featurizer.fit(restaurants, mode, **options)
    users = restaurants.users
    row = users.iloc[[0]]
    before = featurizer.encode("user", row).matrix
    moved = []
    for column in users.columns:
        others = [v for v in users[column].dropna().unique() if v != row.iloc[0][column]]
        edited = row.copy()
        edited[column] = edited[column].astype(object)
        changed = False
        for value in others[:5]:  # some other value of the column must move a column the model reads
            edited.iloc[0, edited.columns.get_loc(column)] = value
            if not np.array_equal(featurizer.encode("user", edited).matrix, before):
                changed = True
                break
        if changed:
            moved.append(column)
    assert set(featurizer.read_columns("user")) == set(moved)
    if options.get("user_profile") == "history":
        assert moved == []  # the user side comes from the liked items and the id: no attribute is read
    else:
        assert moved

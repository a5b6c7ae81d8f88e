"""The restaurant loader against the raw files, read independently here with the csv module."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from attnrec.data import Featurizer, load_dataset
from attnrec.data.aligned_restaurants import CUISINE_FAMILIES
from attnrec.data.restaurants import nearest_area, normalize_city, restaurants_schema

RAW = Path(__file__).resolve().parents[1] / "sample_data" / "restaurants"


def raw_rows(name):
    with open(RAW / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def restaurants():
    return load_dataset("restaurants")


@pytest.fixture(scope="module")
def aligned(restaurants):
    featurizer = Featurizer.fit(restaurants, "aligned")
    return featurizer, featurizer.encode("user", restaurants.users), featurizer.encode("item", restaurants.items)


def test_counts_and_labels_match_the_raw_files(restaurants):
    ratings = raw_rows("rating_final.csv")
    assert len(restaurants.users) == 138 and len(restaurants.items) == 130
    assert len(restaurants.interactions) == 1161 == len(ratings)
    assert list(restaurants.interactions.columns) == ["user_id", "item_id", "label"]
    expected = [int(int(r["rating"]) >= 1) for r in ratings]
    assert restaurants.interactions["label"].tolist() == expected
    assert restaurants.interactions["label"].sum() == sum(1 for r in ratings if r["rating"] in ("1", "2")) == 907
    assert all(isinstance(i, str) for i in restaurants.users.index)
    assert all(isinstance(i, str) for i in restaurants.items.index)


def test_fffd_name_is_kept_and_readable(restaurants):
    name = restaurants.items.loc["135106", "name"]
    assert name == "El Rinc\ufffdn de San Francisco"


def test_visa_spellings_are_merged(restaurants, tmp_path):
    everywhere = [r["Rpayment"] for r in raw_rows("chefmozaccepts.csv")]
    assert "VISA" in everywhere and "Visa" in everywhere  # the quirk is really in the file
    catalog = set(restaurants.items.index)
    raw = [r["Rpayment"] for r in raw_rows("chefmozaccepts.csv") if r["placeID"] in catalog]
    tokens = [t.strip() for cell in restaurants.items["payments"].dropna() for t in cell.split(";")]
    assert "VISA" not in tokens and tokens.count("Visa") == raw.count("VISA") + raw.count("Visa") > 0
    user_tokens = [t.strip() for cell in restaurants.users["payments"].dropna() for t in cell.split(";")]
    assert "Visa" in user_tokens and "bank debit cards" in user_tokens and "VISA" not in user_tokens
    # rewriting a catalogue row from VISA to Visa changes nothing
    for f in RAW.glob("*.csv"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    text = (tmp_path / "chefmozaccepts.csv").read_text(encoding="utf-8")
    assert "135106,VISA\n" in text
    (tmp_path / "chefmozaccepts.csv").write_text(text.replace("135106,VISA\n", "135106,Visa\n"), encoding="utf-8")
    again = load_dataset(tmp_path)
    assert again.items["payments"].equals(restaurants.items["payments"])


def test_multi_valued_cells_join_the_side_tables(restaurants):
    assert restaurants.users.loc["U1077", "payments"] == "Visa; bank debit cards; cash"
    assert restaurants.users.loc["U1077", "cuisines"] == "Mexican"
    raw_cuisines = {r["Rcuisine"] for r in raw_rows("usercuisine.csv") if r["userID"] == "U1001"}
    assert restaurants.users.loc["U1001", "cuisines"] == "; ".join(sorted(raw_cuisines))


def test_question_marks_are_missing(restaurants):
    raw = {r["userID"]: r for r in raw_rows("userprofile.csv")}
    missing_budget = [u for u, r in raw.items() if r["budget"] == "?"]
    assert len(missing_budget) == 7
    assert restaurants.users.loc[missing_budget, "budget"].isna().all()
    assert not (restaurants.users == "?").any().any() and not (restaurants.items == "?").any().any()


def test_cities_are_unified_and_areas_derived(restaurants):
    for raw in ("s.l.p.", "San Luis Potosi", "slp", "san luis potosi ", "s.l.p"):
        assert normalize_city(raw) == "San Luis Potosí"
    for raw in ("victoria ", "Cd. Victoria", "Cd Victoria"):
        assert normalize_city(raw) == "Ciudad Victoria"
    assert set(restaurants.items["city"]) <= {
        "San Luis Potosí",
        "Cuernavaca",
        "Ciudad Victoria",
        "Jiutepec",
        "Soledad de Graciano Sánchez",
    }
    assert restaurants.items["city"].notna().all()
    # the named study cities agree with the area found from coordinates
    for city, area in zip(restaurants.items["city"], restaurants.items["area"]):
        expected = {"Jiutepec": "Cuernavaca", "Soledad de Graciano Sánchez": "San Luis Potosí"}.get(city, city)
        assert area == expected
    assert nearest_area(18.92, -99.23) == "Cuernavaca" and nearest_area(23.74, -99.14) == "Ciudad Victoria"
    assert restaurants.users["area"].value_counts().to_dict() == {
        "San Luis Potosí": 86,
        "Cuernavaca": 27,
        "Ciudad Victoria": 25,
    }
    # every user rates in one area only (why area is a dimension); for 6 users, whose coordinates lie in
    # another city, that area differs from the coordinates' (a property of the data, kept as is)
    merged = restaurants.interactions.join(restaurants.items["area"], on="item_id")
    rated_area = merged.groupby("user_id")["area"].agg(["nunique", "first"])
    assert (rated_area["nunique"] == 1).all()
    agree = rated_area["first"] == restaurants.users.loc[rated_area.index, "area"]
    assert int((~agree).sum()) == 6


def test_every_cuisine_belongs_to_exactly_one_family():
    seen = [c for members in CUISINE_FAMILIES.values() for c in members]
    assert len(seen) == len(set(seen))
    raw = {r["Rcuisine"].replace("_", " ") for f in ("usercuisine.csv", "chefmozcuisine.csv") for r in raw_rows(f)}
    assert len(raw) >= 103
    assert raw <= set(seen), sorted(raw - set(seen))


def test_aligned_dimension_names(aligned, restaurants):
    featurizer, users, items = aligned
    names = featurizer.dimension_names
    assert 25 <= len(names) <= 35 and len(set(names)) == len(names)
    for expected in (
        "cuisine: Mexican / Latin",
        "payment: cash",
        "payment: Visa",
        "price: low",
        "price: high",
        "smoking: allowed",
        "alcohol: served",
        "dress: formal",
        "ambience: family / friends",
        "parking: by car",
        "area: San Luis Potosí",
        "area: Cuernavaca",
        "area: Ciudad Victoria",
    ):
        assert expected in names
    assert [g.name for g in featurizer.groups("user")] == [
        "cuisine",
        "payment",
        "price",
        "smoking",
        "alcohol",
        "dress",
        "ambience",
        "parking",
        "area",
    ]
    assert users.columns == items.columns == names
    assert users.matrix.min() >= 0 and users.matrix.max() <= 1 and items.matrix.max() <= 1
    # every dimension is used by someone on each side (no dead dimensions)
    assert (users.matrix.max(axis=0) > 0).all() and (items.matrix.max(axis=0) > 0).all()


def test_aligned_pair_by_hand(aligned):
    """U1077 × 135085 from the raw rows:
    userprofile: U1077, ..., smoker=false, drink_level=social drinker, dress_preference=elegant,
                 ambience=family, transport=public, ..., budget=medium (lat 22.156, long -100.986: SLP)
    usercuisine: Mexican; userpayment: VISA, cash, bank_debit_cards
    geoplaces2: 135085 Tortas Locas Hipocampo, San Luis Potosi, No_Alcohol_Served, not permitted,
                informal, medium price, familiar
    chefmozcuisine: Fast_Food; chefmozaccepts: cash; chefmozparking: public
    """
    featurizer, users, items = aligned
    x = dict(zip(users.columns, users.matrix[users.row_of("U1077")].tolist()))
    y = dict(zip(items.columns, items.matrix[items.row_of("135085")].tolist()))
    user_ones = {
        "cuisine: Mexican / Latin",
        "payment: cash",
        "payment: debit card",
        "payment: Visa",
        "price: medium",
        "smoking: smoke-free",
        "alcohol: served",
        "dress: formal",
        "ambience: family / friends",
        "area: San Luis Potosí",
    }
    item_ones = {
        "cuisine: American / fast food",
        "payment: cash",
        "price: medium",
        "smoking: smoke-free",
        "alcohol: none",
        "dress: informal",
        "ambience: family / friends",
        "parking: by car",
        "area: San Luis Potosí",
    }
    assert x == {n: float(n in user_ones) for n in featurizer.dimension_names}
    assert y == {n: float(n in item_ones) for n in featurizer.dimension_names}
    matches = {n for n in featurizer.dimension_names if x[n] * y[n] > 0}
    assert matches == {
        "payment: cash",
        "price: medium",
        "smoking: smoke-free",
        "ambience: family / friends",
        "area: San Luis Potosí",
    }


def test_graded_values_by_hand(aligned):
    """geoplaces2 135106: Wine-Beer, smoking 'only at bar', informal; chefmozaccepts: cash, VISA,
    MasterCard-Eurocard; chefmozparking: none. Then any user whose dress_preference is 'no preference'."""
    featurizer, users, items = aligned
    y = dict(zip(items.columns, items.matrix[items.row_of("135106")].tolist()))
    assert y["alcohol: served"] == 0.5 and y["alcohol: none"] == 0.0
    assert y["smoking: allowed"] == 0.5 and y["smoking: smoke-free"] == 1.0
    assert y["payment: Visa"] == y["payment: MasterCard"] == y["payment: cash"] == 1.0
    assert y["payment: American Express"] == 0.0 and y["parking: by car"] == 0.0
    no_preference = [r["userID"] for r in raw_rows("userprofile.csv") if r["dress_preference"] == "no preference"]
    x = dict(zip(users.columns, users.matrix[users.row_of(no_preference[0])].tolist()))
    assert x["dress: informal"] == 0.5 and x["dress: formal"] == 0.0


def test_schema_json_matches_the_loader():
    on_disk = json.loads((RAW / "schema.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(restaurants_schema()))


def test_joined_tables_reload_through_the_own_data_loader(restaurants, tmp_path):
    """The built-in is describable by its schema.json: export the joined tables, load them as own data."""
    restaurants.users.reset_index().to_csv(tmp_path / "users.csv", index=False)
    restaurants.items.reset_index().to_csv(tmp_path / "items.csv", index=False)
    exported = restaurants.interactions.rename(columns={"label": "rating"})
    exported.to_csv(tmp_path / "interactions.csv", index=False)
    (tmp_path / "schema.json").write_text((RAW / "schema.json").read_text(encoding="utf-8"), encoding="utf-8")
    again = load_dataset(tmp_path)
    assert again.interactions[["user_id", "item_id", "label"]].equals(restaurants.interactions)
    for mode in ("aligned", "latent"):
        a, b = Featurizer.fit(restaurants, mode), Featurizer.fit(again, mode)
        for side, table_a, table_b in (
            ("user", restaurants.users, again.users),
            ("item", restaurants.items, again.items),
        ):
            ea, eb = a.encode(side, table_a), b.encode(side, table_b)
            assert ea.columns == eb.columns and ea.ids == eb.ids
            np.testing.assert_array_equal(ea.matrix, eb.matrix)


def test_positives_are_the_label_one_rows_and_follow_a_new_interactions_table():
    import dataclasses

    dataset = load_dataset("restaurants")
    inter = dataset.interactions
    expected = [(u, i) for u, i, label in zip(inter["user_id"], inter["item_id"], inter["label"]) if label == 1]
    first = dataset.positives
    assert list(zip(first["user_id"], first["item_id"])) == expected
    assert dataset.positives is first  # kept while the table is the same
    fewer = dataclasses.replace(dataset, interactions=inter.iloc[: len(inter) // 2])
    half = [
        (u, i)
        for u, i, label in zip(inter["user_id"][: len(inter) // 2], inter["item_id"], inter["label"])
        if label == 1
    ]
    assert list(zip(fewer.positives["user_id"], fewer.positives["item_id"])) == half
    dataset.interactions = inter.iloc[:10]  # a new frame on the same dataset is filtered anew
    assert len(dataset.positives) == int((inter["label"].iloc[:10] == 1).sum())

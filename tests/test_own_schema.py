"""The own-data schema: its published JSON Schema (validation messages name the file and key path), files
named by the schema (separators, no header, TSV, Parquet), and each derivation (date part, prefix, flags)
with its bad inputs. Expected values are written out by hand or computed independently here."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attnrec.data import load_dataset
from attnrec.data.featurize import Featurizer
from attnrec.data.own_schema import json_schema, load_schema
from attnrec.data.ratings_like import GENRES, ratings_like_schema, write_ratings_like
from attnrec.data.types import DataError

ROOT = Path(__file__).resolve().parents[1]
BASE = {"user_id": "uid", "item_id": "iid"}


# ---- the JSON Schema file ---------------------------------------------------------------------------------


def test_json_schema_is_valid_shipped_and_accepts_every_shipped_schema():
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(json_schema())
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"attnrec.data" = ["schema.json"]' in pyproject and "jsonschema" in pyproject
    assert "jsonschema==" in (ROOT / "requirements.txt").read_text()
    validator = Draft202012Validator(json_schema())
    for path in (ROOT / "sample_data/synthetic/schema.json", ROOT / "sample_data/restaurants/schema.json"):
        assert not list(validator.iter_errors(json.loads(path.read_text()))), path
    assert not list(validator.iter_errors(ratings_like_schema()))
    described = json_schema()["properties"]
    for key in ("item_name", "aligned_dimensions", "name", "files"):
        assert len(described[key]["description"]) > 30, key


@pytest.mark.parametrize(
    "change, where, phrase",
    [
        (
            {"item_features": {"year": {"kind": "date", "part": "decade"}}},
            "at item_features.year.part",
            "'decade' is not one of",
        ),
        ({"item_features": {"year": {"kind": "date"}}}, "at item_features.year", "'part' is a required property"),
        (
            {"item_features": {"g": {"kind": "flags", "columns": ["a", "b"], "part": "year"}}},
            "at item_features.g",
            "the keys given need kind 'date', not 'flags'",
        ),
        (
            {"item_features": {"g": {"kind": "date", "part": "year", "columns": ["a"]}}},
            "at item_features.g",
            "need kind 'flags', not 'date'",
        ),
        (
            {"user_features": {"zip3": {"kind": "categorical", "prefix": 0}}},
            "at user_features.zip3.prefix",
            "less than the minimum",
        ),
        (
            {"user_features": {"zip3": {"kind": "numeric", "prefix": 3}}},
            "at user_features.zip3",
            "need kind 'categorical', not 'numeric'",
        ),
        ({"files": {"users": {"path": "u.user", "sep": "|"}}}, "at files.users", "'sep' was unexpected"),
        ({"files": {"users": {"path": "u.user", "separator": "||"}}}, "at files.users.separator", "too long"),
        ({"files": {"ratings": "u.data"}}, "at files", "'ratings' was unexpected"),
        ({"files": {"users": "../elsewhere/u.user"}}, "at files.users", "inside the schema's folder"),
        ({"files": {"users": {"path": "u.user", "header": False}}}, "at files.users", "needs 'columns'"),
        ({"item_name": 3}, "at item_name", "is not of type 'string'"),
        ({"name": ""}, "at name", "should be non-empty"),
    ],
)
def test_json_schema_messages_name_the_file_and_key_path(change, where, phrase):
    with pytest.raises(DataError) as info:
        load_schema(json.dumps({**BASE, **change}).encode(), "my-schema.json")
    message = str(info.value)
    assert info.value.file == "my-schema.json" and message.startswith("file my-schema.json: ")
    assert where in message and phrase in message, message


def test_flags_names_must_match_columns():
    with pytest.raises(DataError, match="'names' has 1 entries but 'columns' has 2"):
        load_schema({**BASE, "item_features": {"g": {"kind": "flags", "columns": ["a", "b"], "names": ["x"]}}})


# ---- a small folder in MovieLens' own layout --------------------------------------------------------------

USERS = "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|T8H1N\n4|33|F|other|\n"
ITEM_COLUMNS = ["iid", "title", "released", "a", "b", "c"]
ITEMS = (
    "1|Toy Story (1995)|01-Jan-1995|0|1|1\n"
    "2|GoldenEye (1995)|15-Mar-1996|1|0|0\n"
    "3|Four Rooms (1995)||0|0|0\n"
    "4|Get Shorty (1995)|29-Feb-1992|1|1|1\n"
)
RATINGS = "1\t1\t5\t10\n1\t2\t3\t10\n2\t2\t4\t11\n3\t3\t1\t12\n3\t4\t5\t13\n4\t1\t4\t9\n4\t4\t2\t9\n"


def _schema(**items):
    return {
        "name": "tiny films",
        **BASE,
        "item_name": "title",
        "files": {
            "users": {
                "path": "u.user",
                "separator": "|",
                "header": False,
                "columns": ["uid", "age", "gender", "job", "zip"],
            },
            "items": {"path": "u.item", "separator": "|", "header": False, "columns": ITEM_COLUMNS},
            "interactions": {
                "path": "u.data",
                "format": "tsv",
                "header": False,
                "columns": ["uid", "iid", "stars", "ts"],
            },
        },
        "label": {"column": "stars", "threshold": 4},
        "timestamp": "ts",
        "user_features": {
            "age": "numeric",
            "gender": "categorical",
            "zip3": {"kind": "categorical", "column": "zip", "prefix": 3},
        },
        "item_features": items
        or {
            "year": {"kind": "date", "column": "released", "part": "year", "format": "%d-%b-%Y"},
            "genres": {"kind": "flags", "columns": ["a", "b", "c"], "names": ["Action", "Comedy", "Drama"]},
        },
    }


def _folder(tmp_path, schema, items=ITEMS, users=USERS):
    (tmp_path / "u.user").write_text(users)
    (tmp_path / "u.item").write_text(items)
    (tmp_path / "u.data").write_text(RATINGS)
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    return tmp_path


def test_files_named_by_the_schema_and_its_name_are_used(tmp_path):
    data = load_dataset(_folder(tmp_path, _schema()))
    assert data.name == "tiny films"
    assert list(data.users.index) == ["1", "2", "3", "4"] and list(data.items.index) == ["1", "2", "3", "4"]
    got = data.interactions[["user_id", "item_id", "label", "timestamp"]].values.tolist()
    assert got == [
        ["1", "1", 1, 10.0],
        ["1", "2", 0, 10.0],
        ["2", "2", 1, 11.0],
        ["3", "3", 0, 12.0],
        ["3", "4", 1, 13.0],
        ["4", "1", 1, 9.0],
        ["4", "4", 0, 9.0],
    ]


def test_date_year_prefix_and_flags(tmp_path):
    data = load_dataset(_folder(tmp_path, _schema()))
    assert data.items["year"].tolist()[:2] == [1995.0, 1996.0] and np.isnan(data.items["year"].iloc[2])
    assert data.items["year"].iloc[3] == 1992.0
    assert data.users["zip3"].tolist()[:3] == ["857", "940", "T8H"] and pd.isna(data.users["zip3"].iloc[3])
    assert data.users["zip"].tolist()[:3] == ["85711", "94043", "T8H1N"]  # the source column is kept
    # the flag columns become one field; their names, not the column names, are its values
    assert "a" not in data.items.columns and "genres" in data.items.columns
    assert data.items["genres"].iloc[0] == "Comedy|Drama" and data.items["genres"].iloc[1] == "Action"
    assert pd.isna(data.items["genres"].iloc[2]) and data.items["genres"].iloc[3] == "Action|Comedy|Drama"
    assert data.schema["item_features"]["genres"]["kind"] == "multi"
    assert data.schema["item_features"]["year"]["kind"] == "numeric"
    assert data.schema["item_features"]["year"]["derived"]["format"] == "%d-%b-%Y"
    # what the featurizer makes of them: one multi-hot field with 3 named values, a numeric year
    featurizer = Featurizer.fit(data, "latent")
    columns = featurizer.columns("item")
    assert [c for c in columns if c.startswith("genres=")] == ["genres=Action", "genres=Comedy", "genres=Drama"]
    assert "year" in columns and "zip3=857" in featurizer.columns("user")
    matrix = featurizer.encode("item", data.items).matrix
    genre_cols = [columns.index(f"genres={g}") for g in ("Action", "Comedy", "Drama")]
    assert matrix[:, genre_cols].tolist() == [[0, 1, 1], [1, 0, 0], [0, 0, 0], [1, 1, 1]]


@pytest.mark.parametrize("part", ["year", "month", "weekday"])
def test_date_parts_match_the_calendar(tmp_path, part):
    schema = _schema(when={"kind": "date", "column": "released", "part": part, "format": "%d-%b-%Y"})
    data = load_dataset(_folder(tmp_path, schema))
    expected = {
        "year": [1995, 1996, None, 1992],
        "month": [1, 3, None, 2],
        # 1 Jan 1995 was a Sunday, 15 Mar 1996 a Friday, 29 Feb 1992 a Saturday (Monday = 0)
        "weekday": [6, 4, None, 5],
    }[part]
    assert [None if np.isnan(v) else int(v) for v in data.items["when"]] == expected
    reference = [dt.date(1995, 1, 1), dt.date(1996, 3, 15), None, dt.date(1992, 2, 29)]
    if part == "weekday":
        assert expected == [None if d is None else d.weekday() for d in reference]


@pytest.mark.parametrize(
    "bad_items, row, column, phrase",
    [
        (
            ITEMS.replace("15-Mar-1996", "1996-03-15"),
            2,
            "released",
            "'1996-03-15' is not a date in the format '%d-%b-%Y'",
        ),
        (ITEMS.replace("29-Feb-1992", "30-Feb-1992"), 4, "released", "'30-Feb-1992' is not a date"),
        (ITEMS.replace("0|1|1\n", "0|2|1\n", 1), 1, "b", "'2' where a flag (0 or 1) is expected"),
        (ITEMS.replace("|0|0|0\n", "|0|yes please|0\n"), 3, "b", "'yes please' where a flag"),
    ],
)
def test_bad_derived_inputs_name_file_row_and_column(tmp_path, bad_items, row, column, phrase):
    with pytest.raises(DataError) as info:
        load_dataset(_folder(tmp_path, _schema(), items=bad_items))
    assert (info.value.file, info.value.row, info.value.column) == ("u.item", row, column), str(info.value)
    assert phrase in str(info.value)


def test_derived_feature_problems(tmp_path):
    # a flag column that is not in the file
    schema = _schema(g={"kind": "flags", "columns": ["a", "zz"]})
    with pytest.raises(DataError) as info:
        load_dataset(_folder(tmp_path, schema))
    assert (info.value.file, info.value.column) == ("u.item", "zz") and "source of item feature 'g'" in str(info.value)
    # a derived feature whose name is another column of the file
    schema = _schema(title={"kind": "date", "column": "released", "part": "year", "format": "%d-%b-%Y"})
    with pytest.raises(DataError, match="already has a column 'title'"):
        load_dataset(_folder(tmp_path, schema))
    # a headerless file with the wrong number of columns names its row
    (tmp_path / "u.user").write_text(USERS + "5|40|M\n")
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path)
    assert (info.value.file, info.value.row) == ("u.user", 5) and "separator '|'" in str(info.value)
    # a file the schema names that is not there
    (tmp_path / "u.user").unlink()
    with pytest.raises(DataError, match="files.users was not found"):
        load_dataset(tmp_path)


def test_tsv_and_parquet_files(tmp_path):
    (tmp_path / "people.tsv").write_text("uid\tage\n1\t30\n2\t40\n")
    pd.DataFrame(
        {"iid": ["1", "2"], "released": [dt.date(1995, 1, 1), dt.date(1996, 3, 15)], "a": [1, 0], "b": [1, 1]}
    ).to_parquet(tmp_path / "films.parquet")
    (tmp_path / "log.txt").write_text("uid;iid\n1;1\n1;2\n2;2\n")
    schema = {
        **BASE,
        "files": {
            "users": "people.tsv",
            "items": "films.parquet",
            "interactions": {"path": "log.txt", "separator": ";"},
        },
        "user_features": {"age": "numeric"},
        "item_features": {
            "year": {"kind": "date", "column": "released", "part": "year"},
            "g": {"kind": "flags", "columns": ["a", "b"]},
        },
    }
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    data = load_dataset(tmp_path)
    assert data.users["age"].tolist() == [30.0, 40.0] and data.items["year"].tolist() == [1995.0, 1996.0]
    assert data.items["g"].tolist() == ["a|b", "b"] and len(data.interactions) == 3


def test_generated_movielens_like_files_load(tmp_path):
    folder = write_ratings_like(tmp_path, n_users=30, n_items=40, n_ratings=600, seed=1)
    data = load_dataset(folder)
    assert data.name == "movielens-like" and data.users.shape[0] == 30 and data.items.shape[0] == 40
    assert len(data.interactions) == 600 and data.interactions["user_id"].value_counts().min() >= 20
    raw = pd.read_csv(folder / "u.data", sep="\t", header=None, names=["u", "i", "r", "t"])
    assert set(raw["r"]) <= {1, 2, 3, 4, 5} and raw.duplicated(["u", "t"]).any()  # timestamps tie
    assert data.interactions["label"].tolist() == (raw["r"] >= 4).astype(int).tolist()
    flags = pd.read_csv(folder / "u.item", sep="|", header=None).iloc[:, 5:]
    assert flags.shape[1] == len(GENRES) == 19
    expected = ["|".join(g for g, f in zip(GENRES, row) if f) for row in flags.values.tolist()]
    assert data.items["genres"].fillna("").tolist() == expected


def test_readme_example_is_the_generated_schema_and_validates():
    import re

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Bring your own ratings", 1)[1].split("\n## ", 1)[0]
    example = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))
    expected = {k: v for k, v in ratings_like_schema().items() if k != "description"}
    assert example == expected
    load_schema(example)
    flat = " ".join(section.split())
    for key in (
        "item_name",
        "aligned_dimensions",
        "files",
        "--user-profile history",
        "--protocol common",
        "last in the interactions table",
    ):
        assert key in flat, key


def test_latin1_file_named_with_its_encoding(tmp_path):
    (tmp_path / "users.csv").write_text("uid\nu1\nu2\n")
    (tmp_path / "films.txt").write_bytes("iid|title\nv1|Am\xe9lie\nv2|Se7en\n".encode("latin-1"))
    (tmp_path / "interactions.csv").write_text("uid,iid\nu1,v1\nu2,v2\nu1,v2\n")
    schema = {
        **BASE,
        "item_name": "title",
        "files": {"items": {"path": "films.txt", "separator": "|", "encoding": "latin-1"}},
    }
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    assert load_dataset(tmp_path).items["title"].tolist() == ["Amélie", "Se7en"]
    schema["files"]["items"].pop("encoding")  # read as UTF-8, the byte is named
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path)
    assert (info.value.file, info.value.row, info.value.column) == ("films.txt", 2, "title")

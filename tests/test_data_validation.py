"""Broken inputs raise DataError naming the file, the row (header = row 1) and the column."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attnrec.data import DataError, Featurizer, load_dataset, read_table
from attnrec.data.own import load_own_dataset
from attnrec.data.own_schema import load_schema

RAW = Path(__file__).resolve().parents[1] / "sample_data" / "restaurants"


@pytest.fixture
def copy(tmp_path):
    for f in RAW.glob("*.csv"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    return tmp_path


def edit_line(path: Path, line: int, change) -> None:
    """Apply `change` to 1-based line `line` of a text file (bytes in, bytes out)."""
    lines = path.read_bytes().split(b"\n")
    lines[line - 1] = change(lines[line - 1])
    path.write_bytes(b"\n".join(lines))


def set_field(column: str, value: bytes, header: bytes):
    index = header.decode().split(",").index(column)

    def change(line: bytes) -> bytes:
        fields = line.split(b",")
        fields[index] = value
        return b",".join(fields)

    return change


def header_of(path: Path) -> bytes:
    return path.read_bytes().split(b"\n", 1)[0]


def raises(directory, file, row, column):
    with pytest.raises(DataError) as info:
        load_dataset(directory)
    err = info.value
    assert (err.file, err.row, err.column) == (file, row, column), str(err)
    assert file in str(err)
    if row is not None:
        assert f"row {row}" in str(err)
    if column is not None:
        assert f"'{column}'" in str(err)
    return err


def test_dropped_column(copy):
    frame = pd.read_csv(copy / "userprofile.csv", dtype=str, keep_default_na=False).drop(columns="budget")
    frame.to_csv(copy / "userprofile.csv", index=False)
    raises(copy, "userprofile.csv", None, "budget")


def test_duplicate_id(copy):
    path = copy / "geoplaces2.csv"
    lines = path.read_bytes().rstrip(b"\n").split(b"\n")
    path.write_bytes(b"\n".join(lines + [lines[2]]) + b"\n")
    err = raises(copy, "geoplaces2.csv", len(lines) + 1, "placeID")
    assert "duplicate id" in str(err) and "row 3" in str(err)


def test_unknown_user_in_ratings(copy):
    path = copy / "rating_final.csv"
    edit_line(path, 5, set_field("userID", b"U9999", header_of(path)))
    err = raises(copy, "rating_final.csv", 5, "userID")
    assert "U9999" in str(err)


def test_unknown_place_in_ratings(copy):
    path = copy / "rating_final.csv"
    edit_line(path, 8, set_field("placeID", b"999999", header_of(path)))
    raises(copy, "rating_final.csv", 8, "placeID")


def test_text_in_numeric_column(copy):
    path = copy / "userprofile.csv"
    edit_line(path, 10, set_field("weight", b"heavy", header_of(path)))
    err = raises(copy, "userprofile.csv", 10, "weight")
    assert "heavy" in str(err)


@pytest.mark.parametrize("value", [b"nan", b"inf", b"-Infinity"])
def test_nan_or_inf_in_numeric_column(copy, value):
    path = copy / "userprofile.csv"
    edit_line(path, 4, set_field("height", value, header_of(path)))
    err = raises(copy, "userprofile.csv", 4, "height")
    assert "NaN or infinity" in str(err)


def test_missing_rating_is_an_error(copy):
    path = copy / "rating_final.csv"
    edit_line(path, 3, set_field("rating", b"?", header_of(path)))
    raises(copy, "rating_final.csv", 3, "rating")


def test_ragged_row(copy):
    edit_line(copy / "rating_final.csv", 7, lambda line: line + b",extra")
    err = raises(copy, "rating_final.csv", 7, None)
    assert "6 fields but the header has 5" in str(err)


def test_non_utf8_bytes(copy):
    path = copy / "geoplaces2.csv"
    edit_line(path, 4, lambda line: line.replace("\ufffd".encode(), b"\xf3"))  # a Latin-1 'ó'
    err = raises(copy, "geoplaces2.csv", 4, "name")
    assert "UTF-8" in str(err)


@pytest.mark.parametrize("content", [b"", b"   \n"])
def test_empty_file(copy, content):
    (copy / "usercuisine.csv").write_bytes(content)
    err = raises(copy, "usercuisine.csv", None, None)
    assert "empty" in str(err)


def test_header_only_file(copy):
    (copy / "chefmozparking.csv").write_bytes(b"placeID,parking_lot\n")
    err = raises(copy, "chefmozparking.csv", None, None)
    assert "no data rows" in str(err)


# ---------- own data ----------

SCHEMA = {
    "user_id": "uid",
    "item_id": "iid",
    "label": {"column": "stars", "threshold": 4},
    "timestamp": "ts",
    "user_features": {
        "age": {"kind": "numeric"},
        "fav": {"kind": "categorical"},
        "tags": {"kind": "multi", "separator": "|"},
    },
    "item_features": {"genre": {"kind": "categorical"}, "length": {"kind": "numeric"}},
    "aligned_pairs": [{"user": "fav", "item": "genre", "name": "genre"}],
}
USERS = "uid,age,fav,tags\nu1,30,rock,a|b\nu2,?,jazz,b\nu3,41,pop,\n"
ITEMS = "iid,genre,length\nv1,rock,3.5\nv2,jazz,4\nv3,folk,2\n"
INTERACTIONS = "uid,iid,stars,ts\nu1,v1,5,10\nu1,v2,2,11\nu2,v2,4,12\nu3,v3,1,13\nu1,v1,3,14\n"


def write_own(directory: Path, users=USERS, items=ITEMS, interactions=INTERACTIONS, schema=SCHEMA):
    (directory / "users.csv").write_text(users, encoding="utf-8")
    (directory / "items.csv").write_text(items, encoding="utf-8")
    (directory / "interactions.csv").write_text(interactions, encoding="utf-8")
    (directory / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    return directory


def test_own_data_loads(tmp_path):
    data = load_dataset(write_own(tmp_path))
    assert list(data.users.index) == ["u1", "u2", "u3"] and data.users.index.name == "user_id"
    assert np.isnan(data.users.loc["u2", "age"]) and data.users.loc["u1", "age"] == 30.0
    # the repeated (u1, v1) row collapses: largest label, latest timestamp
    x = data.interactions.set_index(["user_id", "item_id"])
    assert len(x) == 4 and x.loc[("u1", "v1"), "label"] == 1 and x.loc[("u1", "v1"), "timestamp"] == 14
    assert x["label"].to_dict() == {("u1", "v1"): 1, ("u1", "v2"): 0, ("u2", "v2"): 1, ("u3", "v3"): 0}
    aligned = Featurizer.fit(data, "aligned")
    assert aligned.dimension_names == ["genre: jazz", "genre: rock"]  # values on both sides only
    np.testing.assert_array_equal(aligned.encode("user", data.users).matrix, [[0, 1], [1, 0], [0, 0]])
    latent = Featurizer.fit(data, "latent")
    assert latent.columns("user") == ["age", "fav=jazz", "fav=pop", "fav=rock", "tags=a", "tags=b"]


def test_implicit_feedback_and_uploaded_bytes():
    schema = {"user_id": "uid", "item_id": "iid"}
    data = load_own_dataset(
        ("u.csv", USERS.encode()),
        ("i.csv", ITEMS.encode()),
        ("x.csv", b"uid,iid\nu1,v1\nu2,v3\n"),
        json.dumps(schema).encode(),
    )
    assert data.interactions["label"].tolist() == [1, 1]


def test_parquet_tables(tmp_path):
    pd.DataFrame({"uid": ["u1", "u2"], "age": [20.0, None]}).to_parquet(tmp_path / "users.parquet")
    pd.DataFrame({"iid": ["v1"], "length": [3]}).to_parquet(tmp_path / "items.parquet")
    pd.DataFrame({"uid": ["u1", "u2"], "iid": ["v1", "v1"]}).to_parquet(tmp_path / "interactions.parquet")
    schema = {
        "user_id": "uid",
        "item_id": "iid",
        "user_features": {"age": "numeric"},
        "item_features": {"length": {"kind": "numeric"}},
    }
    data = load_dataset(tmp_path, schema=schema)
    assert data.users["age"].tolist()[0] == 20.0 and np.isnan(data.users["age"].tolist()[1])
    with pytest.raises(DataError, match="not a readable Parquet"):
        read_table(b"PAR1 not really", "broken.parquet")


@pytest.mark.parametrize(
    "table, text, file, row, column",
    [
        ("users", "uid,age,fav,tags\nu1,30,rock,a\nu1,31,jazz,b\n", "users.csv", 3, "uid"),
        ("users", USERS.replace("u2,?", "u2,thirty"), "users.csv", 3, "age"),
        ("users", USERS.replace("u3,41", "u3,inf"), "users.csv", 4, "age"),
        ("users", "uid,age,fav\nu1,30,rock\n", "users.csv", None, "tags"),
        ("items", "iid,genre,length\nv1,rock,3\nv2,jazz\n", "items.csv", 3, None),
        ("interactions", "uid,iid,stars,ts\nu1,v1,5,1\nu1,v9,5,2\n", "interactions.csv", 3, "iid"),
        ("interactions", "uid,iid,stars,ts\nu1,v1,five,1\n", "interactions.csv", 2, "stars"),
        ("interactions", "uid,iid,stars,ts\nu1,v1,5,yesterday-ish\n", "interactions.csv", 2, "ts"),
        ("interactions", "uid,iid,stars\nu1,v1,5\n", "interactions.csv", None, "ts"),
    ],
)
def test_own_data_errors(tmp_path, table, text, file, row, column):
    write_own(tmp_path, **{table: text})
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path)
    assert (info.value.file, info.value.row, info.value.column) == (file, row, column), str(info.value)


def test_non_utf8_own_table(tmp_path):
    write_own(tmp_path)
    (tmp_path / "items.csv").write_bytes(b"iid,genre,length\nv1,ro\xe9ck,3\n")
    with pytest.raises(DataError) as info:
        load_dataset(tmp_path)
    assert (info.value.file, info.value.row, info.value.column) == ("items.csv", 2, "genre")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"colour": "x"}, "unknown schema key"),
        ({"user_features": {"age": {"kind": "float"}}}, "unknown kind 'float'"),
        ({"user_features": {"age": {"kind": "numeric", "sep": ","}}}, "allowed keys"),
        ({"label": {"column": "stars", "threshold": "high"}}, "threshold must be a finite number"),
        ({"aligned_pairs": [{"user": "fav"}]}, "must have 'user' and 'item'"),
        ({"item_id": None}, "needs 'item_id'"),
    ],
)
def test_schema_errors(change, message):
    with pytest.raises(DataError, match=message):
        load_schema({**SCHEMA, **change})


def test_schema_file_errors(tmp_path):
    (tmp_path / "schema.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON") as info:
        load_schema(tmp_path / "schema.json")
    assert info.value.file == "schema.json"
    with pytest.raises(DataError, match="empty"):
        load_schema(b"", "schema.json")


def test_aligned_pair_without_shared_values(tmp_path):
    write_own(tmp_path, items="iid,genre,length\nv1,folk,3\nv2,blues,4\nv3,folk,2\n")
    data = load_dataset(tmp_path)
    with pytest.raises(DataError, match="share no values"):
        Featurizer.fit(data, "aligned")


def test_never_half_loads(tmp_path):
    """An error late in validation (interactions) leaves nothing behind: the call raises, returns nothing."""
    write_own(tmp_path, interactions="uid,iid,stars,ts\nu1,v1,5,1\nu1,v1,5,oops\n")
    with pytest.raises(DataError):
        load_dataset(tmp_path)


def test_read_table_refuses_unknown_suffix_and_needs_a_name():
    with pytest.raises(DataError, match="unsupported file type"):
        read_table(b"a,b\n1,2\n", "table.pkl")
    with pytest.raises(DataError, match="filename is needed"):
        read_table(b"a,b\n1,2\n")

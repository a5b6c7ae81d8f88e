"""The bad-input corpus: every kind of malformed thing a stranger can hand the app, one case each.

Each case feeds the input through the real page (AppTest file uploaders, buttons, URL parameters,
edited cells) or the real CLI, asserts the message names the problem (file / row / column where
there is one), and then checks that the app still works: the last good tables, datasets and models
are still there and the next good action succeeds.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as safetensors_bytes
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
DATA_PAGE = str(ROOT / "app_pages" / "data.py")
EXPLORE_PAGE = str(ROOT / "app_pages" / "explore.py")
WALKTHROUGH_PAGE = str(ROOT / "app_pages" / "walkthrough.py")

USERS = b"uid,age,genre\nu1,30,rock\nu2,40,pop\nu3,25,rock\nu4,35,jazz\n"
ITEMS = b"iid,price,genre\ni1,10,rock\ni2,20,pop\ni3,15,rock\ni4,12,jazz\n"
INTERACTIONS = b"uid,iid,rating\nu1,i1,5\nu1,i2,2\nu2,i2,4\nu3,i3,5\nu3,i1,4\nu4,i4,5\nu4,i1,1\n"
GOOD = {
    "users": ("users.csv", USERS),
    "items": ("items.csv", ITEMS),
    "interactions": ("interactions.csv", INTERACTIONS),
}
MAPPING = dict(
    user_id="uid",
    item_id="iid",
    label_column="rating",
    label_threshold=4,
    user_roles={"age": "numeric", "genre": "categorical"},
    item_roles={"price": "numeric", "genre": "categorical"},
)


def plain(text: str) -> str:
    return text.replace("\\", "")


def errors(at: AppTest) -> str:
    return " | ".join(plain(e.value) for e in at.error)


def zip_of(entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for entry, data in entries:
            archive.writestr(entry, data)
    return buffer.getvalue()


def symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("users.csv")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
        archive.writestr("items.csv", ITEMS)
        archive.writestr("interactions.csv", INTERACTIONS)
    return buffer.getvalue()


# ---- the page with a good dataset already kept -------------------------------------------------------------


def data_page_with_good_dataset() -> AppTest:
    at = AppTest.from_file(DATA_PAGE, default_timeout=120).run()
    for role, (name, data) in GOOD.items():
        at.file_uploader(key=f"data_upload_{role}").set_value((name, data, "text/csv"))
    at.run()
    # The small tables' suggested roles: age/price numeric, genre categorical; threshold = midpoint 3 → set 4.
    threshold = next(n for n in at.number_input if n.label.startswith("Positive when"))
    threshold.set_value(4.0)
    at.text_input(key="data_dataset_name").set_value("good")
    at.button(key="data_keep").click().run()
    assert not at.exception and not at.error, errors(at)
    assert "good" in at.session_state["user_datasets"]
    return at


def assert_still_works(at: AppTest, good_dataset) -> None:
    """No crash, the kept dataset untouched, and keeping the good tables again succeeds."""
    assert not at.exception, at.exception
    assert at.session_state["user_datasets"]["good"] is good_dataset
    for role, (name, data) in GOOD.items():
        at.file_uploader(key=f"data_upload_{role}").set_value((name, data, "text/csv"))
    at.run()
    at.text_input(key="data_dataset_name").set_value("good again")
    at.button(key="data_keep").click().run()
    assert not at.exception and not at.error, errors(at)
    again = at.session_state["user_datasets"]["good again"]
    assert again.interactions.equals(good_dataset.interactions)


# ---- 1. table files that cannot be read ----------------------------------------------------------------------


@dataclass(frozen=True)
class TableCase:
    role: str
    filename: str
    data: bytes
    expected: tuple[str, ...]  # every fragment must appear in the message


BIG = b"uid,age\n" + b"u,1\n" * (50 * 1024 * 1024 // 4 + 1)
LONG_CELL = b"uid,age,genre\nu1,30,rock\nu2,40," + b"x" * 140_000 + b"\n"


def parquet_of(columns: dict, **options) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer, compression="zstd", **options)
    return buffer.getvalue()


PARQUET_ROWS_BOMB = parquet_of({"iid": ["i"] * 5_000_000, "price": [1] * 5_000_000})  # ~50 kB
PARQUET_VALUES_BOMB = parquet_of({"iid": ["x" * 20_000] * 200_000})  # ~10 kB, 4 GB read
TABLE_CASES = {
    "empty file": TableCase("users", "users.csv", b"", ("users.csv", "the file is empty")),
    "only whitespace": TableCase("users", "users.csv", b"  \n\n ", ("users.csv", "the file is empty")),
    "header but no rows": TableCase("items", "items.csv", b"iid,price\n", ("items.csv", "no data rows")),
    "non-UTF-8 text": TableCase(
        "users",
        "users.csv",
        "uid,age,genre\nu1,30,m\xfasica\n".encode("latin-1"),
        ("users.csv", "row 2", "column 'genre'", "not valid UTF-8"),
    ),
    "ragged row": TableCase(
        "interactions",
        "interactions.csv",
        b"uid,iid,rating\nu1,i1,5\nu2,i2\n",
        ("interactions.csv", "row 3", "has 2 fields but the header has 3"),
    ),
    "duplicate header": TableCase(
        "users", "users.csv", b"uid,age,age\nu1,1,2\n", ("users.csv", "column 'age'", "names this column twice")
    ),
    "blank header": TableCase("items", "items.csv", b"iid,,genre\ni1,2,rock\n", ("items.csv", "blank")),
    "over the size limit": TableCase("users", "users.csv", BIG, ("users.csv", "over the 50.0 MB limit")),
    "not a table type": TableCase("users", "users.xlsx", b"PK\x03\x04xlsx", ("users.xlsx", "not a .csv or .parquet")),
    "corrupt parquet": TableCase(
        "items", "items.parquet", b"PAR1 this is not parquet PAR1", ("items.parquet", "not a readable Parquet")
    ),
    "cell over 131,072 characters": TableCase(
        "users", "users.csv", LONG_CELL, ("users.csv", "row 3", "a cell is longer than 131,072 characters")
    ),
    "parquet bomb: millions of rows": TableCase(
        "items",
        "items.parquet",
        PARQUET_ROWS_BOMB,
        ("items.parquet", "has 5,000,000 data rows; the limit is 1,000,000", "from the file's metadata"),
    ),
    "parquet bomb: repeated long values": TableCase(
        "items", "items.parquet", PARQUET_VALUES_BOMB, ("items.parquet", "expands to more than 256.0 MB")
    ),
}


@pytest.mark.parametrize("case", TABLE_CASES.values(), ids=TABLE_CASES.keys())
def test_unreadable_table_upload(case: TableCase):
    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    table_before = at.session_state["data_uploads"].tables[case.role]
    at.file_uploader(key=f"data_upload_{case.role}").set_value((case.filename, case.data, "text/csv"))
    at.run()
    message = errors(at)
    for fragment in case.expected:
        assert fragment in message, message
    assert "previous table is kept" in message
    assert at.session_state["data_uploads"].tables[case.role] is table_before
    # While a slot shows an error, nothing may be kept from the other slots plus the older table.
    assert at.button(key="data_keep").disabled
    at.run()  # the next rerun does not take the failed file for an accepted one
    assert case.expected[-1] in errors(at) and at.button(key="data_keep").disabled
    assert_still_works(at, good)


# ---- 2. zips that try something ----------------------------------------------------------------------------

ZIP_CASES = {
    "path traversal": (
        zip_of([("../../users.csv", USERS), ("items.csv", ITEMS), ("interactions.csv", INTERACTIONS)]),
        "points outside the archive",
    ),
    "absolute path": (zip_of([("/tmp/users.csv", USERS)]), "absolute path"),
    "zip bomb": (zip_of([("users.csv", b"0" * (30 * 1024 * 1024))]), "zip bomb"),
    "not a zip": (b"this is plain text pretending to be a zip", "not a readable zip"),
    "missing a table": (zip_of([("users.csv", USERS), ("items.csv", ITEMS)]), "no interactions table found"),
    "too many entries": (zip_of([(f"part{i}.csv", USERS) for i in range(40)]), "more than the 16 allowed"),
    "symbolic link": (symlink_zip(), "symbolic link"),
}


@pytest.mark.parametrize("data, expected", ZIP_CASES.values(), ids=ZIP_CASES.keys())
def test_hostile_zip_upload(data, expected):
    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    tables_before = dict(at.session_state["data_uploads"].tables)
    at.file_uploader(key="data_upload_zip").set_value(("upload.zip", data, "application/zip"))
    at.run()
    message = errors(at)
    assert "upload.zip" in message and expected in message, message
    assert at.session_state["data_uploads"].tables == tables_before
    assert not any(Path(p).name == "users.csv" for p in os.listdir("/tmp") if p.startswith("users"))
    assert_still_works(at, good)


# ---- 3. tables that read but do not validate (the keep button) ----------------------------------------------

CONTENT_CASES = {
    "duplicate user id": (
        "users",
        b"uid,age,genre\nu1,30,rock\nu2,40,pop\nu1,20,jazz\nu4,35,jazz\nu3,1,rock\n",
        ("users.csv", "row 4", "column 'uid'", "duplicate id 'u1'"),
    ),
    "missing user id": (
        "users",
        b"uid,age,genre\nu1,30,rock\n,40,pop\nu3,25,rock\nu4,35,jazz\n",
        ("users.csv", "row 3", "column 'uid'", "id is missing"),
    ),
    "unknown item in interactions": (
        "interactions",
        b"uid,iid,rating\nu1,i1,5\nu2,i9,4\nu3,i3,5\n",
        ("interactions.csv", "row 3", "column 'iid'", "item id 'i9' is not in the items"),
    ),
    "unknown user in interactions": (
        "interactions",
        b"uid,iid,rating\nu1,i1,5\nghost,i2,4\nu3,i3,5\n",
        ("interactions.csv", "row 3", "column 'uid'", "user id 'ghost'"),
    ),
    "text in a numeric column": (
        "users",
        b"uid,age,genre\nu1,30,rock\nu2,forty,pop\nu3,25,rock\nu4,35,jazz\n",
        ("users.csv", "row 3", "column 'age'", "text 'forty'"),
    ),
    "NaN in a numeric column": (
        "items",
        b"iid,price,genre\ni1,10,rock\ni2,NaN,pop\ni3,15,rock\ni4,12,jazz\n",
        ("items.csv", "row 3", "column 'price'", "NaN or infinity"),
    ),
    "infinity in a numeric column": (
        "items",
        b"iid,price,genre\ni1,10,rock\ni2,20,pop\ni3,-inf,rock\ni4,1,jazz\n",
        ("items.csv", "row 4", "column 'price'", "NaN or infinity"),
    ),
    "huge magnitude": (
        "users",
        b"uid,age,genre\nu1,30,rock\nu2,1e300,pop\nu3,25,rock\nu4,35,jazz\n",
        ("users.csv", "row 3", "column 'age'", "too large in magnitude"),
    ),
    "text rating": (
        "interactions",
        b"uid,iid,rating\nu1,i1,5\nu2,i2,great\nu3,i3,5\n",
        ("interactions.csv", "row 3", "column 'rating'", "text 'great'"),
    ),
    "missing rating": (
        "interactions",
        b"uid,iid,rating\nu1,i1,5\nu2,i2,?\nu3,i3,5\n",
        ("interactions.csv", "row 3", "column 'rating'", "missing but a number is required"),
    ),
    "no positives under the threshold": (
        "interactions",
        b"uid,iid,rating\nu1,i1,1\nu2,i2,2\nu3,i3,3\n",
        ("interactions.csv", "0 interaction(s) are positive"),
    ),
    "infinite rating": (
        "interactions",
        b"uid,iid,rating\nu1,i1,5\nu2,i2,inf\nu3,i3,5\nu4,i4,4\n",
        ("interactions.csv", "row 3", "column 'rating'", "NaN or infinity 'inf'"),
    ),
    "rating of 1e308": (
        "interactions",
        b"uid,iid,rating\nu1,i1,5\nu2,i2,1e308\nu3,i3,5\nu4,i4,4\n",
        ("interactions.csv", "row 3", "column 'rating'", "too large in magnitude"),
    ),
    "a single interaction": (
        "interactions",
        b"uid,iid,rating\nu1,i1,5\n",
        ("interactions.csv", "has only 1 interaction", "at least 2"),
    ),
}


@pytest.mark.parametrize("role, data, expected", CONTENT_CASES.values(), ids=CONTENT_CASES.keys())
def test_invalid_table_content_is_refused_at_keep(role, data, expected):
    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    at.file_uploader(key=f"data_upload_{role}").set_value((GOOD[role][0], data, "text/csv"))
    at.run()
    assert not at.error, errors(at)  # it reads fine; the problem is what it says
    # The mapping says what the columns are (as a user would in the roles table): age and price numeric.
    for side, _column in (("user", "age"), ("item", "price")):
        key = next(k for k in at.session_state if str(k).startswith(f"data_roles_{side}_"))
        at.session_state[key] = {"edited_rows": {0: {"role": "numeric"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    threshold = next(n for n in at.number_input if n.label.startswith("Positive when"))
    threshold.set_value(4.0)
    at.text_input(key="data_dataset_name").set_value("bad")
    at.button(key="data_keep").click().run()
    message = errors(at)
    for fragment in expected:
        assert fragment in message, message
    assert "Nothing was kept" in message and "bad" not in at.session_state["user_datasets"]
    assert_still_works(at, good)


def test_built_in_dataset_name_is_refused():
    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    at.text_input(key="data_dataset_name").set_value("restaurants")
    at.button(key="data_keep").click().run()
    assert "'restaurants' is the name of a built-in dataset" in errors(at)
    assert at.session_state["user_datasets"].get("restaurants") is None
    assert_still_works(at, good)


# ---- 4. checkpoints: pickles in disguise, wrong shapes, broken configs -----------------------------------------


@pytest.fixture(scope="module")
def checkpoint_files():
    """A real checkpoint of a model trained on the good dataset, as the two files a user would upload."""
    from attnrec.checkpoint_upload import checkpoint_zip_bytes
    from attnrec.data.upload_state import UploadState, dataset_from_mapping
    from attnrec.data.uploads import read_zip
    from attnrec.training import TrainConfig, train

    state = UploadState()
    for role, (name, data) in GOOD.items():
        state.accept_table(role, name, data)
    dataset, _ = dataset_from_mapping(state.tables, MAPPING, "good")
    model = train(dataset, TrainConfig(d=4, heads=2, epochs=2, device="cpu", val_fraction=0.3), progress=False)
    files = read_zip(checkpoint_zip_bytes(model), "checkpoint.zip")
    return files["model.safetensors"], files["config.json"]


def torch_save_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({"w_u": torch.zeros(2, 4, 4)}, buffer)
    return buffer.getvalue()


def wrong_shape_weights(weights: bytes) -> bytes:
    from safetensors.torch import load as load_bytes

    tensors = load_bytes(weights)
    tensors["w_u"] = torch.zeros(3, 4, 4)
    return safetensors_bytes(tensors)


def nan_weights(weights: bytes) -> bytes:
    from safetensors.torch import load as load_bytes

    tensors = load_bytes(weights)
    tensors["w_u"][0, 0, 0] = float("nan")
    return safetensors_bytes(tensors)


def other_dataset_config(config: bytes) -> bytes:
    blob = json.loads(config)
    for field in blob["featurizer"]["sides"]["user"]["fields"]:
        if field["name"] == "age":
            field["name"] = "income"
    return json.dumps(blob).encode()


def config_with(config: bytes, **changes) -> bytes:
    return json.dumps({**json.loads(config), **changes}).encode()


def config_with_raw(config: bytes, key: str, literal: str) -> bytes:
    """A config whose `key` is written as the JSON text `literal` (json.dumps cannot write 1e400)."""
    blob = json.loads(config)
    blob[key] = "@@"
    return json.dumps(blob).replace('"@@"', literal).encode()


CHECKPOINT_CASES = {
    "pickle named .safetensors": (
        lambda w, c: [("model.safetensors", pickle.dumps({"w_u": [0.0]})), ("config.json", c)],
        "pickle / torch.save",
    ),
    "torch.save named .safetensors": (
        lambda w, c: [("model.safetensors", torch_save_bytes()), ("config.json", c)],
        "pickle / torch.save",
    ),
    "a .pt file": (lambda w, c: [("model.pt", torch_save_bytes()), ("config.json", c)], "pickle-based format"),
    "weights with wrong shapes": (
        lambda w, c: [("model.safetensors", wrong_shape_weights(w)), ("config.json", c)],
        "tensor 'w_u' in model.safetensors has shape [3, 4, 4]",
    ),
    "NaN weights": (lambda w, c: [("model.safetensors", nan_weights(w)), ("config.json", c)], "NaN"),
    "config is not JSON": (
        lambda w, c: [("model.safetensors", w), ("config.json", b"{not json")],
        "config.json: is not valid JSON",
    ),
    "config is a JSON list": (
        lambda w, c: [("model.safetensors", w), ("config.json", b"[1, 2]")],
        "must hold a JSON object",
    ),
    "weights without a config": (
        lambda w, c: [("model.safetensors", w)],
        "exactly one .safetensors file and one .json",
    ),
    "trained on other columns": (
        lambda w, c: [("model.safetensors", w), ("config.json", other_dataset_config(c))],
        "user column(s) income that dataset 'good' does not have",
    ),
    "config size of the wrong type": (
        lambda w, c: [("model.safetensors", w), ("config.json", config_with(c, d=None))],
        "'d' must be a whole number between 1 and 4096, got None",
    ),
    "config asking for a huge model": (
        lambda w, c: [("model.safetensors", w), ("config.json", config_with(c, d=3000))],
        "the config and the weights do not belong together",
    ),
    "truncated safetensors": (
        lambda w, c: [("model.safetensors", w[: len(w) // 2]), ("config.json", c)],
        "model.safetensors",
    ),
    "temperature 1e400": (
        lambda w, c: [("model.safetensors", w), ("config.json", config_with_raw(c, "temperature", "1e400"))],
        "config.json: temperature is inf; every number in a config must be finite",
    ),
    "temperature NaN": (
        lambda w, c: [("model.safetensors", w), ("config.json", config_with_raw(c, "temperature", "NaN"))],
        "temperature is nan",
    ),
    "unknown config key": (
        lambda w, c: [("model.safetensors", w), ("config.json", config_with(c, backdoor="x"))],
        "config.json: has unknown key(s) 'backdoor'",
    ),
    "hidden size not in the weights": (
        lambda w, c: [("model.safetensors", w), ("config.json", config_with(c, hidden=16384))],
        "lacks tensor 'item_encoder.mlp.1.bias'",
    ),
    "hidden beyond the limit": (
        lambda w, c: [("model.safetensors", w), ("config.json", config_with(c, hidden=10**6))],
        "'hidden' must be a whole number between 0 and 16384",
    ),
}


@pytest.mark.parametrize("make, expected", CHECKPOINT_CASES.values(), ids=CHECKPOINT_CASES.keys())
def test_bad_checkpoint_upload(make, expected, checkpoint_files, monkeypatch):
    weights, config = checkpoint_files
    files = make(weights, config)
    uploaded = {bytes(data) for _, data in files}
    original_loads = pickle.loads

    def guarded_loads(data, *args, **kwargs):
        # Streamlit's own st.cache_data pickles its entries; only our uploads must never get here.
        if bytes(data) in uploaded:
            pytest.fail("pickle.loads was called on uploaded bytes")
        return original_loads(data, *args, **kwargs)

    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load must never see an upload"))
    monkeypatch.setattr(pickle, "loads", guarded_loads)
    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    at.file_uploader(key="data_ckpt_upload").set_value(
        [(name, data, "application/octet-stream") for name, data in files]
    )
    at.run()
    at.button(key="data_ckpt_load").click().run()
    message = errors(at)
    assert expected in message and "No model was loaded" in message, message
    assert at.session_state["user_models"] == {}
    # The good checkpoint loads right after.
    at.file_uploader(key="data_ckpt_upload").set_value(
        [("model.safetensors", weights, "application/octet-stream"), ("config.json", config, "application/json")]
    )
    at.run()
    at.button(key="data_ckpt_load").click().run()
    assert not at.error, errors(at)
    assert at.session_state["user_models"]["uploaded model"].dataset is good
    assert_still_works(at, good)


# ---- 5. URL parameters and typed vectors on Explore and the Walkthrough -----------------------------------------


@pytest.fixture(scope="module")
def session_model(checkpoint_files):
    """The checkpoint loaded for the good dataset, as the Data page puts it into the session."""
    from attnrec.checkpoint_upload import load_uploaded_checkpoint
    from attnrec.data.upload_state import UploadState, dataset_from_mapping

    state = UploadState()
    for role, (name, data) in GOOD.items():
        state.accept_table(role, name, data)
    dataset, _ = dataset_from_mapping(state.tables, MAPPING, "good")
    weights, config = checkpoint_files
    return load_uploaded_checkpoint(("model.safetensors", weights), ("config.json", config), dataset)


def explore(model, **query) -> AppTest:
    at = AppTest.from_file(EXPLORE_PAGE, default_timeout=120)
    at.session_state["user_datasets"] = {"good": model.dataset}
    at.session_state["user_models"] = {"mine": model}
    at.query_params["dataset"] = "good"
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def score_shown(at) -> float:
    return float(next(m.value for m in at.metric if m.label == "S (score)"))


URL_CASES = {
    "vector of the wrong length": ({"mode": "vectors", "x": "1,2"}, "not 4 comma-separated numbers"),
    "text in a vector": ({"mode": "vectors", "y": "1,two,3,4"}, "not 4 comma-separated numbers"),
    "NaN in a vector": ({"mode": "vectors", "x": "nan,1,1,1"}, "not 4 comma-separated numbers"),
    "infinity in a vector": ({"mode": "vectors", "x": "1,inf,1,1"}, "not 4 comma-separated numbers"),
    "huge magnitude in a vector": ({"mode": "vectors", "x": "1e300,1,1,1"}, "not 4 comma-separated numbers"),
    "unknown user id": ({"user": "nobody"}, "user “nobody”"),
    "unknown dataset": ({"dataset": "missing"}, "dataset “missing”"),
    "unknown method": ({"method": "rm -rf"}, "attribution method “rm -rf”"),
    "html in a parameter": ({"item": "<img src=x onerror=alert(1)>"}, "item “<img src=x onerror=alert(1)>”"),
}


@pytest.mark.parametrize("query, expected", URL_CASES.values(), ids=URL_CASES.keys())
def test_bad_url_parameters_warn_and_fall_back(query, expected, session_model):
    at = explore(session_model, **query)
    assert not at.exception, at.exception
    warnings = " | ".join(plain(w.value) for w in at.warning)
    assert expected in warnings, warnings
    s = score_shown(at)
    assert s == s and abs(s) < 1e6  # a finite score of the fallback view
    at.run()  # the corrected view is in the URL now: the page keeps working, warning gone
    assert not at.exception and not at.warning


TYPED_CASES = {
    "text typed into X": ("abc", "'abc' is not a number"),
    "infinity typed into Y": ("inf", "not a finite number"),
    "cleared cell": ("", "is empty"),
    "huge magnitude typed": ("1e300", "too large"),
}


@pytest.mark.parametrize("typed, expected", TYPED_CASES.values(), ids=TYPED_CASES.keys())
def test_bad_typed_vector_keeps_the_last_good_numbers(typed, expected, session_model):
    at = explore(session_model, mode="vectors", x="1,2,3,4", y="0.5,0.5,0.5,-1")
    good_s = score_shown(at)
    key = next(k for k in at.session_state if str(k).startswith("explore_vectors_"))
    at.session_state[key] = {"edited_rows": {1: {"Y (item)": typed}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception
    message = errors(at)
    assert expected in message and "row 'latent 2', column 'Y (item)'" in message, message
    assert score_shown(at) == good_s
    at.session_state[key] = {"edited_rows": {1: {"Y (item)": "0.25"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.error and score_shown(at) != good_s


def test_walkthrough_huge_typed_value_is_refused():
    at = AppTest.from_file(WALKTHROUGH_PAGE, default_timeout=60).run()
    key = "walkthrough_xy_3_1"  # the X/Y editor of the document's d = 3 example, first generation
    at.session_state[key] = {"edited_rows": {0: {"X": "1e308"}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception
    assert "too large" in errors(at) or "not a finite" in errors(at), errors(at)
    assert next(m.value for m in at.metric if m.label == "S") != "nan"


# ---- 6. the command line ---------------------------------------------------------------------------------------

CLI_CASES = {
    "cell over 131,072 characters": (
        ["train", "--data", "{longcell_dir}", "--mode", "latent", "--out", "{tmp}/out"],
        "file users.csv, row 3: a cell is longer than 131,072 characters",
    ),
    "1e308 in a numeric column": (
        ["train", "--data", "{huge_dir}", "--mode", "latent", "--out", "{tmp}/out"],
        "file users.csv, row 3, column 'age': 1e+308 is too large in magnitude",
    ),
    "a single interaction": (
        ["train", "--data", "{single_dir}", "--mode", "latent", "--out", "{tmp}/out"],
        "file interactions.csv: has only 1 interaction",
    ),
    "unknown command": (["frobnicate"], "invalid choice"),
    "data folder that does not exist": (
        ["train", "--data", "/nonexistent/folder", "--mode", "latent", "--out", "{tmp}/out"],
        "'/nonexistent/folder' not found",
    ),
    "non-numeric option": (
        ["train", "--data", "{data_dir}", "--mode", "latent", "--out", "{tmp}/out", "--epochs", "many"],
        "invalid int value: 'many'",
    ),
    "duplicate id in own data": (
        ["train", "--data", "{bad_dir}", "--mode", "latent", "--out", "{tmp}/out"],
        "file users.csv, row 6, column 'uid': duplicate id 'u1' (first seen at row 2)",
    ),
    "pickle as checkpoint": (["evaluate", "--checkpoint", "{pickle_dir}", "--data", "{data_dir}"], "pickle"),
}


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory, checkpoint_files) -> dict[str, tuple[int, str]]:
    """Every CLI case at once, each `python -m attnrec ...` in its own process (imports dominate: in
    parallel the whole set costs about one run). Returns case id → (exit code, stdout + stderr)."""
    from attnrec.data.mapping import build_schema

    tmp_path = tmp_path_factory.mktemp("cli")
    schema = json.dumps(build_schema(**MAPPING))
    variants = {
        "own": {},
        "bad": {"users": USERS + b"u1,50,pop\n"},
        "longcell": {"users": LONG_CELL},
        "huge": {"users": USERS.replace(b"u2,40,", b"u2,1e308,")},
        "single": {"interactions": b"uid,iid,rating\nu1,i1,5\n"},
    }
    for folder, replaced in variants.items():
        (tmp_path / folder).mkdir()
        for role, (name, data) in GOOD.items():
            (tmp_path / folder / name).write_bytes(replaced.get(role, data))
        (tmp_path / folder / "schema.json").write_text(schema)
    pickle_dir = tmp_path / "pickled"
    pickle_dir.mkdir()
    (pickle_dir / "model.safetensors").write_bytes(torch_save_bytes())
    (pickle_dir / "config.json").write_bytes(checkpoint_files[1])
    processes = {}
    for case, (args, _) in CLI_CASES.items():
        filled = [
            a.format(
                data_dir=tmp_path / "own",
                bad_dir=tmp_path / "bad",
                pickle_dir=pickle_dir,
                longcell_dir=tmp_path / "longcell",
                huge_dir=tmp_path / "huge",
                single_dir=tmp_path / "single",
                tmp=tmp_path / case.replace(" ", "_").replace(",", ""),
            )
            for a in args
        ]
        processes[case] = subprocess.Popen(
            [sys.executable, "-m", "attnrec", *filled],
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    outputs = {case: p.communicate(timeout=300)[0] for case, p in processes.items()}
    return {case: (processes[case].returncode, outputs[case]) for case in processes}


@pytest.mark.slow
@pytest.mark.parametrize("case", CLI_CASES.keys())
def test_cli_arguments(case, cli_runs):
    expected = CLI_CASES[case][1]
    code, output = cli_runs[case]
    assert code != 0, output
    assert expected in output, output
    assert "Traceback" not in output, output


# ---- 7. crashes and half-loaded state --------------------------------------------------------------------------

INFINITE_RATING = b"uid,iid,rating\nu1,i1,5\nu2,i2,inf\nu3,i3,5\nu4,i4,4\n"


def test_infinite_rating_leaves_every_section_of_the_data_page_in_place():
    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    at.file_uploader(key="data_upload_interactions").set_value(("interactions.csv", INFINITE_RATING, "text/csv"))
    at.run()
    at.run()  # every rerun, not just the first
    assert not at.exception, at.exception
    headers = [h.value for h in at.subheader]
    assert "3 · Train a model" in headers and "4 · Checkpoints (safetensors + JSON)" in headers, headers
    threshold = next(n for n in at.number_input if n.label.startswith("Positive when"))
    assert threshold.value == 5.0  # the midpoint of the finite ratings 4..5, rounded up
    at.button(key="data_keep").click().run()
    message = errors(at)
    assert "interactions.csv, row 3, column 'rating': NaN or infinity 'inf'" in message, message
    assert_still_works(at, good)


def test_removing_the_failed_file_clears_its_error_and_keep_uses_the_kept_table():
    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    table_before = at.session_state["data_uploads"].tables["users"]
    at.file_uploader(key="data_upload_users").set_value(("users.csv", LONG_CELL, "text/csv")).run()
    assert at.button(key="data_keep").disabled
    with pytest.raises(Exception, match="the users upload failed"):
        at.session_state["data_uploads"].ready_tables()
    at.file_uploader(key="data_upload_users").set_value(None).run()
    assert not at.error and not at.button(key="data_keep").disabled
    assert at.session_state["data_uploads"].tables["users"] is table_before
    assert_still_works(at, good)


@pytest.mark.slow
def test_a_label_that_separates_nothing_is_said_by_the_library_the_cli_and_the_page(tmp_path):
    import warnings

    from attnrec.data import DataWarning, load_own_dataset
    from attnrec.data.mapping import build_schema

    all_positive = b"uid,iid,rating\nu1,i1,5\nu2,i2,4\nu3,i3,5\nu4,i4,4\n"
    schema = build_schema(**MAPPING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = load_own_dataset(
            ("users.csv", USERS), ("items.csv", ITEMS), ("interactions.csv", all_positive), schema
        )
    assert [w.category for w in caught] == [DataWarning]
    assert dataset.notes and "every interaction is positive under the label threshold (rating ≥ 4)" in dataset.notes[0]
    # the CLI says it in its own words (and still trains)
    for role, (name, data) in GOOD.items():
        (tmp_path / name).write_bytes(all_positive if role == "interactions" else data)
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "attnrec",
            "train",
            "--data",
            str(tmp_path),
            "--mode",
            "latent",
            "--out",
            str(tmp_path / "out"),
            "--epochs",
            "1",
            "--d",
            "4",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "attnrec: warning: " in done.stderr and "the label separates nothing" in done.stderr, done.stderr
    # the Data page shows it with the kept dataset
    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    at.file_uploader(key="data_upload_interactions").set_value(("interactions.csv", all_positive, "text/csv"))
    at.run()
    next(n for n in at.number_input if n.label.startswith("Positive when")).set_value(4.0)
    at.text_input(key="data_dataset_name").set_value("one label")
    at.button(key="data_keep").click().run()
    assert "one label" in at.session_state["user_datasets"]
    warned = " | ".join(plain(w.value) for w in at.warning)
    assert "Dataset 'one label': every interaction is positive" in warned, warned
    assert_still_works(at, good)


@pytest.fixture()
def damaged_synthetic(tmp_path, monkeypatch):
    """sample_data with the synthetic dataset's users.csv cut in the middle of a row."""
    import shutil

    import attnrec.data as data_module
    from attnrec.app import session

    copy = tmp_path / "sample_data"
    shutil.copytree(data_module.SAMPLE_DATA, copy, ignore=shutil.ignore_patterns("models"))
    users = (copy / "synthetic" / "users.csv").read_bytes()
    (copy / "synthetic" / "users.csv").write_bytes(users[: len(users) // 2].rsplit(b",", 1)[0] + b"\n")
    monkeypatch.setattr(data_module, "SAMPLE_DATA", copy)
    session.load_builtin_dataset.clear()
    yield copy
    session.load_builtin_dataset.clear()


def test_a_damaged_built_in_dataset_is_reported_in_words_even_from_a_link(damaged_synthetic):
    at = AppTest.from_file(str(ROOT / "app_pages" / "recommend.py"), default_timeout=120)
    at.query_params["dataset"] = "synthetic"  # a fresh session opened from a link
    at.run()
    assert not at.exception, at.exception
    sidebar = " | ".join(plain(e.value) for e in at.sidebar.error)
    assert "Dataset “synthetic” could not be loaded: file users.csv, row" in sidebar, sidebar
    assert "fields but the header has 16" in sidebar
    assert at.session_state["attnrec_dataset"] == "restaurants"  # the page works on the next dataset
    assert at.dataframe and not at.main.error
    at.run()
    assert not at.exception and "synthetic" not in at.sidebar.selectbox[0].options


def test_a_full_temporary_folder_does_not_break_the_data_page(checkpoint_files, monkeypatch):
    import errno
    import tempfile

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    weights, config = checkpoint_files
    at.file_uploader(key="data_ckpt_upload").set_value(
        [("model.safetensors", weights, "application/octet-stream"), ("config.json", config, "application/json")]
    )
    for name in ("mkdtemp", "mkstemp", "TemporaryDirectory", "NamedTemporaryFile", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, full)
    at.run()
    at.button(key="data_ckpt_load").click().run()  # uploads load in memory: no temporary files
    assert not at.exception and not at.error, errors(at)
    at.run()
    assert not at.exception and not at.error, errors(at)  # and no rerun builds a download
    at.button(key="data_checkpoint_prepare").click().run()
    assert not at.exception and not at.error, errors(at)
    assert at.get("download_button")
    # when building the archive does fail, the page says so in words and keeps working
    import attnrec.checkpoint_upload as checkpoint_upload

    monkeypatch.setattr(checkpoint_upload, "checkpoint_zip_bytes", full)
    at.session_state["data_checkpoint_bytes"] = None
    at.run()
    at.button(key="data_checkpoint_prepare").click().run()
    assert not at.exception
    assert "the server is out of disk space, or cannot write (No space left on device)" in errors(at), errors(at)
    monkeypatch.undo()
    assert_still_works(at, good)


def test_an_uploaded_config_cannot_name_a_dataset_on_the_server(checkpoint_files):
    from attnrec.checkpoint_upload import load_uploaded_checkpoint

    weights, config = checkpoint_files
    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    pointing = config_with(config, dataset={"name": "x", "reference": "/etc", "schema": "/etc/passwd"})
    model = load_uploaded_checkpoint(("model.safetensors", weights), ("config.json", pointing), good)
    assert "dataset" not in model.config and model.dataset is good


# ---- 8. training on a shared server ------------------------------------------------------------------------


def test_trainings_beyond_the_cap_wait_in_a_queue_and_stop_with_their_session(monkeypatch):
    import threading
    import time

    import attnrec.training as training
    import attnrec.training_job as training_job
    from attnrec.app import session
    from attnrec.limits import Limits

    queue = training_job.TrainingQueue(
        Limits(concurrent_trainings=2, queued_trainings=4, session_grace_seconds=0.3), tick=0.05
    )
    monkeypatch.setattr(training_job, "QUEUE", queue)
    busy = threading.Event()

    def endless_train(dataset, config, progress=False, callback=None, stop_event=None):
        epoch = 0
        while not stop_event.is_set():  # like the engine: checks the stop event between epochs
            epoch += 1
            callback(epoch, {"train_loss": 1.0 / epoch, "val_loss": 1.0})
            busy.set()
            time.sleep(0.01)
        return f"model after {epoch} epochs"

    monkeypatch.setattr(training, "train", endless_train)
    sessions = {}
    alive = {}
    for name in ("a", "b", "c"):
        alive[name] = True
        monkeypatch.setattr(session, "session_probe", lambda name=name: lambda: alive[name])
        at = data_page_with_good_dataset()
        at.number_input(key="data_train_epochs").set_value(500)
        at.button(key="FormSubmitter:data_train_form-Train").click().run()
        assert not at.exception and not at.error, errors(at)
        sessions[name] = at
    jobs = {name: at.session_state["data_training_job"] for name, at in sessions.items()}
    assert [jobs[n].snapshot().status for n in "abc"] == ["running", "running", "queued"]
    assert queue.counts() == (2, 1)
    # the third session is told where it stands; the others see the server is busy
    sessions["c"].run()
    info = " | ".join(plain(i.value) for i in sessions["c"].info)
    assert "waiting for a free training slot — number 1 in the queue" in info, info
    assert "at most 2 at once" in info
    # the first session's tab closes: its job stops by itself, and the waiting one starts
    alive["a"] = False
    snap = jobs["a"].join(10)
    assert snap.status == "stopped" and snap.stopped_by == "its browser session ended"
    deadline = time.time() + 10
    while jobs["c"].snapshot().status != "running" and time.time() < deadline:
        time.sleep(0.02)
    assert jobs["c"].snapshot().status == "running"
    # the others stop with the button and are registered as models
    for name in ("b", "c"):
        sessions[name].run()
        sessions[name].button(key="data_train_stop").click().run()
        assert jobs[name].join(10).status == "stopped"
        sessions[name].run()
        assert not sessions[name].exception
        assert sessions[name].session_state["user_models"][jobs[name].name].startswith("model after")
    assert queue.counts() == (0, 0)


def test_a_run_too_large_for_the_server_is_refused_before_it_starts(monkeypatch):
    import attnrec.training_job as training_job
    from attnrec.limits import Limits

    monkeypatch.setattr(training_job, "QUEUE", training_job.TrainingQueue(Limits(training_epoch_rows=100)))
    at = data_page_with_good_dataset()
    good = at.session_state["user_datasets"]["good"]
    at.number_input(key="data_train_epochs").set_value(500)
    at.button(key="FormSubmitter:data_train_form-Train").click().run()
    message = errors(at)
    assert "Training not started: 500 epochs × 7 interactions is more training than this server allows" in message
    assert "use at most 14 epochs here" in message, message
    assert at.session_state.get("data_training_job") is None
    assert_still_works(at, good)


def test_a_model_too_large_to_evaluate_after_training_says_so_and_is_kept(monkeypatch):
    """BPR-MF's 60 epochs over the data would be more than one run may be: the job trains, skips the evaluation
    and the page says Model health computes it on request."""
    import attnrec.training_job as training_job
    from attnrec.limits import Limits

    monkeypatch.setattr(training_job, "QUEUE", training_job.TrainingQueue(Limits(training_epoch_rows=100)))
    at = data_page_with_good_dataset()
    at.number_input(key="data_train_epochs").set_value(2)
    at.button(key="FormSubmitter:data_train_form-Train").click().run()
    snap = at.session_state["data_training_job"].join(60)
    assert snap.status == "done" and snap.quality_status is None and not snap.busy
    at.run()
    assert not at.exception, at.exception
    notes = [c.value for c in at.caption if c.value.startswith("Not evaluated against the baselines here")]
    assert len(notes) == 1 and "7 interactions" in notes[0] and "on request" in notes[0]


# ---- 9. the Model health batch file: Parquet limits and no file-system probing ---------------------------------


def test_batch_file_folder_refuses_everything_outside_it(tmp_path):
    from attnrec.safety import PathRefused, file_in_folder

    folder = tmp_path / "batches"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "ok.parquet").write_bytes(b"PAR1")
    (tmp_path / "secret.parquet").write_bytes(b"PAR1")
    (folder / "link.parquet").symlink_to(tmp_path / "secret.parquet")
    (folder / "linked_dir").symlink_to(tmp_path)
    assert file_in_folder(folder, "sub/ok.parquet") == (folder / "sub" / "ok.parquet").resolve()
    cases = {
        "../secret.parquet": "no absolute paths, '..' or '~'",
        str(tmp_path / "secret.parquet"): "no absolute",
        "~/x.parquet": "'~'",
        "link.parquet": "symbolic links are not followed",
        "linked_dir/secret.parquet": "symbolic links",
        "sub": "only .parquet",
        "none.parquet": "no such file",
        "": "give a file name",
    }
    for typed, expected in cases.items():
        with pytest.raises(PathRefused, match=re.escape(expected)) as refused:
            file_in_folder(folder, typed)
        assert str(folder) not in str(refused.value).replace(typed, "")  # the server's folder is never shown


def test_model_health_refuses_a_parquet_bomb_and_offers_no_server_path_by_default(monkeypatch):
    monkeypatch.delenv("ATTNREC_BATCH_DIR", raising=False)
    at = AppTest.from_file(str(ROOT / "app_pages" / "health.py"), default_timeout=300).run()
    assert not at.exception, at.exception
    assert not [t for t in at.text_input if t.key == "health_batch_path"]
    at.file_uploader(key="health_batch_upload").set_value(
        ("out.parquet", PARQUET_ROWS_BOMB, "application/octet-stream")
    )
    at.run()
    assert not at.exception, at.exception
    message = errors(at)
    assert "Could not use “out.parquet”: has 5,000,000 data rows; the limit is 1,000,000" in message, message
    at.file_uploader(key="health_batch_upload").set_value(None)
    at.run()
    assert not at.exception and not at.error

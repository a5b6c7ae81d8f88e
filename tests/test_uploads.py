"""attnrec.data.uploads, attnrec.safety, attnrec.checkpoint_upload, attnrec.training_job: the pieces
the Data page is made of, tested without Streamlit."""

from __future__ import annotations

import io
import json
import pickle
import struct
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save as safetensors_bytes

from attnrec.checkpoint_sniff import sniff_safetensors
from attnrec.data.mapping import build_schema, suggest_id_column, suggest_roles, suggest_threshold
from attnrec.data.types import DataError
from attnrec.data.upload_state import UploadState, dataset_from_mapping
from attnrec.data.uploads import LIMITS, UploadLimits, read_zip, role_of, split_tables
from attnrec.safety import (
    escape_html,
    escape_markdown,
    neutralise_formula,
    neutralise_frame,
    safe_csv_bytes,
    safe_filename,
)

RESTAURANTS = Path(__file__).resolve().parents[1] / "sample_data" / "restaurants"
USERS = b"uid,age,genre\nu1,30,rock\nu2,40,pop\nu3,25,rock\n"
ITEMS = b"iid,price,genre,tags\ni1,10,rock,loud;live\ni2,20,pop,calm\ni3,15,rock,live\n"
INTERACTIONS = b"uid,iid,rating\nu1,i1,5\nu1,i2,2\nu2,i2,4\nu3,i3,5\nu3,i1,4\n"
MAPPING = dict(
    user_id="uid",
    item_id="iid",
    label_column="rating",
    label_threshold=4,
    user_roles={"age": "numeric", "genre": "categorical"},
    item_roles={"price": "numeric", "genre": "categorical", "tags": "multi"},
    separators={"item:tags": ";"},
    aligned_pairs=[{"user": "genre", "item": "genre", "name": "genre"}],
)


def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def small_state() -> UploadState:
    state = UploadState()
    for role, name, data in (
        ("users", "users.csv", USERS),
        ("items", "items.csv", ITEMS),
        ("interactions", "interactions.csv", INTERACTIONS),
    ):
        assert state.accept_table(role, name, data)
    return state


# ---- zip defences ------------------------------------------------------------------------------------


def test_zip_reads_tables_by_base_name_and_skips_folders_and_mac_metadata():
    data = zip_bytes(
        [
            ("export/users.csv", USERS),
            ("export/items.csv", ITEMS),
            ("__MACOSX/._users.csv", b"x"),
            ("export/.DS_Store", b"x"),
            ("export/interactions.csv", INTERACTIONS),
        ]
    )
    files = read_zip(data, "export.zip")
    assert files == {"users.csv": USERS, "items.csv": ITEMS, "interactions.csv": INTERACTIONS}
    roles = split_tables(files, "export.zip")
    assert {role: name for role, (name, _) in roles.items()} == {
        "users": "users.csv",
        "items": "items.csv",
        "interactions": "interactions.csv",
    }


@pytest.mark.parametrize(
    "name", ["../evil.csv", "a/../../evil.csv", "/etc/passwd.csv", "C:/x/users.csv", "..\\..\\evil.csv"]
)
def test_zip_refuses_names_that_leave_the_archive(name):
    with pytest.raises(DataError, match="outside the archive|absolute path") as err:
        read_zip(zip_bytes([(name, b"a\n1\n")]), "up.zip")
    assert "up.zip" in str(err.value)


def test_zip_bomb_is_refused_by_ratio_before_inflating_everything():
    bomb = zip_bytes([("users.csv", b"0" * (20 * 1024 * 1024))])
    assert len(bomb) < 100_000
    with pytest.raises(DataError, match="zip bomb"):
        read_zip(bomb, "bomb.zip")


def test_zip_total_declared_size_limit():
    limits = UploadLimits(zip_total_bytes=1000, zip_ratio=1e9)
    data = zip_bytes([("a.csv", b"x" * 600), ("b.csv", b"y" * 600)], zipfile.ZIP_STORED)
    with pytest.raises(DataError, match="would inflate to"):
        read_zip(data, "big.zip", limits)


def test_zip_lying_header_is_caught_while_inflating():
    """A central directory that declares 10 bytes for a 5000-byte entry: reading stops at the declared size."""
    honest = zip_bytes([("users.csv", b"a" * 5000)], zipfile.ZIP_STORED)
    archive = zipfile.ZipFile(io.BytesIO(honest))
    info = archive.infolist()[0]
    central = honest.rfind(b"PK\x01\x02")
    # central directory header: uncompressed size at offset 24 (4 bytes, little endian)
    lying = bytearray(honest)
    lying[central + 24 : central + 28] = struct.pack("<I", 10)
    assert info.file_size == 5000
    with pytest.raises(DataError, match="declared size|cannot be read"):
        read_zip(bytes(lying), "liar.zip")


def test_zip_entry_count_and_duplicates_and_junk():
    many = zip_bytes([(f"t{i}.csv", b"a\n1\n") for i in range(LIMITS.zip_entries + 1)])
    with pytest.raises(DataError, match="more than the"):
        read_zip(many, "many.zip")
    with pytest.raises(DataError, match="two entries are named 'users.csv'"):
        read_zip(zip_bytes([("a/users.csv", USERS), ("b/users.csv", USERS)]), "dup.zip")
    with pytest.raises(DataError, match="not a readable zip"):
        read_zip(b"PK\x03\x04 definitely not a zip", "junk.zip")
    with pytest.raises(DataError, match="no files"):
        read_zip(zip_bytes([("folder/", b"")]), "empty.zip")


def test_split_tables_names_what_is_missing():
    with pytest.raises(DataError, match="no interactions table found"):
        split_tables({"users.csv": USERS, "items.csv": ITEMS}, "two.zip")
    with pytest.raises(DataError, match="look like the users table"):
        split_tables(
            {"users.csv": USERS, "user_extra.csv": USERS, "items.csv": ITEMS, "ratings.csv": INTERACTIONS}, "x.zip"
        )
    assert role_of("rating_final.csv") == "interactions"
    assert role_of("userprofile.csv") == "users"
    assert role_of("geoplaces2.csv") == "items"
    assert role_of("notes.csv") is None


# ---- safetensors sniffing ------------------------------------------------------------------------------


def test_sniff_accepts_real_safetensors_and_reads_the_header_only():
    header = sniff_safetensors(safetensors_bytes({"w": torch.zeros(2, 3), "b": torch.ones(4)}), "m.safetensors")
    assert header["w"]["shape"] == [2, 3] and header["b"]["dtype"] == "F32"


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps({"w": [1.0, 2.0]}),  # protocol 5 pickle
        pickle.dumps([1, 2], protocol=0),  # text pickle
        "torch.save",  # a zip holding a pickle
    ],
)
def test_sniff_names_pickles_and_never_loads_them(payload, monkeypatch):
    if payload == "torch.save":
        buffer = io.BytesIO()
        torch.save({"w": torch.zeros(2)}, buffer)
        payload = buffer.getvalue()
    # If anything tried to unpickle, this would fail the test loudly.
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads was called"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    with pytest.raises(DataError, match="pickle / torch.save"):
        sniff_safetensors(payload, "model.safetensors")


def test_sniff_refuses_truncated_and_out_of_range_offsets():
    good = safetensors_bytes({"w": torch.zeros(8)})
    with pytest.raises(DataError, match="points outside"):
        sniff_safetensors(good[:-4], "cut.safetensors")
    with pytest.raises(DataError, match="too short"):
        sniff_safetensors(b"abc", "tiny.safetensors")


# ---- schema from the mapping and suggestions -------------------------------------------------------------


def test_build_schema_matches_the_cli_format_and_validates():
    schema = build_schema(**MAPPING)
    assert schema["user_id"] == "uid" and schema["label"] == {"column": "rating", "threshold": 4}
    assert schema["item_features"]["tags"] == {"kind": "multi", "separator": ";"}
    assert schema["user_features"] == {"age": {"kind": "numeric"}, "genre": {"kind": "categorical"}}
    assert json.loads(json.dumps(schema)) == schema
    with pytest.raises(DataError, match="unknown role"):
        build_schema(**{**MAPPING, "user_roles": {"age": "vector"}})


def test_ignored_and_id_columns_are_not_features():
    schema = build_schema(**{**MAPPING, "user_roles": {"uid": "categorical", "age": "ignore", "genre": "categorical"}})
    assert schema["user_features"] == {"genre": {"kind": "categorical"}}


def test_suggestions_on_the_restaurant_files():
    state = UploadState()
    for role, name in (("users", "userprofile.csv"), ("items", "geoplaces2.csv"), ("interactions", "rating_final.csv")):
        assert state.accept_table(role, name, (RESTAURANTS / name).read_bytes())
    users, items = state.tables["users"], state.tables["items"]
    assert suggest_id_column(users, "user") == "userID" and suggest_id_column(items, "item") == "placeID"
    roles = suggest_roles(users, "userID")
    assert roles["birth_year"] == "numeric" and roles["smoker"] == "categorical"
    assert suggest_roles(items, "placeID")["name"] == "ignore"  # free text: one value per restaurant
    assert suggest_threshold(state.tables["interactions"]["rating"]) == 1  # ratings 0..2 → midpoint 1
    assert suggest_threshold(["1", "5", "3"]) == 4 and suggest_threshold([0, 1, 1]) == 1  # 1–5 stars → 4


def test_dataset_from_mapping_builds_a_dataset_with_thresholded_labels():
    state = small_state()
    dataset, schema = dataset_from_mapping(state.tables, MAPPING, "mine")
    assert dataset.name == "mine" and list(dataset.users.index) == ["u1", "u2", "u3"]
    expected = {("u1", "i1"): 1, ("u1", "i2"): 0, ("u2", "i2"): 1, ("u3", "i3"): 1, ("u3", "i1"): 1}
    got = {
        (u, i): int(label)
        for u, i, label in dataset.interactions[["user_id", "item_id", "label"]].itertuples(index=False)
    }
    assert got == expected
    assert schema == dataset.schema


def test_dataset_from_mapping_renames_differently_named_interaction_ids():
    state = small_state()
    state.accept_table("interactions", "log.csv", b"who,what,rating\nu1,i1,5\nu2,i2,4\n")
    dataset, _ = dataset_from_mapping(
        state.tables, {**MAPPING, "interaction_user": "who", "interaction_item": "what"}, "renamed"
    )
    assert dataset.interactions[["user_id", "item_id"]].values.tolist() == [["u1", "i1"], ["u2", "i2"]]


def test_upload_state_keeps_the_last_good_table_and_skips_repeats():
    state = small_state()
    before = state.tables["users"]
    assert not state.accept_table("users", "users.csv", b"uid,age\nu1\n")  # ragged row
    assert "row 2" in state.errors["users"] and state.tables["users"] is before
    assert state.accept_table("users", "users.csv", USERS)
    assert "users" not in state.errors
    assert state.accept_table("users", "users.csv", USERS, fingerprint="same") and state.accept_table(
        "users", "other.csv", b"", fingerprint="same"
    )  # same fingerprint: not re-read


def test_upload_state_zip_replaces_all_three_only_when_all_read():
    state = small_state()
    broken = zip_bytes([("users.csv", USERS), ("items.csv", b"iid,price\ni1\n"), ("interactions.csv", INTERACTIONS)])
    assert not state.accept_zip("broken.zip", broken)
    assert "items.csv" in state.errors["zip"] and state.sources["users"] == "users.csv"
    assert state.accept_zip(
        "ok.zip", zip_bytes([("users.csv", USERS), ("items.csv", ITEMS), ("interactions.csv", INTERACTIONS)])
    )
    assert state.sources["items"] == "ok.zip/items.csv" and "zip" not in state.errors


# ---- safety helpers -------------------------------------------------------------------------------------


def test_escape_html_and_markdown():
    payload = "<img src=x onerror=alert(1)>\"'&"
    assert escape_html(payload) == "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;&amp;"
    md = escape_markdown("[click](javascript:alert(1)) <b>*x*</b> :red[y]\nnext")
    assert "[click]" not in md and "<b>" not in md and "\n" not in md
    assert md.replace("\\", "") == "[click](javascript:alert(1)) <b>*x*</b> :red[y] next"


@pytest.mark.parametrize(
    "cell,expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("-3.5", "-3.5"),
        ("+1e3", "+1e3"),
        ("plain", "plain"),
        (-4.0, -4.0),
        (None, None),
    ],
)
def test_neutralise_formula(cell, expected):
    assert neutralise_formula(cell) == expected


def test_safe_csv_neutralises_cells_headers_and_index():
    frame = pd.DataFrame({"=bad": ["=1+1", "ok"], "n": [-1.5, 2.0]}, index=pd.Index(["@id", "x"], name="id"))
    text = safe_csv_bytes(frame, index=True).decode()
    lines = text.splitlines()
    assert lines[0] == "id,'=bad,n"
    assert lines[1] == "'@id,'=1+1,-1.5"
    assert neutralise_frame(frame)["n"].tolist() == [-1.5, 2.0]


def test_safe_filename():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\x\\my model?.zip") == "my model_.zip"
    assert safe_filename("<img src=x>") == "img src_x"
    assert safe_filename("...") == "download"


# ---- checkpoints across the browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained():
    from attnrec.training import TrainConfig, train

    dataset, _ = dataset_from_mapping(small_state().tables, MAPPING, "tiny")
    model = train(
        dataset, TrainConfig(mode="latent", d=4, heads=2, epochs=2, device="cpu", val_fraction=0.3), progress=False
    )
    return dataset, model


@pytest.mark.slow
def test_checkpoint_zip_round_trip_gives_identical_scores(trained):
    from attnrec.checkpoint_upload import checkpoint_zip_bytes, load_uploaded_checkpoint, split_checkpoint_files

    dataset, model = trained
    weights, config = split_checkpoint_files({"ckpt.zip": checkpoint_zip_bytes(model)})
    assert weights[0] == "model.safetensors" and config[0] == "config.json"
    loaded = load_uploaded_checkpoint(weights, config, dataset)
    assert loaded is not model
    pairs = dataset.interactions[["user_id", "item_id"]]
    np.testing.assert_array_equal(
        loaded.score(pairs.user_id, pairs.item_id)["s"], model.score(pairs.user_id, pairs.item_id)["s"]
    )


def test_checkpoint_upload_refusals(trained):
    from attnrec.checkpoint_upload import (
        UploadError,
        checkpoint_zip_bytes,
        load_uploaded_checkpoint,
        split_checkpoint_files,
    )

    dataset, model = trained
    files = read_zip(checkpoint_zip_bytes(model), "c.zip")
    weights, config = ("model.safetensors", files["model.safetensors"]), ("config.json", files["config.json"])
    with pytest.raises(UploadError, match="pickle-based format"):
        split_checkpoint_files({"model.pt": b"\x80\x04", "config.json": b"{}"})
    with pytest.raises(UploadError, match="exactly one .safetensors"):
        split_checkpoint_files({"config.json": b"{}"})
    with pytest.raises(DataError, match="not an attnrec checkpoint config"):
        load_uploaded_checkpoint(weights, ("config.json", b'{"a": 1}'), dataset)
    blob = json.loads(config[1])
    blob["d"] = 8  # the weights are d=4: more weights than the file holds
    with pytest.raises(UploadError, match="do not belong together"):
        load_uploaded_checkpoint(weights, ("config.json", json.dumps(blob).encode()), dataset)
    blob["d"], blob["heads"] = 4, 1  # fewer heads: fits the size check, but w_u's shape is wrong
    with pytest.raises(UploadError, match="tensor '.*' in model.safetensors has shape") as err:
        load_uploaded_checkpoint(weights, ("config.json", json.dumps(blob).encode()), dataset)
    assert "/tmp" not in str(err.value)  # names the uploaded files, not our temporary folder
    other, _ = dataset_from_mapping(small_state().tables, {**MAPPING, "item_roles": {"genre": "categorical"}}, "o")
    other.items = other.items.drop(columns=["price"])
    with pytest.raises(UploadError, match="item column\\(s\\) price"):
        load_uploaded_checkpoint(weights, config, other)


# ---- the background job -------------------------------------------------------------------------------------


def test_training_job_reports_epochs_and_result():
    def fake_train(dataset, config, progress, callback, stop_event):
        for epoch in range(1, 4):
            callback(epoch, {"train_loss": torch.tensor(1.0 / epoch), "val_loss": 0.5})
        return "model"

    from attnrec.training_job import TrainingJob

    job = TrainingJob("data", None, epochs=3, train_fn=fake_train).start()
    snap = job.join(10)
    assert snap.status == "done" and snap.result == "model" and snap.fraction == 1.0
    assert [h["epoch"] for h in snap.history] == [1, 2, 3]
    assert snap.history[1]["train_loss"] == pytest.approx(0.5) and isinstance(snap.history[1]["train_loss"], float)
    with pytest.raises(RuntimeError, match="already started"):
        job.start()


def test_training_job_stop_and_failure():
    from attnrec.training_job import TrainingJob

    started = threading.Event()

    def slow_train(dataset, config, progress, callback, stop_event):
        epoch = 0
        while not stop_event.is_set():
            epoch += 1
            callback(epoch, {"train_loss": 1.0})
            started.set()
            stop_event.wait(0.01)
        return f"best of {epoch}"

    job = TrainingJob(None, None, epochs=10**6, train_fn=slow_train).start()
    assert started.wait(10)
    assert job.snapshot().status == "running" and 0 <= job.snapshot().fraction < 1
    job.stop()
    snap = job.join(10)
    assert snap.status == "stopped" and snap.result.startswith("best of")

    def broken(*args, **kwargs):
        raise ValueError("dataset 'x' has 0 positive interactions")

    failed = TrainingJob(None, None, epochs=1, train_fn=broken).start().join(10)
    assert failed.status == "failed" and "0 positive interactions" in failed.error and failed.result is None


def test_training_job_evaluates_the_trained_model_after_training():
    """With a quality_fn the job evaluates the model after training: the model is there as soon as training ends
    (finished), `busy` holds until the evaluation is over, its steps show, and a failing evaluation keeps the
    model."""
    from attnrec.training_job import TrainingJob

    release, evaluating = threading.Event(), threading.Event()

    def fake_train(dataset, config, progress, callback, stop_event):
        callback(1, {"train_loss": 1.0})
        return "model"

    def quality(model, progress):
        progress("BPR-MF")
        evaluating.set()
        assert release.wait(10)
        return ("table of", model)

    job = TrainingJob("data", None, epochs=1, train_fn=fake_train, quality_fn=quality).start()
    assert evaluating.wait(10)
    snap = job.snapshot()
    assert snap.finished and snap.busy and snap.result == "model"
    assert snap.quality_status == "running" and snap.quality_step == "BPR-MF" and snap.quality is None
    release.set()
    snap = job.join(10)
    assert not snap.busy and snap.quality_status == "done" and snap.quality == ("table of", "model")

    def broken(model, progress):
        raise ValueError("no held-out users")

    snap = TrainingJob("data", None, epochs=1, train_fn=fake_train, quality_fn=broken).start().join(10)
    assert snap.status == "done" and snap.result == "model" and not snap.busy
    assert snap.quality_status == "failed" and "no held-out users" in snap.quality_error
    # Without one (or when training fails) nothing is evaluated.
    plain = TrainingJob("data", None, epochs=1, train_fn=fake_train).start().join(10)
    assert plain.quality_status is None and not plain.busy


def test_training_job_with_the_real_engine_stops_early_and_keeps_a_usable_model(trained):
    from attnrec.training import TrainConfig
    from attnrec.training_job import TrainingJob

    dataset, _ = trained
    job = TrainingJob(dataset, TrainConfig(d=4, epochs=200, patience=200, device="cpu", val_fraction=0.3))
    original_callback = job._on_epoch

    def stop_after_two(epoch, metrics):
        original_callback(epoch, metrics)
        if epoch == 2:
            job.stop()

    job._on_epoch = stop_after_two
    snap = job.start().join(60)
    assert snap.status == "stopped" and snap.epoch == 2
    assert snap.result.config["training"]["stopped_by"] == "stop requested"
    assert set(snap.result.top_k("u1", k=3, exclude_seen=False)["item_id"]) == {"i1", "i2", "i3"}


# attnrec's components (plotly_view's charts, row_picker's tables): each script is the package's own file (beside its
# module), and neither has html or css.
COMPONENT_LINE = (
    'return st.components.v2.component(COMPONENT, js=_JS.read_text(encoding="utf-8"), isolate_styles=False)'
)


def test_no_code_path_can_unpickle_or_render_raw_html():
    """A static guard over the app's own code: no torch.load / pickle.load(s) / unsafe_allow_html at all, st.html
    only for the app's constant stylesheet, and Streamlit components (raw script in the page) only with attnrec's
    own script files: data reaches them as a JSON figure that Plotly draws or as table cells written as text,
    never as HTML or code."""
    root = Path(__file__).resolve().parents[1]
    sources = [p for p in [*(root / "attnrec").rglob("*.py"), *(root / "app_pages").glob("*.py"), root / "app.py"]]
    assert len(sources) > 10
    offenders, components = [], []
    for path in sources:
        code = path.read_text()
        for needle in ("torch.load(", "pickle.load(", "pickle.loads(", "unsafe_allow_html=True", "weights_only=False"):
            if needle in code:
                offenders.append(f"{path.relative_to(root)}: {needle}")
        # st.html renders raw HTML: the app's one use is its constant stylesheet, with no value formatted into it
        for line in code.splitlines():
            if "st.html(" in line and line.strip() != 'st.html(f"<style>{APP_CSS}</style>")':
                offenders.append(f"{path.relative_to(root)}: {line.strip()}")
            if "components.v1" in line or ("components.v2.component(" in line and line.strip() != COMPONENT_LINE):
                offenders.append(f"{path.relative_to(root)}: {line.strip()}")
            if "components.v2.component(" in line:
                components.append(path.relative_to(root).as_posix())
    assert offenders == []
    assert sorted(components) == ["attnrec/app/plotly_view.py", "attnrec/app/row_picker.py"]
    for module in components:  # each reads the script beside it, a file of the package
        script = (root / module).with_suffix(".js")
        assert script.is_file() and f'_JS = Path(__file__).with_name("{script.name}")' in (root / module).read_text()
    import ast

    app = ast.parse((root / "app.py").read_text())
    css = next(n for n in app.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "APP_CSS")
    assert isinstance(css.value, ast.Constant) and isinstance(css.value.value, str)  # a literal, nothing formatted in


@pytest.mark.slow
@pytest.mark.parametrize("name", ["restaurants-aligned", "restaurants-latent", "synthetic"])
def test_every_shipped_checkpoint_uploads_onto_its_dataset(name):
    """The shipped files, uploaded as a user would, score exactly like the same files loaded from disk
    (the aligned "popular place" rule reads the row's id, not a column)."""
    from attnrec.checkpoint_upload import load_uploaded_checkpoint
    from attnrec.model import Recommender

    folder = Path(__file__).resolve().parents[1] / "sample_data" / "models" / name
    from_disk = Recommender.load(folder, device="cpu")
    uploaded = load_uploaded_checkpoint(
        ("model.safetensors", (folder / "model.safetensors").read_bytes()),
        ("config.json", (folder / "config.json").read_bytes()),
        from_disk.dataset,
    )
    pairs = from_disk.dataset.interactions[["user_id", "item_id"]].head(200)
    np.testing.assert_array_equal(
        uploaded.score(pairs.user_id, pairs.item_id)["s"], from_disk.score(pairs.user_id, pairs.item_id)["s"]
    )


# ---- item names, hidden columns, aligned pairs checked at keep ---------------------------------------------


def test_item_names_are_suggested_and_kept_in_the_schema():
    state = UploadState()
    for role, name in (("users", "userprofile.csv"), ("items", "geoplaces2.csv"), ("interactions", "rating_final.csv")):
        assert state.accept_table(role, name, (RESTAURANTS / name).read_bytes())
    from attnrec.data.mapping import suggest_name_column

    assert suggest_name_column(state.tables["items"], "placeID") == "name"
    assert suggest_name_column(state.tables["users"], "userID") is None
    mapping = dict(
        user_id="userID",
        item_id="placeID",
        label_column="rating",
        label_threshold=1,
        item_name="name",
        item_roles={"name": "ignore", "the_geom_meter": "hide", "price": "categorical"},
    )
    dataset, schema = dataset_from_mapping(state.tables, mapping, "named")
    assert schema["item_name"] == "name"
    raw = state.tables["items"].set_index("placeID")["name"]
    assert dataset.item_label("132825") == f"132825 · {raw.loc['132825']}"
    # hidden: gone from the kept table (not a feature either); ignored: kept for display
    assert "the_geom_meter" not in dataset.items.columns and "name" in dataset.items.columns
    assert "the_geom_meter" not in schema.get("item_features", {})
    with pytest.raises(DataError, match="names the items, so it cannot be hidden"):
        build_schema(**{**mapping, "item_roles": {"name": "hide"}})


def test_an_aligned_pair_that_shares_no_value_is_refused_at_keep():
    state = small_state()
    state.accept_table("users", "users.csv", b"uid,age,genre\nu1,30,jazz\nu2,40,folk\nu3,25,jazz\n")
    with pytest.raises(
        DataError, match="aligned pair 'genre': user column 'genre' and item column 'genre' share no values"
    ):
        dataset_from_mapping(state.tables, MAPPING, "no overlap")
    # without the pair the same tables keep fine
    dataset, _ = dataset_from_mapping(state.tables, {**MAPPING, "aligned_pairs": []}, "no overlap")
    assert len(dataset.users) == 3

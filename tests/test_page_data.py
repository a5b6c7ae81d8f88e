"""The Data page through Streamlit's AppTest: real uploads into its file uploaders, the mapping, keep,
train in the background, download the checkpoint, upload it again."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
RESTAURANTS = ROOT / "sample_data" / "restaurants"
FILES = {"users": "userprofile.csv", "items": "geoplaces2.csv", "interactions": "rating_final.csv"}


def plain(text: str) -> str:
    """Markdown-escaped text as the reader sees it."""
    return text.replace("\\", "")


def data_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "data.py"), default_timeout=120)
    return at.run()


def upload_restaurants(at: AppTest) -> AppTest:
    for role, name in FILES.items():
        at.file_uploader(key=f"data_upload_{role}").set_value((name, (RESTAURANTS / name).read_bytes(), "text/csv"))
    return at.run()


def downloaded(at: AppTest, label_part: str) -> bytes:
    """The bytes a download button would send: read from Streamlit's in-memory media storage."""
    import gc

    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    button = next(b for b in at.get("download_button") if label_part in b.proto.label)
    file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
    for storage in (o for o in gc.get_objects() if isinstance(o, MemoryMediaFileStorage)):
        if file_id in storage._files_by_id:
            return storage._files_by_id[file_id].content
    raise AssertionError(f"no stored file for {button.proto.url}")


def messages(at: AppTest, kind: str) -> list[str]:
    return [plain(e.value) for e in getattr(at, kind)]


@pytest.fixture(scope="module")
def kept() -> AppTest:
    at = upload_restaurants(data_page())
    assert not at.exception and not at.error
    at.text_input(key="data_dataset_name").set_value("my restaurants")
    at.button(key="data_keep").click().run()
    assert not at.exception
    return at


def test_fresh_page_asks_for_uploads_and_nothing_else():
    at = data_page()
    assert not at.exception and not at.error
    assert [u.label.split(" ")[0] for u in at.file_uploader][:3] == ["Users", "Items", "Interactions"]
    assert "Keep a dataset first" in " ".join(i.value for i in at.info)


def test_upload_suggests_a_mapping_and_keeps_a_valid_dataset(kept):
    at = kept
    assert at.selectbox(key=[k for k in at.session_state if str(k).startswith("data_user_id_")][0]).value == "userID"
    assert any(
        "Kept dataset 'my restaurants': 138 users, 130 items, 1161 interactions" in m for m in messages(at, "success")
    )
    dataset = at.session_state["user_datasets"]["my restaurants"]
    # Label = rating ≥ 1 (the suggested threshold for 0..2 ratings), checked against the raw file.
    raw = (RESTAURANTS / "rating_final.csv").read_text().splitlines()[1:]
    positives = sum(int(line.split(",")[2]) >= 1 for line in raw)
    assert int(dataset.interactions["label"].sum()) == positives
    assert dataset.schema["user_id"] == "userID" and dataset.schema["label"]["column"] == "rating"
    # the places' names are suggested as display names and kept
    assert dataset.schema["item_name"] == "name" and " · " in dataset.item_label(dataset.items.index[0])


def test_schema_download_is_the_kept_dataset_schema_and_the_cli_loads_it(kept, tmp_path):
    schema = json.loads(downloaded(kept, "schema.json"))
    dataset = kept.session_state["user_datasets"]["my restaurants"]
    assert {k: v for k, v in schema.items() if k != "name"} == dataset.schema
    assert schema["name"] == "my restaurants"
    # The CLI's loader reads the same files with the downloaded schema and gets the same dataset.
    from attnrec.data import load_dataset

    for role, name in FILES.items():
        (tmp_path / f"{role}.csv").write_bytes((RESTAURANTS / name).read_bytes())
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    again = load_dataset(tmp_path)
    assert again.interactions.equals(dataset.interactions) and again.users.equals(dataset.users)


def test_train_in_background_then_download_and_upload_the_checkpoint(kept):
    at = kept
    at.radio(key="data_train_recipe").set_value("latent").run()  # tests share `kept`; any order
    at.number_input(key="data_train_epochs").set_value(2)
    at.number_input(key="data_train_d").set_value(4)
    at.text_input(key="data_model_name_my restaurants").set_value("tiny")
    at.button(key="FormSubmitter:data_train_form-Train").click().run()
    job = at.session_state["data_training_job"]
    snap = job.join(120)
    assert snap.status == "done" and snap.epoch == 2
    at.run()
    assert not at.exception and "tiny" in at.session_state["user_models"]
    assert any("Model 'tiny' finished" in m for m in messages(at, "success"))
    model = at.session_state["user_models"]["tiny"]

    # After training, the job evaluated the model against the baselines and kept the table where Model health
    # reads it (the cache folder, by the model's fingerprint): the page shows it, and it is a fresh computation's.
    from attnrec import quality_store

    assert snap.quality_status == "done"
    shown = [f.value for f in at.dataframe if list(f.value.columns[:2]) == ["model", "HR@10"]]
    assert len(shown) == 1 and shown[0]["model"].tolist() == ["this model", "popularity", "BPR-MF"]
    kept, _ = quality_store.stored(model)
    fresh, _ = quality_store.compute(model)
    assert kept.equals(fresh) and shown[0].equals(fresh)

    # The archive is built when asked for, not on every rerun.
    assert not [b for b in at.get("download_button") if "Download checkpoint" in b.proto.label]
    at.selectbox(key="data_download_model").set_value("tiny")  # other tests may have trained models too
    at.button(key="data_checkpoint_prepare").click().run()
    archive = downloaded(at, "Download checkpoint")
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert sorted(names) == ["config.json", "model.safetensors"]
    at.file_uploader(key="data_ckpt_upload").set_value([("checkpoint.zip", archive, "application/zip")])
    at.run()
    at.text_input(key="data_ckpt_name").set_value("reloaded")
    at.button(key="data_ckpt_load").click().run()
    assert not at.exception and not at.error
    reloaded = at.session_state["user_models"]["reloaded"]
    assert reloaded is not model
    np.testing.assert_array_equal(reloaded.scores_for_user("U1077").numpy(), model.scores_for_user("U1077").numpy())


def test_zip_upload_fills_all_three_tables():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in FILES.values():
            archive.write(RESTAURANTS / name, arcname=f"export/{name}")
    at = data_page()
    at.file_uploader(key="data_upload_zip").set_value(("export.zip", buffer.getvalue(), "application/zip"))
    at.run()
    assert not at.exception and not at.error
    state = at.session_state["data_uploads"]
    assert state.complete and state.sources["interactions"] == "export.zip/rating_final.csv"
    at.button(key="data_keep").click().run()
    assert "my data" in at.session_state["user_datasets"]


def test_config_sets_upload_limit_xsrf_and_loopback():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    from attnrec.data.uploads import LIMITS

    assert config["server"]["maxUploadSize"] * 2**20 == LIMITS.file_bytes
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["address"] == "127.0.0.1"
    assert json.dumps(config)  # plain data only


@pytest.mark.parametrize("recipe", ["history", "hybrid"])
def test_uploaded_data_gets_named_dimensions_from_history_and_the_readable_hybrid(kept, recipe):
    """Item attributes alone give named dimensions (user side from their training positives): no pairing needed."""
    at = kept
    at.radio(key="data_train_recipe").set_value("latent").run()
    labels = at.radio(key="data_train_recipe").options
    assert any("from their history" in o for o in labels) and any("readable hybrid" in o for o in labels)
    at.radio(key="data_train_recipe").set_value(recipe).run()
    assert not at.exception and not at.error
    at.number_input(key="data_train_epochs").set_value(2)
    at.text_input(key="data_model_name_my restaurants").set_value(f"named-{recipe}")
    at.button(key="FormSubmitter:data_train_form-Train").click().run()
    snap = at.session_state["data_training_job"].join(300)
    assert snap.status == "done", snap
    at.run()
    model = at.session_state["user_models"][f"named-{recipe}"]
    assert model.mode == "aligned" and model.config["training"]["user_profile"] == "history"
    assert any(n.startswith("city: ") for n in model.dimension_names)  # from the item table alone
    if recipe == "hybrid":
        assert model.taste_block and model.null_slot and model.normalizer == "entmax15" and model.heads == 8
        assert "taste 16" in model.dimension_names
    else:
        assert model.latent_dims == 0 and model.normalizer == "softmax"
    at.radio(key="data_train_recipe").set_value("latent").run()  # leave the shared page as the others expect


def test_training_offers_the_dataset_just_kept_even_when_another_was_kept_before():
    """Keep one dataset, then another: the training form switches to the one just kept (it kept showing the
    first, so a person trained on the wrong data; the browser walk trained the restaurants instead of its own)."""
    at = upload_restaurants(data_page())
    at.text_input(key="data_dataset_name").set_value("first kept")
    at.button(key="data_keep").click().run()
    assert at.selectbox(key="data_train_dataset").value == "first kept"
    at.text_input(key="data_dataset_name").set_value("second kept")
    at.button(key="data_keep").click().run()
    assert not at.exception
    assert set(at.session_state["user_datasets"]) >= {"first kept", "second kept"}
    assert at.selectbox(key="data_train_dataset").value == "second kept"
    assert at.text_input(key="data_model_name_second kept").value == "second kept model"

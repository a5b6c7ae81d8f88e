"""Your work survives a reload and a restart: the workspace folder (attnrec.workspace) and the app using it.

Every test runs with its own ATTNREC_WORKSPACE (tests/conftest.py), so nothing is written in the checkout.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from attnrec.data import DataError, load_dataset
from attnrec.model import Recommender
from attnrec.workspace import DATASET_FILE, Workspace, safe_name, workspace_root

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


@pytest.fixture
def uploaded_model():
    """The shipped synthetic model attached to a copy of its dataset that came from an 'upload'."""
    model = Recommender.load(ROOT / "sample_data" / "models" / "synthetic", device="cpu")
    model.attach(dataclasses.replace(model.dataset, name="my films", source="users.csv, items.csv, ratings.csv"))
    return model


def test_a_saved_dataset_and_model_come_back_identical(uploaded_model, tmp_path):
    ws = Workspace(tmp_path / "ws")
    folder = ws.save_model(uploaded_model, "my model")
    assert ws.dataset_names() == ["my films"] and [m.name for m in ws.models()] == ["my model"]
    config = json.loads((folder / "config.json").read_text())
    assert config["dataset"] == {"name": "my films", "reference": str(ws.dataset_folder("my films"))}
    again = Recommender.load(folder, device="cpu")  # finds its dataset by itself, as after a restart
    for table in ("users", "items"):
        pd.testing.assert_frame_equal(getattr(again.dataset, table), getattr(uploaded_model.dataset, table))
    pd.testing.assert_frame_equal(
        again.dataset.interactions.reset_index(drop=True), uploaded_model.dataset.interactions.reset_index(drop=True)
    )
    assert again.dataset.schema == uploaded_model.dataset.schema
    users = uploaded_model.user_ids[:5]
    with torch.no_grad():
        for user in users:
            np.testing.assert_array_equal(
                again.scores_for_user(user).numpy(), uploaded_model.scores_for_user(user).numpy()
            )
    # the library and the CLI read the folder like any dataset folder
    assert load_dataset(ws.dataset_folder("my films")).name == "my films"


def test_delete_removes_a_dataset_with_its_models(uploaded_model, tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.save_model(uploaded_model, "a")
    ws.save_model(uploaded_model, "b")
    assert ws.delete_dataset("my films") == ["a", "b"]
    assert ws.dataset_names() == [] and ws.models() == []
    assert not any(p.name.startswith(".") for p in (tmp_path / "ws" / "datasets").iterdir())


def test_a_failed_write_leaves_nothing_half_written(uploaded_model, tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    ws.save_dataset(uploaded_model.dataset)
    before = (ws.dataset_folder("my films") / "users.parquet").read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    with pytest.raises(OSError):
        ws.save_dataset(dataclasses.replace(uploaded_model.dataset, users=uploaded_model.dataset.users.head(3)))
    # the earlier copy is untouched and no staging folder is left to be listed later
    assert (ws.dataset_folder("my films") / "users.parquet").read_bytes() == before
    assert sorted(p.name for p in ws.datasets_dir.iterdir()) == ["my films"]


def test_damaged_saved_dataset_is_a_data_error_naming_the_file(uploaded_model, tmp_path):
    ws = Workspace(tmp_path / "ws")
    folder = ws.save_dataset(uploaded_model.dataset)
    (folder / DATASET_FILE).write_text("{not json")
    with pytest.raises(DataError, match=r"attnrec-dataset.json.*cannot read it"):
        ws.load_dataset("my films")
    (folder / DATASET_FILE).write_text(
        json.dumps({"format": "attnrec-dataset", "version": 1, "name": "my films", "schema": {}})
    )
    (folder / "items.parquet").unlink()
    with pytest.raises(DataError, match=r"items.parquet.*is missing"):
        ws.load_dataset("my films")


def test_folder_names_are_safe_and_users_get_their_own_workspace(tmp_path):
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("my data (v2)") == "my data (v2)"
    with pytest.raises(ValueError):
        safe_name("...")
    alice, bob = (Workspace.namespaced(tmp_path, who) for who in ("alice@example.org", "bob@example.org"))
    assert alice.root != bob.root and alice.root.parent == bob.root.parent == tmp_path / "users"
    assert Workspace.namespaced(tmp_path, None).root == tmp_path
    assert workspace_root() == Path(os.environ["ATTNREC_WORKSPACE"])


# ---- the app: a reload (a new session) and a restart (a new process) find what was saved ---------------


def test_a_new_session_lists_saved_datasets_and_models_and_opens_links_to_them(uploaded_model):
    Workspace().save_model(uploaded_model, "my model")
    user, item = uploaded_model.user_ids[2], uploaded_model.item_ids[4]
    at = AppTest.from_file(APP, default_timeout=120)  # a fresh session: nothing in session_state
    at.query_params.update({"dataset": "my films", "model": "my model", "user": user, "item": item})
    at.run()
    assert not at.exception, at.exception
    assert not at.warning, [w.value for w in at.warning]
    assert at.selectbox(key="widget_attnrec_dataset").value == "my films"
    assert at.selectbox(key="widget_attnrec_model_my films").value == "my model"
    expected = uploaded_model.trace(user, item).s
    shown = next(m.value for m in at.metric if m.label == "S (score)")
    assert float(shown) == pytest.approx(expected, abs=6e-5)


def test_data_page_keeps_and_trains_into_the_workspace_and_deletes_from_it():
    from test_page_data import data_page, upload_restaurants

    at = upload_restaurants(data_page())
    at.text_input(key="data_dataset_name").set_value("kept here")
    at.button(key="data_keep").click().run()
    assert not at.exception
    ws = Workspace()
    assert ws.dataset_names() == ["kept here"]
    # a new session (a reload) sees it, on this page and in the sidebar's list
    again = data_page()
    assert "kept here" in again.session_state["user_datasets"]
    assert any("dataset · kept here" in t.value for t in again.text)
    again.button(key="data_ws_delete_dataset_kept here").click().run()
    assert not again.exception
    assert Workspace().dataset_names() == []


@pytest.mark.slow
def test_the_app_finds_a_model_trained_with_the_cli(tmp_path):
    """`attnrec train --out <workspace>/models/<name>` on a folder of one's own: the app lists it and its data."""

    data = tmp_path / "films"  # a folder of its own: tables + schema.json, as a CLI user has
    source = load_dataset("synthetic")
    data.mkdir()
    users = source.users.head(60)
    items = source.items.head(80)
    inter = source.interactions[
        source.interactions["user_id"].isin(users.index) & source.interactions["item_id"].isin(items.index)
    ]
    users.rename_axis("uid").reset_index().to_csv(data / "users.csv", index=False)
    items.rename_axis("iid").reset_index().to_csv(data / "items.csv", index=False)
    inter.rename(columns={"user_id": "uid", "item_id": "iid"})[["uid", "iid", "label"]].to_csv(
        data / "interactions.csv", index=False
    )
    schema = {
        "name": "cli films",
        "user_id": "uid",
        "item_id": "iid",
        "label": {"column": "label", "threshold": 1},
        "item_features": {
            c: {"kind": "numeric"}
            for c in source.schema["item_features"]
            if source.schema["item_features"][c].get("kind") == "numeric"
        },
    }
    (data / "schema.json").write_text(json.dumps(schema))
    out = Path(os.environ["ATTNREC_WORKSPACE"]) / "models" / "from the cli"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "attnrec",
            "train",
            "--data",
            str(data),
            "--mode",
            "latent",
            "--epochs",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"dataset": "cli films", "model": "from the cli"})
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="widget_attnrec_dataset").value == "cli films"
    assert at.selectbox(key="widget_attnrec_model_cli films").value == "from the cli"
    assert any(m.label == "S (score)" for m in at.metric)


def test_a_sessions_signed_in_user_is_read_once_and_picks_their_own_workspace(monkeypatch):
    """st.user looks for secrets files on every access; a session's user never changes (signing in or out
    starts a new session), so the workspace reads it once per session, and a signed-in user gets their own."""
    import streamlit as st

    class Signed:
        reads = 0

        @property
        def is_logged_in(self):
            Signed.reads += 1
            return True

        def get(self, name, default=None):
            return {"email": "alice@example.org"}.get(name, default)

    monkeypatch.setattr(st, "user", Signed())

    def script():
        import streamlit as st

        from attnrec.app import session

        st.text(str(session.workspace().root))
        st.text(str(session.workspace().root))

    at = AppTest.from_function(script, default_timeout=30).run()
    at.run()
    expected = str(Workspace.namespaced(None, "alice@example.org").root)
    assert [t.value for t in at.text] == [expected, expected]
    assert Path(expected).parent == workspace_root() / "users"
    assert Signed.reads == 1
    AppTest.from_function(script, default_timeout=30).run()  # a new session reads it again
    assert Signed.reads == 2

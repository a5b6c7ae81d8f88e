"""One user must not be able to take the server down: oversized inputs are refused before memory is spent.

The memory-bounded cases run in a fresh Python process and measure, around the refused call only, the
peak growth of the process's resident memory (sampled every millisecond from /proc) and tracemalloc's
peak (numpy and Python allocations); both must stay under 100 MB. Without the limits, the same calls
cost hundreds of megabytes to gigabytes.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attnrec.data import DataError, Featurizer, load_own_dataset, read_table
from attnrec.data.widths import encoding_preview
from attnrec.limits import LIMITS

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024

MEASURE = textwrap.dedent("""
    import gc, json, os, sys, threading, time, tracemalloc
    sys.path.insert(0, {root!r})

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def measure(call):
        gc.collect()
        base, peak, done = rss(), [0], threading.Event()
        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss() - base)
                time.sleep(0.001)
        sampler = threading.Thread(target=sample, daemon=True)
        tracemalloc.start()
        sampler.start()
        try:
            call()
            outcome = "accepted"
        except Exception as err:
            outcome = type(err).__name__ + ": " + str(err)
        done.set()
        sampler.join()
        peak[0] = max(peak[0], rss() - base)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(json.dumps({{"outcome": outcome, "rss_growth": peak[0], "traced_peak": traced}}))
""")


def measured(setup: str, call: str) -> dict:
    """Run `setup` then `call` (an expression) in a fresh interpreter; the outcome and memory growth of `call`."""
    script = MEASURE.format(root=str(ROOT)) + textwrap.dedent(setup) + f"\nmeasure(lambda: {call})\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def parquet_bytes(table, **options) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


# ---- Parquet bombs -------------------------------------------------------------------------------------

PARQUET_SETUP = """
    import io
    import pyarrow as pa, pyarrow.parquet as pq
    from attnrec.data.upload_state import UploadState
    from attnrec.data.io import read_table
    def parquet(table):
        # Without the Arrow schema the file reads back as plain text columns: the same file as one written from
        # a column of repeated strings (dictionary-encoded), made without building that column (4 GB, 20 s).
        buffer = io.BytesIO(); pq.write_table(table, buffer, compression="zstd", store_schema=False)
        return buffer.getvalue()
    def repeated(text, rows):
        return pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([text]))
    state = UploadState()
"""
ROWS_BOMB = '    rows_bomb = parquet(pa.table({"uid": repeated("u", 5_000_000), "age": pa.array([1] * 5_000_000)}))\n'
# 200k rows (under the row limit) of one 20 kB string: a few kB on disk, 4 GB once read without limits.
WIDE_VALUES = '    wide_values = parquet(pa.table({"uid": repeated("x" * 20_000, 200_000)}))\n'


@pytest.mark.slow
def test_parquet_bomb_of_rows_is_refused_from_metadata_with_bounded_memory():
    result = measured(
        PARQUET_SETUP + ROWS_BOMB,
        'state.accept_table("users", "users.parquet", rows_bomb) or '
        'print(state.errors["users"], file=sys.stderr) or 1/0',
    )
    assert "ZeroDivisionError" in result["outcome"]  # the upload was refused (accept_table returned False)
    assert result["rss_growth"] < 100 * MB and result["traced_peak"] < 100 * MB, result
    # and the message, in-process
    import pyarrow as pa

    data = parquet_bytes(pa.table({"uid": pa.array(["u"] * 5_000_000)}), compression="zstd")
    assert len(data) < 100_000
    with pytest.raises(DataError, match=r"users.parquet: has 5,000,000 data rows; the limit is 1,000,000 rows"):
        read_table(data, "users.parquet")


@pytest.mark.slow
def test_parquet_bomb_of_repeated_long_values_is_refused_with_bounded_memory():
    result = measured(PARQUET_SETUP + WIDE_VALUES, 'read_table(wide_values, "items.parquet")')
    assert result["outcome"].startswith("DataError: file items.parquet: expands to more than 256.0 MB"), result
    assert result["rss_growth"] < 100 * MB and result["traced_peak"] < 100 * MB, result


def test_parquet_within_limits_still_reads_with_its_types():
    import pyarrow as pa

    frame = read_table(parquet_bytes(pa.table({"uid": ["a", "b", "a"], "age": [1.5, 2.0, 3.0]})), "u.parquet")
    assert list(frame["uid"]) == ["a", "b", "a"] and frame["age"].dtype == np.float64
    assert list(frame.attrs["row_numbers"]) == [2, 3, 4]


def test_csv_rows_beyond_the_limit_are_refused_while_reading(monkeypatch):
    from attnrec import limits

    small = limits.Limits(table_rows=3)
    with pytest.raises(DataError, match=r"file t.csv, row 5: has more than 3 data rows; the limit is 3 rows"):
        read_table(b"a,b\n1,2\n3,4\n5,6\n7,8\n", "t.csv", limits=small)
    with pytest.raises(DataError, match=r"has 3 columns, over the limit of 2"):
        read_table(b"a,b,c\n1,2,3\n", "t.csv", limits=limits.Limits(table_columns=2))


# ---- wide categoricals ----------------------------------------------------------------------------------

WIDE_SETUP = """
    import pandas as pd
    from attnrec.data import Featurizer, load_own_dataset
    n = 90_000  # 90,000 × 257 capped columns: just under the 25M-cell limit
    users = pd.DataFrame({"uid": [f"u{i}" for i in range(n)], "email": [f"person{i}@example.com" for i in range(n)]})
    items = pd.DataFrame({"iid": ["i1", "i2", "i3"], "genre": ["a", "b", "a"]})
    interactions = pd.DataFrame({"uid": ["u0", "u1", "u2", "u3"], "iid": ["i1", "i2", "i3", "i1"]})
    schema = {"user_id": "uid", "item_id": "iid", "user_features": {"email": {"kind": "categorical"}},
              "item_features": {"genre": {"kind": "categorical"}}}
    dataset = load_own_dataset(users, items, interactions, schema)
"""


@pytest.mark.slow
def test_wide_categorical_is_capped_to_its_most_frequent_values_with_bounded_memory():
    # Without the cap: 90,000 × 90,000 float64 = 65 GB. With it: 256 values + "(other)" per row, in chunks.
    result = measured(WIDE_SETUP, 'print(Featurizer.fit(dataset, "latent").columns("user")[-2:], file=sys.stderr)')
    assert result["outcome"] == "accepted", result
    assert result["rss_growth"] < 100 * MB and result["traced_peak"] < 100 * MB, result


@pytest.mark.slow
def test_one_hot_ids_over_the_limit_are_refused_before_the_dense_matrix_with_bounded_memory():
    # ids are one column per row (90,000 × 90,000 floats): refused from the plan, naming the id field.
    result = measured(WIDE_SETUP, 'Featurizer.fit(dataset, "latent", use_ids=True)')
    assert result["outcome"].startswith(
        "DataError: column 'id': the user side would encode to 90,257 columns "
        "for 90,000 rows (field 'id' alone: 90,000 columns)"
    ), result
    assert "Train without ids" in result["outcome"]
    assert result["rss_growth"] < 100 * MB and result["traced_peak"] < 100 * MB, result


def test_capped_categorical_keeps_the_most_frequent_values_and_sends_the_rest_to_other(monkeypatch):
    from attnrec import limits
    from attnrec.data import featurize

    monkeypatch.setattr(featurize, "LIMITS", limits.Limits(categorical_values=2))
    users = pd.DataFrame(
        {"uid": [f"u{i}" for i in range(7)], "city": ["b", "a", "b", "c", "a", "b", "d"]}
    )  # b ×3, a ×2, c and d once
    items = pd.DataFrame({"iid": ["i1", "i2"]})
    pairs = pd.DataFrame({"uid": ["u0", "u1"], "iid": ["i1", "i2"]})
    dataset = load_own_dataset(
        users, items, pairs, {"user_id": "uid", "item_id": "iid", "user_features": {"city": {"kind": "categorical"}}}
    )
    fitted = Featurizer.fit(dataset, "latent")
    assert fitted.columns("user") == ["city=a", "city=b", "city=(other)"]
    matrix = fitted.encode(
        "user", pd.DataFrame({"city": ["a", "c", "zzz-unseen", None]}, index=["x", "y", "z", "w"])
    ).matrix
    np.testing.assert_array_equal(matrix, [[1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0]])
    # the mean baseline over the fitting table, from a hand count: a 2/7, b 3/7, other 2/7
    np.testing.assert_allclose(fitted.baseline_row("user", "mean"), [2 / 7, 3 / 7, 2 / 7], rtol=1e-6)
    # it survives the JSON round trip, and the preview says what was capped
    again = Featurizer.from_json(json.loads(json.dumps(fitted.to_json())))
    np.testing.assert_array_equal(
        again.encode("user", dataset.users).matrix, fitted.encode("user", dataset.users).matrix
    )
    monkeypatch.setattr("attnrec.data.featurize.LIMITS", limits.Limits(categorical_values=2))
    preview = encoding_preview(dataset, "latent")
    assert preview["user"].columns == 3
    assert preview["user"].notes() == [
        "'city' has 4 distinct values; the 2 most frequent are columns and the rest share 'city=(other)'"
    ]


def wide_dataset(n: int):
    users = pd.DataFrame(
        {
            "uid": [f"u{i}" for i in range(n)],
            "email": [f"p{i}@x.org" for i in range(n)],
            "age": [str(20 + i % 50) for i in range(n)],
        }
    )
    items = pd.DataFrame({"iid": ["i1", "i2", "i3"], "genre": ["a", "b", "a"]})
    interactions = pd.DataFrame({"uid": ["u0", "u1", "u2", "u3"], "iid": ["i1", "i2", "i3", "i1"]})
    schema = {
        "user_id": "uid",
        "item_id": "iid",
        "user_features": {"email": {"kind": "categorical"}, "age": {"kind": "numeric"}},
        "item_features": {"genre": {"kind": "categorical"}},
    }
    return load_own_dataset(users, items, interactions, schema)


def test_encoding_preview_names_the_width_before_training_and_agrees_with_fit():
    dataset = wide_dataset(6000)  # with ids: 6000 × (6000 + 258) cells, over the 25M-cell limit
    preview = encoding_preview(dataset, "latent", use_ids=True)
    assert preview["user"].columns == 6000 + 256 + 1 + 1 and preview["user"].widest == "id"
    assert preview["user"].widest_columns == 6000
    assert "limit per side" in preview["user"].problem
    assert preview["item"].columns == 2 + 3 and preview["item"].problem is None
    with pytest.raises(DataError) as refused:
        Featurizer.fit(dataset, "latent", use_ids=True)
    assert str(refused.value) == preview["user"].problem
    # without ids the e-mail column is capped, and the preview says that it can teach nothing
    capped = encoding_preview(dataset, "latent")["user"]
    assert capped.problem is None and capped.columns == 258
    assert capped.notes() == [
        "'email' has 6,000 distinct values; the 256 most frequent are columns and the rest "
        "share 'email=(other)' — every row has a value of its own, so this column cannot "
        "teach the model anything"
    ]
    # within the limits the preview matches what fit builds
    small = wide_dataset(50)
    preview = encoding_preview(small, "latent", use_ids=True)
    fitted = Featurizer.fit(small, "latent", use_ids=True)
    assert {s: w.columns for s, w in preview.items()} == {s: len(fitted.columns(s)) for s in ("user", "item")}
    assert LIMITS.encoded_cells == 25_000_000 and LIMITS.categorical_values == 256


# ---- uploaded checkpoints: sizes counted before anything is allocated -----------------------------------

CHECKPOINT_SETUP = """
    import json
    import pandas as pd, torch
    from safetensors.torch import save as safetensors_bytes
    from attnrec.checkpoint_upload import load_uploaded_checkpoint
    from attnrec.data import Featurizer, load_own_dataset
    from attnrec.data.featurize import _SideSpec
    users = pd.DataFrame({"uid": ["u1", "u2"]}); items = pd.DataFrame({"iid": ["i1", "i2"]})
    pairs = pd.DataFrame({"uid": ["u1", "u2"], "iid": ["i1", "i2"]})
    dataset = load_own_dataset(users, items, pairs, {"user_id": "uid", "item_id": "iid"})
    featurizer = Featurizer("latent", False, None, {s: _SideSpec([], []) for s in ("user", "item")})
    # 4 MB of weights: as many as attention alone needs at d=1024, so a count that ignores `hidden` passes.
    weights = safetensors_bytes({"pad": torch.zeros(1024, 1024)})
    config = {"format": "attnrec-checkpoint", "version": 1, "mode": "latent", "d": 1024, "heads": 1, "tied": True,
              "temperature": 1.0, "hidden": 16384, "user_columns": 0, "item_columns": 0,
              "featurizer": featurizer.to_json()}
    files = (("model.safetensors", weights), ("config.json", json.dumps(config).encode()))
    import attnrec.config_schema, attnrec.device, attnrec.model  # imported before measuring: code is not data
    from attnrec.checkpoint import expected_shapes
    # torch's meta device warmed up on a small model
    expected_shapes({**config, "hidden": 0}, featurizer, attnrec.model.Recommender)
"""


def test_checkpoint_config_hidden_size_is_counted_before_allocation():
    # Without the count: two 1024 → 16384 → 1024 MLPs, 67M floats (270 MB) allocated before any refusal.
    result = measured(CHECKPOINT_SETUP, "load_uploaded_checkpoint(*files, dataset)")
    assert result["outcome"].startswith("UploadError: config.json: describes a model with 68,"), result
    assert "over the limit of 50,000,000" in result["outcome"]
    assert result["rss_growth"] < 100 * MB and result["traced_peak"] < 100 * MB, result


def test_config_schema_is_strict_and_follows_the_model_options(monkeypatch):
    from attnrec import config_schema
    from attnrec.config_schema import ConfigError, validate_config

    base = {
        "format": "attnrec-checkpoint",
        "version": 1,
        "mode": "latent",
        "d": 4,
        "heads": 2,
        "tied": False,
        "temperature": 1.0,
        "hidden": 0,
        "user_columns": 3,
        "item_columns": 3,
        "featurizer": {},
    }
    assert validate_config(base) == base
    refusals = {
        "temperature": (float("inf"), "temperature is inf"),
        "d": (0, "'d' must be a whole number between 1"),
        "tied": (1, "'tied' must be true or false"),
        "mode": ("hybrid", "'mode' must be one of"),
        "attention": ("relu", "'attention' must be one of 'softmax', 'sparsemax', 'entmax15'"),
        "null_slot": ("yes", "'null_slot' must be true or false"),
        "latent_dims": (-1, "'latent_dims' must be a whole number between 0"),
        "backdoor": ({"reference": "/etc"}, "unknown key(s) 'backdoor'"),
    }
    for key, (value, message) in refusals.items():
        with pytest.raises(ConfigError, match=re.escape(message)):
            validate_config({**base, key: value})
    with pytest.raises(ConfigError, match=r"featurizer.sides.user.fields\[0\].std is inf"):
        validate_config({**base, "featurizer": {"sides": {"user": {"fields": [{"std": float("inf")}]}}}})
    # optional keys stay optional; the known ones are accepted with their values
    ok = {
        **base,
        "attention": "entmax15",
        "null_slot": True,
        "presence_mask": True,
        "latent_dims": 2,
        "user_profile": "history",
    }
    assert validate_config(ok) == ok
    # an upload's dataset reference is dropped, a folder's is kept
    pointing = {**base, "dataset": {"reference": "/etc"}}
    assert "dataset" not in validate_config(pointing, upload=True) and validate_config(pointing)["dataset"]
    # a new model option added to config_schema.MODEL_OPTIONS (which attnrec.model reads) is known at once,
    # checked like its default
    monkeypatch.setattr(config_schema, "MODEL_OPTIONS", {**config_schema.MODEL_OPTIONS, "gate": False})
    assert validate_config({**base, "gate": True})["gate"] is True
    with pytest.raises(ConfigError, match="'gate' must be true or false"):
        validate_config({**base, "gate": 3})


def test_a_training_job_stops_when_its_session_ends_and_waiting_jobs_leave_the_queue():
    import threading
    import time

    from attnrec.limits import Limits
    from attnrec.training_job import TrainingJob, TrainingQueue

    queue = TrainingQueue(
        Limits(concurrent_trainings=1, queued_trainings=1, session_grace_seconds=0.2, training_seconds=60), tick=0.02
    )
    started = threading.Event()

    def endless(dataset, config, progress=False, callback=None, stop_event=None):
        started.set()
        while not stop_event.wait(0.01):
            pass
        return "best so far"

    alive = {"a": True, "b": True}
    a = TrainingJob(None, None, epochs=10, train_fn=endless, alive=lambda: alive["a"], queue=queue).start()
    b = TrainingJob(None, None, epochs=10, train_fn=endless, alive=lambda: alive["b"], queue=queue).start()
    with pytest.raises(DataError, match="the server is busy: 1 trainings are running and 1 are waiting"):
        TrainingJob(None, None, epochs=10, train_fn=endless, queue=queue).start()
    assert started.wait(5) and b.snapshot().queue_position == 1
    alive["b"] = False  # the waiting job's tab closes: it leaves the queue without running
    deadline = time.time() + 5
    while not b.snapshot().finished and time.time() < deadline:
        time.sleep(0.01)
    assert b.snapshot().status == "cancelled" and b.snapshot().stopped_by == "its browser session ended"
    alive["a"] = False  # the running job's tab closes: it stops, keeping its best model
    snap = a.join(5)
    assert snap.status == "stopped" and snap.result == "best so far"
    assert snap.stopped_by == "its browser session ended" and queue.counts() == (0, 0)
    # a run past the wall-clock limit stops the same way
    slow = TrainingQueue(Limits(training_seconds=0.2), tick=0.02)
    snap = TrainingJob(None, None, epochs=10, train_fn=endless, queue=slow).start().join(5)
    assert snap.status == "stopped" and snap.stopped_by == "the 0.00333333-minute limit per run was reached"


def test_session_probe_asks_the_streamlit_runtime(monkeypatch):
    import streamlit.runtime.scriptrunner as scriptrunner
    from streamlit.runtime import Runtime

    from attnrec.app import session

    class Context:
        session_id = "abc"

    class FakeRuntime:
        active = {"abc"}

        def is_active_session(self, session_id):
            return session_id in self.active

    fake = FakeRuntime()
    monkeypatch.setattr(scriptrunner, "get_script_run_ctx", lambda *a, **k: Context())
    monkeypatch.setattr(Runtime, "exists", classmethod(lambda cls: True))
    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: fake))
    probe = session.session_probe()
    assert probe() is True
    fake.active.clear()
    assert probe() is False


def test_data_page_shows_the_encoded_width_and_refuses_an_over_wide_one_before_training():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app_pages" / "data.py"), default_timeout=120)
    at.session_state["user_datasets"] = {"narrow": wide_dataset(50), "wide": wide_dataset(6000)}
    at.run()
    assert not at.exception
    captions = " | ".join(c.value.replace("\\", "") for c in at.caption)
    assert "users: 50 rows × 51 encoded columns (widest: 'email', 50)" in captions, captions
    assert "items: 3 rows × 2 encoded columns" in captions
    assert not at.error
    at.selectbox(key="data_train_dataset").set_value("wide").run()
    # latent: the e-mail column is capped to its 256 most frequent values + "(other)", and the page says why
    captions = " | ".join(c.value.replace("\\", "") for c in at.caption)
    assert "users: 6,000 rows × 258 encoded columns (widest: 'email', 257)" in captions, captions
    assert "'email' has 6,000 distinct values; the 256 most frequent are columns" in captions
    assert not at.error and not at.button(key="FormSubmitter:data_train_form-Train").disabled
    # the readable hybrid learns from one-hot ids: 6,000 × 6,001 cells do not fit, named before any run
    at.radio(key="data_train_recipe").set_value("hybrid").run()
    message = " | ".join(e.value.replace("\\", "") for e in at.error)
    assert "Cannot train in aligned mode: column 'id': the user side would encode to 6,002 columns" in message
    assert "Train without ids" in message
    assert at.button(key="FormSubmitter:data_train_form-Train").disabled
    at.selectbox(key="data_train_dataset").set_value("narrow").run()
    assert not at.error and not at.button(key="FormSubmitter:data_train_form-Train").disabled

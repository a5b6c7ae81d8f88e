"""CLI: train → evaluate on a tiny own-data folder, and clear exit-2 errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from attnrec.cli import main
from tests.test_training import planted


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    data = planted(n_users=40)
    data.users.rename_axis("user_id").to_csv(folder / "users.csv")
    data.items.rename_axis("item_id").to_csv(folder / "items.csv")
    data.interactions.to_csv(folder / "interactions.csv", index=False)
    schema = dict(data.schema, user_id="user_id", item_id="item_id", label={"column": "label"})
    (folder / "schema.json").write_text(json.dumps(schema))
    return folder


def test_train_then_evaluate(data_dir, tmp_path, capsys):
    out = tmp_path / "ckpt"
    code = main(
        [
            "train",
            "--data",
            str(data_dir),
            "--mode",
            "latent",
            "--out",
            str(out),
            "--epochs",
            "4",
            "--d",
            "8",
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "HR@10" in printed and (out / "model.safetensors").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"]["split"]["protocol"] == "attnrec"
    assert config["dataset"]["split"]["split"] == "leave-one-out"
    assert config["metrics"]["users"] > 0 and config["training"]["epochs_run"] <= 4
    code = main(["evaluate", "--checkpoint", str(out), "--device", "cpu", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and set(rows) == {"ours", "popularity", "BPR-MF"}
    # The checkpoint's stored metrics came from the same split and weights, so they must match.
    assert rows["ours"]["hr@10"] == pytest.approx(config["metrics"]["hr@10"])
    assert rows["ours"]["auc"] == pytest.approx(config["metrics"]["auc"])
    assert all(0 <= r["auc"] <= 1 for r in rows.values())

    # `train` also wrote the held-out table Model health reads (quality.json): the same numbers `evaluate`
    # prints for this model and popularity (BPR-MF: Model health's 60 epochs against evaluate's 200), and what a
    # fresh computation on the loaded checkpoint gives.
    from attnrec import quality_store
    from attnrec.model import Recommender

    assert "held-out quality" in printed and (out / quality_store.QUALITY_FILE).is_file()
    loaded = Recommender.load(out, device="cpu")
    kept, protocol = quality_store.stored(loaded, checkpoint=out)
    by_name = kept.set_index("model")
    for ours, name in (("this model", "ours"), ("popularity", "popularity")):
        assert by_name.loc[ours, "HR@10"] == pytest.approx(rows[name]["hr@10"])
        assert by_name.loc[ours, "AUC"] == pytest.approx(rows[name]["auc"])
        assert by_name.loc[ours, "users"] == rows[name]["users"]
    fresh, _ = quality_store.compute(loaded)
    assert kept.equals(fresh) and protocol["users"] == rows["ours"]["users"]


def test_train_keeps_its_checkpoint_when_the_table_cannot_be_written(data_dir, tmp_path, capsys, monkeypatch):
    from attnrec import quality_store

    def full_disk(folder, progress=None):
        raise OSError("No space left on device")

    monkeypatch.setattr(quality_store, "write_for_checkpoint", full_disk)
    out = tmp_path / "ckpt"
    argv = ["train", "--data", str(data_dir), "--mode", "latent", "--out", str(out), "--epochs", "1", "--d", "4"]
    assert main(argv + ["--device", "cpu", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "quality.json not written (No space left on device)" in err and "Traceback" not in err
    assert (out / "model.safetensors").is_file() and not (out / "quality.json").exists()


def test_train_no_quality_writes_no_table(data_dir, tmp_path, capsys):
    out = tmp_path / "ckpt"
    argv = ["train", "--data", str(data_dir), "--mode", "latent", "--out", str(out), "--epochs", "1", "--d", "4"]
    assert main(argv + ["--device", "cpu", "--quiet", "--no-quality"]) == 0
    assert "held-out quality" not in capsys.readouterr().out
    assert (out / "model.safetensors").is_file() and not (out / "quality.json").exists()


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["train", "--data", "/no/such/folder", "--mode", "latent", "--out", "x"], "not found"),
        (["train", "--data", "synthetic", "--mode", "sideways", "--out", "x"], "invalid choice"),
        (["train", "--data", "synthetic", "--mode", "latent", "--out", "x", "--device", "tpu"], "invalid choice"),
        (["evaluate", "--checkpoint", "/no/such/ckpt"], "not found"),
        (["evaluate"], "required"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_line(argv, needle, capsys):
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert needle in err and "Traceback" not in err


def test_absent_cuda_is_a_clear_error(data_dir, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code = main(["train", "--data", str(data_dir), "--mode", "latent", "--out", str(tmp_path), "--device", "cuda"])
    assert code == 2
    assert "CUDA was requested but this machine has no CUDA device" in capsys.readouterr().err


def test_python_dash_m_runs_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "attnrec", "evaluate", "--checkpoint", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "not found" in result.stderr and "Traceback" not in result.stderr


# What a fresh interpreter has imported after the CLI answers `argv` (each in a new process: this one has torch).
IMPORTED_AFTER = """
import sys
from attnrec.cli import main
try:
    code = main({argv!r})
except SystemExit as exit:
    code = exit.code
print(code, "torch" in sys.modules, "pandas" in sys.modules)
"""


@pytest.mark.parametrize(
    "argv,code",
    [
        (["--help"], 0),
        (["train", "--help"], 0),
        (["evaluate"], 2),  # a required option missing
        (["train", "--data", "synthetic", "--mode", "sideways", "--out", "x"], 2),  # a mistyped choice
        (["explain", "--help"], 0),
        (["explain", "--checkpoint", "x", "--pairs", "p.csv"], 2),  # --out missing
        (["explain", "--checkpoint", "x", "--pairs", "p.csv", "--out", "o", "--level", "cells"], 2),
        (["score", "--help"], 0),
        (["score", "--checkpoint", "x", "--users", "all", "--out", "o", "--engine", "spark"], 2),
    ],
)
def test_arguments_are_parsed_before_torch_is_imported(argv, code):
    """`attnrec --help`, each command's --help and a mistyped option answer without importing torch or pandas
    (`attnrec --help` 2.5 s → 0.05 s here, `explain --help` and `score --help` 1.9 s → 0.05 s)."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED_AFTER.format(argv=argv)], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.split()[-3:] == [str(code), "False", "False"], result.stdout + result.stderr


def test_a_bad_thread_count_is_still_a_clear_error_after_parsing(monkeypatch, capsys):
    from attnrec.device import THREADS_ENV

    monkeypatch.setenv(THREADS_ENV, "many")
    assert main(["evaluate", "--checkpoint", "/no/such/ckpt"]) == 2
    assert THREADS_ENV in capsys.readouterr().err


def test_the_package_names_its_api_without_importing_it():
    """`import attnrec` is light; each name it exports is the defining module's own object, imported on first use."""
    probe = (
        "import sys, attnrec; before = 'torch' in sys.modules; "
        "import attnrec.attention, attnrec.data, attnrec.model, attnrec.training; "
        "same = all(getattr(attnrec, n) is getattr(sys.modules[m], n) for n, m in attnrec._EXPORTS.items()); "
        "print(before, same, sorted(attnrec.__all__) == sorted(attnrec._EXPORTS), 'Recommender' in dir(attnrec))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["False", "True", "True", "True"], result.stdout + result.stderr
    import attnrec

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        attnrec.nope  # noqa: B018


def test_the_explain_package_names_its_api_without_importing_it():
    """`attnrec.explain` is light too (its registry and names serve the commands' parsers); each exported name is
    the defining module's own object, imported on first use."""
    probe = (
        "import sys, attnrec.explain, attnrec.explain.registry, attnrec.command_parsers; "
        "before = 'torch' in sys.modules; "
        "import attnrec.explain as e; "
        "same = all(getattr(e, n) is getattr(__import__(m, fromlist=[n]), n) for n, m in e._EXPORTS.items()); "
        "from attnrec.explain.shapley import MAX_GROUPS; from attnrec.explain.model_targets import BASELINES; "
        "print(before, same, sorted(e.__all__) == sorted(e._EXPORTS), e.MAX_GROUPS is MAX_GROUPS, "
        "e.targets_for.__module__)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["False", "True", "True", "True", "attnrec.explain.model_targets"], (
        result.stdout + result.stderr
    )

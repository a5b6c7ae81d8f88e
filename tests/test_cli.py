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

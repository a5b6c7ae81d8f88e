"""Checkpoints round-trip exactly and refuse anything that is not what the config describes."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from attnrec.checkpoint import CheckpointError, load
from attnrec.model import Recommender
from tests.test_model import TinyFeaturizer, tiny_dataset, tiny_model


def _load(path, **kw):
    return load(
        path,
        device="cpu",
        dataset=tiny_dataset(),
        featurizer_from_json=TinyFeaturizer.from_json,
        model_class=Recommender,
        **kw,
    )


@pytest.mark.parametrize("mode,tied", [("latent", False), ("aligned", True)])
def test_round_trip_gives_identical_scores(tmp_path, mode, tied):
    model = tiny_model(mode, tied)
    with torch.no_grad():
        model.calibration.copy_(torch.tensor([1.7, -0.3]))
    model.config["metrics"] = {"hr@10": 0.5}
    model.save(tmp_path / "ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["config.json", "model.safetensors"]
    again = _load(tmp_path / "ckpt")
    assert not again.training
    assert again.config["metrics"] == {"hr@10": 0.5}
    for user in ("u0", "u4"):
        assert torch.equal(again.scores_for_user(user), model.scores_for_user(user))
    a, b = model.score("u1", again.item_ids), again.score("u1", again.item_ids)
    np.testing.assert_array_equal(a["s"], b["s"])
    np.testing.assert_array_equal(a["probability"], b["probability"])
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["mode"] == mode and config["tied"] == tied and config["heads"] == 2
    assert config["featurizer"]["mode"] == mode


def test_shape_mismatch_names_the_tensor_and_both_shapes(tmp_path):
    tiny_model().save(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    state["w_u"] = torch.zeros(2, 5, 5)
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"'w_u'.*\[2, 5, 5\].*\[2, 4, 4\]"):
        _load(tmp_path)


def test_missing_and_extra_tensors_are_named(tmp_path):
    tiny_model().save(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    save_file({k: v for k, v in state.items() if k != "calibration"}, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="lacks tensor 'calibration'"):
        _load(tmp_path)
    save_file({**state, "backdoor": torch.zeros(3)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="unexpected tensor 'backdoor'"):
        _load(tmp_path)


class _Boom:
    def __reduce__(self):
        return (pytest.fail, ("the checkpoint was unpickled",))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_pickle_disguised_as_safetensors_is_refused_unopened(tmp_path, writer):
    model = tiny_model()
    model.save(tmp_path)
    target = tmp_path / "model.safetensors"
    if writer == "pickle":
        target.write_bytes(pickle.dumps({"payload": _Boom()}))
    else:
        torch.save(model.state_dict(), target)
    with pytest.raises(CheckpointError, match="not a valid safetensors file.*pickle"):
        _load(tmp_path)


def test_config_problems_are_clear(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        _load(tmp_path / "nowhere")
    tiny_model().save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "heads"}))
    with pytest.raises(CheckpointError, match="lacks heads"):
        _load(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        _load(tmp_path)


def test_absent_device_is_an_error_not_a_fallback(tmp_path):
    tiny_model().save(tmp_path)
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA was requested but this machine has no CUDA device; available: "):
        load(
            tmp_path,
            device="cuda",
            dataset=tiny_dataset(),
            featurizer_from_json=TinyFeaturizer.from_json,
            model_class=Recommender,
        )


SHIPPED = ["restaurants-aligned", "restaurants-latent", "synthetic"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints_load_small_and_consistent(name):
    from pathlib import Path

    from attnrec.model import Recommender

    folder = Path(__file__).resolve().parents[1] / "sample_data" / "models" / name
    assert (folder / "model.safetensors").stat().st_size < 5 * 1024 * 1024
    model = Recommender.load(folder, device="cpu")
    assert not model.training and model.config["metrics"]["users"] > 0
    user = model.user_ids[0]
    top = model.top_k(user, k=10)
    assert len(top) == 10 and top["s"].is_monotonic_decreasing
    # the catalog path and the pairwise path agree on the shipped weights too
    np.testing.assert_allclose(top["s"], model.score(user, list(top["item_id"]))["s"], rtol=1e-4, atol=1e-6)

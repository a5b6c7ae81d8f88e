"""Training on a planted dataset: validation loss falls, the model beats popularity, stopping works."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import torch

from attnrec.baselines import Popularity
from attnrec.data.types import Dataset
from attnrec.evaluation import evaluate, leave_one_out
from attnrec.training import TrainConfig, train


def planted(n_users=80, n_items=40, per_user=5, seed=0) -> Dataset:
    """Users like one colour; positives are items of that colour, observed negatives are other colours."""
    rng = np.random.default_rng(seed)
    colours = ["red", "green", "blue", "gold"]
    users = pd.DataFrame(
        {"likes": rng.choice(colours, n_users), "age": rng.integers(18, 70, n_users)},
        index=[f"u{i}" for i in range(n_users)],
    )
    # Popularity is deliberately uninformative: every colour has the same number of items.
    items = pd.DataFrame(
        {"colour": np.repeat(colours, n_items // 4), "price": rng.integers(1, 5, n_items)},
        index=[f"i{i}" for i in range(n_items)],
    )
    rows = []
    for user, like in users["likes"].items():
        match, other = items.index[items["colour"] == like], items.index[items["colour"] != like]
        rows += [(user, item, 1) for item in rng.choice(match, per_user, replace=False)]
        rows += [(user, item, 0) for item in rng.choice(other, 2, replace=False)]
    schema = {
        "user_features": {"likes": {"kind": "categorical"}, "age": {"kind": "numeric"}},
        "item_features": {"colour": {"kind": "categorical"}, "price": {"kind": "numeric"}},
        "aligned_pairs": [{"name": "colour", "user": "likes", "item": "colour"}],
    }
    return Dataset("planted", users, items, pd.DataFrame(rows, columns=["user_id", "item_id", "label"]), schema)


FAST = dict(d=8, heads=2, epochs=15, batch_size=128, lr=0.02, device="cpu", patience=15, monitor="val_loss")


@pytest.mark.parametrize("mode,loss", [("latent", "bce"), ("aligned", "bce"), ("latent", "bpr")])
def test_training_lowers_validation_loss_and_beats_popularity(mode, loss):
    split = leave_one_out(planted())
    model = train(split.train, TrainConfig(mode=mode, loss=loss, **FAST), progress=False)
    info = model.config["training"]
    assert info["best_val_loss"] < 0.8 * info["initial_val_loss"]
    assert not model.training
    ours, popular = evaluate(model, split), evaluate(Popularity(split.train), split)
    # Colour decides everything, so a working model ranks the held-out item in the top 10 of 33-36
    # candidates far more often than popularity (≈ 10/35 by construction).
    assert ours["hr@10"] > popular["hr@10"] + 0.3
    assert ours["auc"] > 0.85
    assert info["calibration"]["calibrated"] and info["calibration"]["a"] > 0


def test_seeded_training_is_reproducible():
    data = planted(n_users=30)
    config = TrainConfig(mode="latent", **{**FAST, "epochs": 3})
    a, b = train(data, config, progress=False), train(data, config, progress=False)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


def test_callback_sees_every_epoch_and_stop_event_stops():
    data = planted(n_users=30)
    seen = []
    stop = threading.Event()

    def callback(epoch, metrics):
        seen.append((epoch, metrics["val_loss"]))
        if epoch == 2:
            stop.set()

    model = train(
        data, TrainConfig(mode="latent", **{**FAST, "epochs": 10}), progress=False, callback=callback, stop_event=stop
    )
    assert [e for e, _ in seen] == [1, 2]
    assert model.config["training"]["stopped_by"] == "stop requested"
    assert model.config["training"]["epochs_run"] == 2


def test_early_stopping_restores_the_best_epoch():
    data = planted(n_users=30)
    # A huge learning rate makes validation loss bounce; patience 1 must stop early and keep the best.
    model = train(data, TrainConfig(mode="latent", **{**FAST, "epochs": 30, "lr": 0.3, "patience": 1}), progress=False)
    info = model.config["training"]
    assert info["stopped_by"] == "early stopping"
    assert info["epochs_run"] == info["best_epoch"] + 1
    best = min([info["initial_val_loss"]] + [h["val_loss"] for h in info["history"]])
    assert info["best_val_loss"] == pytest.approx(best, rel=1e-5)  # history is rounded to 6 digits


def test_bad_configs_are_refused_before_any_work():
    data = planted(n_users=10)
    with pytest.raises(ValueError, match="mode must be"):
        train(data, TrainConfig(mode="sideways"), progress=False)
    with pytest.raises(ValueError, match="use_ids applies to latent mode only"):
        train(data, TrainConfig(mode="aligned", use_ids=True), progress=False)
    with pytest.raises(ValueError, match="has no CUDA device|no MPS"):
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        train(data, TrainConfig(device="cuda"), progress=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_training_runs_on_cuda():
    split = leave_one_out(planted())
    model = train(split.train, TrainConfig(mode="latent", **{**FAST, "device": "cuda"}), progress=False)
    assert model.device.type == "cuda"
    assert evaluate(model, split)["hr@10"] > evaluate(Popularity(split.train), split)["hr@10"]


def test_early_stopping_on_validation_auc_keeps_the_best_ranking_epoch():
    data = planted(n_users=40)
    model = train(data, TrainConfig(mode="latent", **{**FAST, "monitor": "val_auc", "epochs": 8}), progress=False)
    info = model.config["training"]
    aucs = [info["initial_val_auc"]] + [h["val_auc"] for h in info["history"]]
    assert info["best_epoch"] == int(np.argmax(aucs))
    assert info["best_val_auc"] == pytest.approx(max(aucs), abs=1e-5)  # recomputed on the restored weights


def test_ids_only_features_and_popularity_dimension_from_training_positives_only():
    from attnrec.data.featurize import Featurizer

    split = leave_one_out(planted())
    ids = Featurizer.fit(split.train, "latent", use_ids=True, features="ids")
    assert [g.name for g in ids.groups("user")] == ["id"] and [g.name for g in ids.groups("item")] == ["id"]
    with pytest.raises(ValueError, match="features='ids'"):
        Featurizer.fit(split.train, "latent", features="ids")
    aligned = Featurizer.fit(split.train, "aligned", popularity=True)
    assert aligned.dimension_names[-1] == "popular place"
    users = aligned.encode("user", split.train.users).matrix
    items = aligned.encode("item", split.train.items).matrix
    assert (users[:, -1] == 1).all() and items[:, -1].max() == pytest.approx(1.0) and items[:, -1].min() >= 0
    counts = split.train.positives["item_id"].astype(str).value_counts()
    expected = [np.log1p(counts.get(i, 0)) / np.log1p(counts.max()) for i in split.train.items.index]
    np.testing.assert_allclose(items[:, -1], expected, atol=1e-5)  # training split only: no held-out pair counts
    again = Featurizer.from_json(aligned.to_json())
    np.testing.assert_array_equal(again.encode("item", split.train.items).matrix, items)


def test_mf_like_options_train_and_keep_the_last_epoch():
    split = leave_one_out(planted())
    config = TrainConfig(
        mode="latent",
        use_ids=True,
        features="ids",
        loss="bpr",
        l2=1e-3,
        learn_scale=False,
        observed_negatives=False,
        **{**FAST, "monitor": "last", "epochs": 6},
    )
    model = train(split.train, config, progress=False)
    info = model.config["training"]
    assert info["best_epoch"] == info["epochs_run"] == 6
    assert np.isfinite(evaluate(model, split)["auc"])
    aligned = train(split.train, TrainConfig(mode="aligned", popularity=True, **{**FAST, "epochs": 3}), progress=False)
    assert aligned.dimension_names[-1] == "popular place" and aligned.d == len(aligned.featurizer.dimension_names)
    with pytest.raises(ValueError, match="popularity applies"):
        TrainConfig(mode="latent", popularity=True).check()

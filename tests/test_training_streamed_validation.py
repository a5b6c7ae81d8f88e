"""Validation is scored in chunks (training.VALIDATION_CHUNK) rather than as one dense gather of every
validation pair; the chunked loss and calibration scores equal one pass over all pairs (the reference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnrec import training, training_pairs
from attnrec.data.featurize import Featurizer
from attnrec.model import Recommender
from attnrec.training import TrainConfig
from tests.test_training import planted


@pytest.mark.parametrize("loss", ["bce", "bpr"])
def test_chunked_validation_loss_equals_one_pass(monkeypatch, loss):
    data = planted()
    config = TrainConfig(mode="latent", d=8, loss=loss, device="cpu", entropy_weight=0.1, diversity_weight=0.1)
    featurizer = Featurizer.fit(data, "latent")
    model = Recommender.from_featurizer(featurizer, data, d=8, heads=2).eval()
    pairs = training_pairs.Pairs(model, data)
    rng = np.random.default_rng(0)
    _, val = training_pairs.validation_split(pairs, 0.5, rng)
    validation = training_pairs.fixed_validation(val, pairs, config, rng, torch.device("cpu"))
    with torch.no_grad():
        whole = float(training._loss(model, config, validation))  # the old way: one batch of everything
    monkeypatch.setattr(training, "VALIDATION_CHUNK", 7)  # many uneven chunks
    assert len(validation[0]) > 7 * 5 and len(validation[0]) % 7
    assert training._validation_loss(model, config, validation) == pytest.approx(whole, rel=1e-5)
    u, i = validation[0], validation[1]
    with torch.no_grad():
        reference = training._pair_scores(model, u, i)
    assert torch.allclose(training._chunked_pair_scores(model, u, i), reference, atol=1e-6)


def test_chunks_follow_the_module_setting(monkeypatch):
    monkeypatch.setattr(training, "VALIDATION_CHUNK", 3)
    sizes = [len(c[0]) for c in training._chunks((torch.arange(10), torch.arange(10)))]
    assert sizes == [3, 3, 3, 1]

"""A large epoch is built a shard at a time: still every training positive once, `negatives` sampled negatives per
positive (never a positive of that user), every observed negative once, batches of the usual size."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch

import attnrec.training_pairs as training_pairs
from attnrec.data import Featurizer, load_dataset
from attnrec.model import Recommender
from attnrec.training_config import TrainConfig


@pytest.fixture(scope="module")
def setup():
    dataset = load_dataset("restaurants")  # has observed negatives (label 0)
    model = Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=4)
    pairs = training_pairs.Pairs(model, dataset)
    config = TrainConfig(negatives=3, batch_size=64)
    train_part, _ = training_pairs.validation_split(pairs, 0.1, np.random.default_rng(1))
    return dataset, model, pairs, config, train_part


def test_sharded_epoch_covers_every_pair_once(setup, monkeypatch):
    dataset, model, pairs, config, train_part = setup
    monkeypatch.setattr(training_pairs, "EPOCH_SHARD_PAIRS", 500)  # ~10 shards on this data
    batches = list(training_pairs.bce_batches(train_part, pairs, config, np.random.default_rng(2), torch.device("cpu")))
    u = torch.cat([b[0] for b in batches]).numpy()
    i = torch.cat([b[1] for b in batches]).numpy()
    y = torch.cat([b[2] for b in batches]).numpy()
    pos_u, pos_i, obs_u, obs_i = train_part
    assert len(pos_u) * 4 + len(obs_u) > 500 * 5
    assert all(len(b[0]) <= config.batch_size * (1 + config.negatives) for b in batches)
    assert Counter(zip(u[y == 1], i[y == 1])) == Counter(zip(pos_u, pos_i))
    # label-0 pairs: the observed negatives once each, plus 3 sampled items per training positive of the user
    inter = dataset.interactions
    positive = set(zip(inter.loc[inter["label"] == 1, "user_id"], inter.loc[inter["label"] == 1, "item_id"]))
    zero = Counter(zip(u[y == 0], i[y == 0]))
    observed = Counter(zip(obs_u, obs_i))
    sampled = zero - observed
    assert sum(zero.values()) == 3 * len(pos_u) + len(obs_u)
    assert not observed - zero  # every observed negative is there
    users, items = model.user_ids, model.item_ids
    assert not any((users[a], items[b]) in positive for a, b in sampled)
    per_user = pd.Series([a for (a, _), n in sampled.items() for _ in range(n)]).value_counts()
    expected = pd.Series(pos_u).value_counts() * 3
    pd.testing.assert_series_equal(per_user.sort_index(), expected.sort_index(), check_names=False)


def test_small_epochs_are_built_whole_as_before(setup):
    _, _, pairs, config, train_part = setup
    assert len(train_part[0]) * 4 + len(train_part[2]) <= training_pairs.EPOCH_SHARD_PAIRS
    rng = np.random.default_rng(2)
    first = next(training_pairs.bce_batches(train_part, pairs, config, rng, torch.device("cpu")))
    reference = np.random.default_rng(2)  # the unsharded recipe: negatives for all positives, one permutation
    neg_u, neg_i = pairs.sample_negatives(train_part[0], config.negatives, reference)
    u = np.concatenate([train_part[0], neg_u, train_part[2]])
    order = reference.permutation(len(u))
    assert first[0].tolist() == u[order[: config.batch_size * 4]].tolist()

"""Scoring the whole catalog in chunks (the encoded catalog and attention_scores): the same S as scoring each pair
with `forward`, and top-K the same as sorting those."""

import numpy as np
import pytest
import torch

import attnrec.model as model_module
from attnrec.data import Featurizer, load_dataset
from attnrec.model import Recommender


@pytest.fixture(scope="module")
def model():
    dataset = load_dataset("synthetic")
    torch.manual_seed(3)
    return Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=6, heads=2, hidden=16)


def test_chunked_catalog_scores_match_pairwise_forward(model, monkeypatch):
    monkeypatch.setattr(model_module, "CATALOG_CHUNK", 97)  # 1,000 items: 11 chunks, the last one short
    model._item_cache = None
    user = model.user_ids[17]
    # Kept item-last, so attention_scores takes its transpose-free path (tests/test_fast_paths.py covers both).
    catalog = model._catalog_y()
    assert catalog.shape == (len(model.item_ids), model.d) and catalog.t().is_contiguous()
    scores = model.scores_for_user(user).numpy()
    with torch.no_grad():
        pairwise = model(model.user_rows(user).expand(len(model.item_ids), -1), model.item_matrix).numpy()
    np.testing.assert_allclose(scores, pairwise, rtol=1e-5, atol=1e-6)
    top = model.top_k(user, k=10, exclude_seen=False)
    expected = np.argsort(-pairwise, kind="stable")[:10]
    assert set(top["item_id"]) == {model.item_ids[r] for r in expected}
    model._item_cache = None


def test_seen_items_are_the_users_interactions(model):
    dataset = model.dataset
    user = model.user_ids[5]
    rows = model.seen_items(user)
    expected = sorted(
        model.item_ids.index(i) for i in dataset.interactions.loc[dataset.interactions["user_id"] == user, "item_id"]
    )
    assert rows.tolist() == expected
    assert model.seen_items("no such user").tolist() == []
    top = model.top_k(user, k=20)
    assert not set(top["item_id"]) & {model.item_ids[r] for r in rows}

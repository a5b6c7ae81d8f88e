"""attnrec.insights without the page: the pair sample, slice names, unit entropy and held-out ranks."""

import numpy as np
import pandas as pd
import pytest

from attnrec.data import load_dataset
from attnrec.evaluation import evaluate, leave_one_out
from attnrec.insight_slices import slice_labels, unit_entropy
from attnrec.insights import MISSING, OTHER, sample_pairs
from attnrec.model import Recommender
from attnrec.model_comparison import held_out_ranks

MODELS = "sample_data/models"


@pytest.fixture(scope="module")
def aligned():
    from pathlib import Path

    return Recommender.load(Path(__file__).resolve().parents[1] / MODELS / "restaurants-aligned", device="cpu")


def test_sample_is_seeded_and_spans_users():
    dataset = load_dataset("restaurants")
    first, again, other = (sample_pairs(dataset, 120, seed) for seed in (0, 0, 1))
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert first["user_id"].nunique() >= 120 // 10  # at most 5 positives + 5 negatives per user
    assert len(first) == 120 and set(first["label"]) == {0, 1}


def test_slice_names_for_categories_numbers_and_missing_values():
    categories = pd.Series(["a"] * 5 + ["b"] * 4 + ["c", "d", None])
    labels = slice_labels(categories, max_slices=3)
    assert list(labels) == ["a"] * 5 + ["b"] * 4 + [OTHER, OTHER, MISSING]
    few = slice_labels(pd.Series([1.0, 2.0, 2.0, None]), bins=4)
    assert list(few) == ["1", "2", "2", MISSING]
    numbers = pd.Series(np.arange(1, 13, dtype=float))
    binned = slice_labels(numbers, bins=3)
    assert binned.value_counts().tolist() == [4, 4, 4]
    assert list(pd.unique(binned)) == ["[1, 4.667]", "(4.667, 8.333]", "(8.333, 12]"]


def test_unit_entropy_is_quality_entropy_with_a_taste_block(aligned):
    from attnrec.quality import attention_quality

    pairs = aligned.dataset.interactions.head(40)
    users, items = list(pairs["user_id"]), list(pairs["item_id"])
    assert aligned.taste_block
    ours = unit_entropy(aligned, users, items)
    np.testing.assert_allclose(ours, attention_quality(aligned, users, items, random_draws=1).entropy, atol=1e-12)


def test_held_out_ranks_give_evaluates_auc(aligned):
    from pathlib import Path

    latent = Recommender.load(
        Path(__file__).resolve().parents[1] / MODELS / "restaurants-latent", device="cpu", dataset=aligned.dataset
    )
    split = leave_one_out(aligned.dataset, seed=0)
    ranks = held_out_ranks(latent, split)
    result = evaluate(latent, split, k=10)
    assert len(ranks) == result["users"]
    # rank = 1 + above + ties/2 among n negatives; evaluate's AUC per user is (n − above − ties/2) / n.
    negatives = ranks["candidates"] - 1
    assert ((negatives - ranks["rank"] + 1) / negatives).mean() == pytest.approx(result["auc"], abs=1e-12)
    no_ties = ranks["rank"] == ranks["rank"].round()
    assert no_ties.mean() > 0.5 and (ranks["rank"] >= 1).all()

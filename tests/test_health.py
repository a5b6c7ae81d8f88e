import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import entropy as scipy_entropy

from attnrec.health import (
    attention_entropy,
    attention_over_pairs,
    head_verdicts,
    mean_attention,
    most_wrong_pairs,
    sample_pairs,
)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_entropy_matches_scipy_per_distribution():
    rng = np.random.default_rng(0)
    a = _softmax(rng.normal(size=(7, 3, 5)) * 2)
    got = attention_entropy(a, normalized=False)
    expected = np.array([[scipy_entropy(a[b, h]) for h in range(3)] for b in range(7)])
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    np.testing.assert_allclose(attention_entropy(torch.tensor(a)), expected / math.log(5), rtol=1e-10)


def test_entropy_of_one_hot_and_uniform_are_zero_and_one():
    a = np.zeros((2, 2, 4))
    a[:, 0, 1] = 1.0  # head 1: one-hot (exact zeros elsewhere must not give NaN)
    a[:, 1, :] = 0.25  # head 2: uniform
    e = attention_entropy(a)
    assert np.all(np.isfinite(e))
    np.testing.assert_allclose(e[:, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(e[:, 1], 1.0, atol=1e-12)


def test_head_verdicts_flag_collapsed_uniform_and_ok():
    rng = np.random.default_rng(1)
    d = 6
    collapsed = np.tile(np.eye(d)[2], (50, 1)) * 0.999 + 0.001 / d
    uniform = np.full((50, d), 1.0 / d)
    peaked = _softmax(rng.normal(size=(50, d)) * 1.5)
    a = np.stack([collapsed, uniform, peaked], axis=1)
    verdicts = head_verdicts(attention_entropy(a))
    assert verdicts["verdict"].tolist() == ["collapsed", "uniform", "ok"]
    assert verdicts["head"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(verdicts["mean_entropy"].to_numpy()[1], 1.0)


def test_mean_attention_averages_over_pairs():
    a = np.array([[[0.2, 0.8]], [[0.6, 0.4]]])
    np.testing.assert_allclose(mean_attention(a), [[0.4, 0.6]])
    with pytest.raises(ValueError, match=r"\(B, H, d\)"):
        mean_attention(np.ones((2, 2)))


def test_most_wrong_pairs_picks_top_negatives_and_bottom_positives():
    scored = pd.DataFrame(
        {
            "user_id": list("abcdef"),
            "item_id": list("uvwxyz"),
            "s": [0.9, -0.5, 2.0, 0.1, -3.0, 1.5],
            "label": [0, 1, 0, 1, 1, 0],
        }
    )
    negatives, positives = most_wrong_pairs(scored, k=2)
    assert negatives["user_id"].tolist() == ["c", "f"]  # s = 2.0, 1.5
    assert positives["user_id"].tolist() == ["e", "b"]  # s = -3.0, -0.5
    with pytest.raises(ValueError, match="label"):
        most_wrong_pairs(scored.drop(columns="label"))


def test_sample_pairs_is_reproducible_and_bounded():
    inter = pd.DataFrame(
        {"user_id": [str(i) for i in range(100)], "item_id": ["x"] * 100, "label": [i % 2 for i in range(100)]}
    )
    first, second = sample_pairs(inter, 10, seed=3), sample_pairs(inter, 10, seed=3)
    assert len(first) == 10 and first.equals(second)
    assert len(sample_pairs(inter, 500)) == 100


class _TinyModel:
    """The slice of Recommender that attention_over_pairs uses, over a 3-user, 4-item catalog."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.d, self.heads = 3, 2
        self.users = {u: torch.randn(3, generator=g) for u in "abc"}
        self.items = {i: torch.randn(3, generator=g) for i in "wxyz"}
        self.w_u = torch.randn(2, 3, 3, generator=g)
        self.w_v = torch.randn(2, 3, 3, generator=g)

    def user_rows(self, ids):
        return torch.stack([self.users[i] for i in ids])

    def item_rows(self, ids):
        return torch.stack([self.items[i] for i in ids])

    def encode_user(self, r):
        return 2.0 * r

    def encode_item(self, r):
        return r + 1.0

    def attention(self, x, y):
        from attnrec.attention import attend

        return attend(x, y, self.w_u, self.w_v)


def test_attention_over_pairs_batches_match_a_numpy_reference():
    model = _TinyModel()
    users, items = list("abcab"), list("wxyzz")
    got = attention_over_pairs(model, users, items, batch_size=2)
    for b, (u, i) in enumerate(zip(users, items)):
        x = 2.0 * model.users[u].numpy().astype(np.float64)
        y = model.items[i].numpy().astype(np.float64) + 1.0
        p = x * y
        a_u = _softmax(np.einsum("hij,j->hi", model.w_u.numpy(), p))
        a_v = _softmax(np.einsum("hij,j->hi", model.w_v.numpy(), p))
        np.testing.assert_allclose(got["a_u"][b], a_u, rtol=1e-5)
        np.testing.assert_allclose(got["a_v"][b], a_v, rtol=1e-5)
        np.testing.assert_allclose(got["s"][b], ((a_u * y) * (a_v * x)).sum(), rtol=1e-4)


# ---- with a real model on the restaurants data --------------------------------------------------------


@pytest.fixture(scope="module")
def restaurant_model():
    from attnrec.data import Featurizer, load_dataset
    from attnrec.model import Recommender

    torch.manual_seed(4)
    dataset = load_dataset("restaurants")
    return Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=5, heads=2)


def test_wrong_pairs_are_the_extremes_of_a_brute_force_scoring(restaurant_model):
    from attnrec.health import held_out_split, wrong_pairs

    model = restaurant_model
    split = held_out_split(model, model.dataset)
    negatives, positives, source = wrong_pairs(model, split, k=5)
    assert source.startswith("observed negatives")
    inter = model.dataset.interactions
    obs = inter[inter["label"] == 0]
    with torch.no_grad():
        s_neg = model(model.user_rows(list(obs["user_id"])), model.item_rows(list(obs["item_id"]))).numpy()
        s_pos = model(
            model.user_rows(list(split.held_out["user_id"])), model.item_rows(list(split.held_out["item_id"]))
        ).numpy()
    np.testing.assert_allclose(negatives["s"], np.sort(s_neg)[::-1][:5], rtol=1e-5)
    np.testing.assert_allclose(positives["s"], np.sort(s_pos)[:5], rtol=1e-5)
    for row in [*positives.itertuples(), *negatives.itertuples()]:
        with torch.no_grad():  # the user against every item, by the model's forward pass (not its catalog path)
            every = model(model.user_rows([row.user_id] * len(model.item_ids)), model.item_rows(list(model.item_ids)))
        s = every.numpy()[list(model.item_ids).index(row.item_id)]
        assert row.rank == int((every.numpy() > s + 1e-5).sum()) + 1
        assert row.ties == int((np.abs(every.numpy() - s) <= 1e-5).sum()) - 1


def test_rank_agreement_is_kendall_tau_b_of_magnitudes():
    from attnrec.health import rank_agreement

    frame = pd.DataFrame({"a": [3.0, -2.0, 1.0, 0.5], "b": [1.0, 2.0, 3.0, 4.0], "c": [-3.0, 2.0, -1.0, 0.5]})
    tau = rank_agreement(frame)
    np.testing.assert_allclose(np.diag(tau), 1.0)
    assert tau.loc["a", "c"] == pytest.approx(1.0)  # same magnitudes, other signs
    # a's |values| order 3 > 2 > 1 > 0.5 is exactly b's reversed: τ = −1
    assert tau.loc["a", "b"] == pytest.approx(-1.0)
    assert tau.loc["b", "a"] == tau.loc["a", "b"]


def test_dimension_target_baselines_are_encoded_raw_baselines(restaurant_model):
    from attnrec.explain.model_targets import pair_target as attribution_target

    model = restaurant_model
    user, item = model.user_ids[0], model.item_ids[0]
    mean = attribution_target(model, user, item, "dimensions", "mean")
    with torch.no_grad():
        # the mean raw row through the encoder (model_targets' docstring), not the mean of the encoded rows
        expected_x = model.encode_user(model.user_matrix.mean(dim=0, keepdim=True))[0]
        unknown = attribution_target(model, user, item, "dimensions", "unknown")
        expected_unknown = model.encode_user(torch.zeros(1, model.user_matrix.shape[1]))[0]
    torch.testing.assert_close(mean.baseline_u[0], expected_x)
    torch.testing.assert_close(unknown.baseline_u[0], expected_unknown)  # all-missing row = zeros here
    assert [g.name for g in mean.groups] == model.dimension_names
    fields = attribution_target(model, user, item, "fields", "zeros")
    assert fields.level == "fields" and fields.pair_ids == [(user, item)]
    with pytest.raises(ValueError, match="level"):
        attribution_target(model, user, item, "pixels")


def test_findings_say_when_the_heatmaps_carry_no_information_and_when_taste_dominates():
    """Model health's conclusions, checked against sums done here on the traces."""
    from pathlib import Path

    from attnrec.health import attention_entropy, attention_findings, attention_over_pairs, head_verdicts
    from attnrec.model import Recommender

    models = Path(__file__).resolve().parents[1] / "sample_data" / "models"
    latent = Recommender.load(models / "restaurants-latent", device="cpu")
    pairs = latent.dataset.interactions.head(200)
    traces = attention_over_pairs(latent, pairs["user_id"], pairs["item_id"])
    # the contributions are the model's own: they add up to S per pair
    np.testing.assert_allclose(traces["contributions"].sum(axis=(1, 2)), traces["s"], rtol=1e-4, atol=1e-6)
    verdicts = {side: head_verdicts(attention_entropy(traces[key])) for side, key in (("user", "a_u"), ("item", "a_v"))}
    assert all((v["verdict"] == "uniform").all() for v in verdicts.values())  # the accurate, uniform model
    findings = attention_findings(latent, traces, verdicts)
    assert findings[0][0] == "warning" and "heatmaps carry no information" in findings[0][1]

    hybrid = Recommender.load(models / "restaurants-aligned", device="cpu")
    traces = attention_over_pairs(hybrid, pairs["user_id"], pairs["item_id"])
    verdicts = {side: head_verdicts(attention_entropy(traces[key])) for side, key in (("user", "a_u"), ("item", "a_v"))}
    block = next(u for u in hybrid.attention_units() if len(u) > 1)
    per_dim = np.abs(traces["contributions"]).sum(axis=(0, 1))
    share = per_dim[block].sum() / per_dim.sum()
    findings = attention_findings(hybrid, traces, verdicts)
    taste = next(text for _, text in findings if "taste dimensions" in text)
    assert f"{share:.1%} of the |contributions|" in taste
    assert (share > 0.9) == ("explain little" in taste)

"""The named attention variants (sparsemax, 1.5-entmax, the presence mask, the null slot, the taste block)
against independent numpy references written here from their definitions."""

import numpy as np
import pandas as pd
import pytest
import torch

from attention_reference import reference_attend
from attnrec.attention import attend, attention_scores
from attnrec.model import NULL_SLOT_NAME, Recommender, variant_label


@pytest.mark.parametrize("normalizer", ["softmax", "sparsemax", "entmax15"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("d,heads", [(3, 1), (7, 2), (16, 4)])
def test_variants_match_the_numpy_reference(normalizer, masked, d, heads):
    rng = np.random.default_rng(d * 10 + heads + masked)
    batch = 5
    x, y = rng.normal(size=(batch, d)), rng.normal(size=(batch, d))
    wu, wv = 2 * rng.normal(size=(heads, d, d)), 2 * rng.normal(size=(heads, d, d))
    mask = rng.random((batch, d)) < 0.6 if masked else None
    if masked:
        mask[:, -1] = True  # every row keeps one open dimension
    trace = attend(
        torch.tensor(x),
        torch.tensor(y),
        torch.tensor(wu),
        torch.tensor(wv),
        0.7,
        normalizer=normalizer,
        mask=None if mask is None else torch.tensor(mask),
    )
    for b in range(batch):
        a_u, a_v, s = reference_attend(x[b], y[b], wu, wv, 0.7, normalizer, None if mask is None else mask[b])
        np.testing.assert_allclose(trace.a_u[b].numpy(), a_u, atol=1e-6)
        np.testing.assert_allclose(trace.a_v[b].numpy(), a_v, atol=1e-6)
        assert trace.s[b].item() == pytest.approx(s, abs=1e-6)
    # Every variant keeps the H×d split exact and each head's weights a distribution.
    np.testing.assert_allclose(trace.contributions.sum(dim=(1, 2)).numpy(), trace.s.numpy(), atol=1e-10)
    np.testing.assert_allclose(trace.a_u.sum(-1).numpy(), 1.0, atol=1e-6)
    if masked:
        assert (trace.a_u.numpy()[~np.broadcast_to(mask[:, None], trace.a_u.shape)] == 0).all()


def test_sparse_normalisers_give_exact_zeros_and_softmax_does_not():
    torch.manual_seed(0)
    x, y, w = torch.randn(50, 12), torch.randn(50, 12), 3 * torch.randn(2, 12, 12)
    assert (attend(x, y, w).a_u > 0).all()
    for normalizer in ("sparsemax", "entmax15"):
        assert (attend(x, y, w, normalizer=normalizer).a_u == 0).float().mean() > 0.3


def test_catalog_fast_path_agrees_for_every_variant():
    torch.manual_seed(1)
    x, items = torch.randn(8, dtype=torch.float64), torch.randn(300, 8, dtype=torch.float64)
    wu, wv = torch.randn(2, 8, 8, dtype=torch.float64), torch.randn(2, 8, 8, dtype=torch.float64)
    mask_fn = lambda u, v: (u * v).abs() > 0.3  # noqa: E731
    for normalizer in ("softmax", "sparsemax", "entmax15"):
        for fn in (None, lambda u, v: torch.cat([mask_fn(u, v)[:, :-1], torch.ones(len(v), 1, dtype=torch.bool)], 1)):
            fast = attention_scores(x, items, wu, wv, 1.3, chunk_size=64, normalizer=normalizer, mask_fn=fn)
            mask = None if fn is None else fn(x.expand_as(items), items)
            slow = attend(x, items, wu, wv, 1.3, normalizer=normalizer, mask=mask).s
            torch.testing.assert_close(fast, slow)


def test_bad_variants_are_refused():
    x = torch.ones(3)
    with pytest.raises(ValueError, match="normalizer must be one of"):
        attend(x, x, torch.eye(3), normalizer="relu")
    with pytest.raises(ValueError, match="at least one must stay open"):
        attend(x, x, torch.eye(3), mask=torch.zeros(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask must have shape"):
        attend(x, x, torch.eye(3), mask=torch.ones(4, dtype=torch.bool))


# ---- the model: null slot, presence mask, taste block ---------------------------------------------


class _Featurizer:
    """Aligned, 3 named dimensions, plus one-hot ids (for taste dimensions)."""

    mode = "aligned"
    dimension_names = ["a", "b", "c"]

    def __init__(self, ids):
        self.ids = ids

    def columns(self, side):
        return ["a", "b", "c"] + [f"id={i}" for i in self.ids[side]]


def _model(**options):
    torch.manual_seed(0)
    ids = (
        {"user": ["u0", "u1", "u2"], "item": ["i0", "i1", "i2", "i3"]}
        if options.get("latent_dims")
        else {"user": [], "item": []}
    )
    return Recommender.from_featurizer(_Featurizer(ids), heads=2, temperature=0.5, **options)


def _reference_model_score(model, r_u, r_v):
    """Encoders, null slot, mask and taste block written out by hand, then `reference_attend`."""

    def encode(enc, r):
        named = np.log1p(np.exp(enc.scale.detach().numpy().astype(np.float64))) * r[:3]
        parts = [named]
        if enc.taste is not None:
            parts.append(enc.taste_scale * (enc.taste.weight.detach().numpy().astype(np.float64) @ r[3:]))
        if model.null_slot:
            parts.append(np.zeros(1))
        return np.concatenate(parts)

    x, y = encode(model.user_encoder, r_u), encode(model.item_encoder, r_v)
    wu, wv = (w.detach().numpy().astype(np.float64).copy() for w in (model.w_u, model.w_v))
    if model.taste_block:
        block = model.taste_dimensions
        for w in (wu, wv):
            w[:, block] = w[:, block].mean(axis=1, keepdims=True)
    mask = None
    if model.presence_mask:
        mask = x * y != 0
        mask[-1] = True
    return reference_attend(x, y, wu, wv, model.temperature, model.normalizer, mask)


@pytest.mark.parametrize(
    "options",
    [
        {"null_slot": True},
        {"null_slot": True, "presence_mask": True, "attention": "entmax15"},
        {"latent_dims": 2, "attention": "sparsemax"},
        {"latent_dims": 2, "taste_block": True, "null_slot": True, "presence_mask": True, "attention": "entmax15"},
    ],
)
def test_model_variants_match_a_hand_written_reference(options):
    model = _model(**options)
    with torch.no_grad():  # make W and the encoders non-trivial
        model.w_u.normal_(0, 2), model.w_v.normal_(0, 2)
        model.user_encoder.scale.normal_(0, 1), model.item_encoder.scale.normal_(0, 1)
    n_user, n_item = len(model.featurizer.columns("user")), len(model.featurizer.columns("item"))
    rng = np.random.default_rng(3)
    for _ in range(5):
        r_u = (
            np.concatenate([rng.integers(0, 2, 3), np.eye(n_user - 3)[rng.integers(n_user - 3)]])
            if model.latent_dims
            else rng.integers(0, 2, 3).astype(float)
        )
        r_v = (
            np.concatenate([rng.integers(0, 2, 3), np.eye(n_item - 3)[rng.integers(n_item - 3)]])
            if model.latent_dims
            else rng.integers(0, 2, 3).astype(float)
        )
        r_u, r_v = r_u.astype(float), r_v.astype(float)
        with torch.no_grad():
            trace = model.attention(
                model.encode_user(torch.tensor(r_u[None], dtype=torch.float32)),
                model.encode_item(torch.tensor(r_v[None], dtype=torch.float32)),
            )
        a_u, a_v, s = _reference_model_score(model, r_u, r_v)
        np.testing.assert_allclose(trace.a_u[0].numpy(), a_u, atol=2e-5)
        np.testing.assert_allclose(trace.a_v[0].numpy(), a_v, atol=2e-5)
        assert trace.s.item() == pytest.approx(s, abs=2e-5)
        if model.null_slot:
            assert trace.contributions[0, :, -1].abs().max() == 0  # the null slot never adds to S
        if model.taste_block:
            block = trace.a_u[0, :, model.taste_dimensions]
            torch.testing.assert_close(block, block[:, :1].expand_as(block))  # one weight for the whole block


def test_model_names_and_labels_its_variant():
    model = _model(latent_dims=2, taste_block=True, null_slot=True, presence_mask=True, attention="entmax15")
    assert model.dimension_names == ["a", "b", "c", "taste 1", "taste 2", NULL_SLOT_NAME]
    assert model.d == 6
    assert variant_label(model.config) == (
        "1.5-entmax · presence mask · null slot · 2 taste dimensions from ids, weighed as one block"
    )
    assert variant_label({}) == "softmax (the design document's)"
    with pytest.raises(ValueError, match="presence_mask needs null_slot"):
        _model(presence_mask=True)


def test_presence_mask_closes_dimensions_where_either_side_is_zero():
    model = _model(null_slot=True, presence_mask=True)
    x = torch.tensor([[1.0, 0.0, 2.0, 0.0]])
    y = torch.tensor([[1.0, 3.0, 0.0, 0.0]])
    assert model.attention_mask(x, y).tolist() == [[True, False, False, True]]
    trace = model.attention(x, y)
    assert (trace.a_u[0, :, 1:3] == 0).all() and (trace.a_v[0, :, 1:3] == 0).all()


def test_variant_checkpoints_round_trip(tmp_path):
    from attnrec.data.types import Dataset
    from attnrec.training import TrainConfig, train

    rng = np.random.default_rng(0)
    users = pd.DataFrame({"likes": rng.choice(["x", "y", "z"], 30)}, index=[f"u{i}" for i in range(30)])
    items = pd.DataFrame(
        {"kind": rng.choice(["x", "y", "z"], 20), "size": rng.normal(size=20)}, index=[f"i{i}" for i in range(20)]
    )
    inter = pd.DataFrame(
        {
            "user_id": [f"u{rng.integers(30)}" for _ in range(200)],
            "item_id": [f"i{rng.integers(20)}" for _ in range(200)],
            "label": 1,
        }
    ).drop_duplicates()
    schema = {"item_features": {"kind": {"kind": "categorical"}, "size": {"kind": "numeric"}}}
    data = Dataset("toy", users, items, inter, schema=schema)
    config = TrainConfig(
        mode="aligned",
        user_profile="history",
        latent_dims=3,
        taste_block=True,
        null_slot=True,
        presence_mask=True,
        attention="entmax15",
        loss="bpr",
        epochs=2,
        device="cpu",
    )
    model = train(data, config, progress=False)
    model.save(tmp_path / "m")
    again = Recommender.load(tmp_path / "m", device="cpu", dataset=data)
    assert again.config["attention"] == "entmax15" and again.taste_block and again.null_slot
    assert again.dimension_names == model.dimension_names
    torch.testing.assert_close(again.scores_for_user("u1"), model.scores_for_user("u1"))
    scored = model.score(["u1"] * 20, list(items.index))["s"].to_numpy()
    np.testing.assert_allclose(model.scores_for_user("u1").numpy(), scored, rtol=1e-5, atol=1e-6)

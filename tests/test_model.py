"""Recommender: the catalog queries agree with forward(), and with an independent numpy reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from attnrec.data.types import Dataset, FieldGroup, SideEncoding
from attnrec.model import PairTrace, Recommender


class TinyFeaturizer:
    """A hand-made stand-in for the data layer's Featurizer: numeric columns copied through."""

    def __init__(self, mode, user_columns, item_columns, dimension_names=None):
        self.mode, self.use_ids = mode, False
        self._columns = {"user": user_columns, "item": item_columns}
        self.dimension_names = dimension_names

    def columns(self, side):
        return list(self._columns[side])

    def encode(self, side, table):
        cols = self._columns[side]
        return SideEncoding(
            ids=[str(i) for i in table.index],
            matrix=table[cols].to_numpy(np.float32),
            columns=list(cols),
            groups=[FieldGroup(c, "numeric", i, i + 1) for i, c in enumerate(cols)],
        )

    def to_json(self):
        return {
            "mode": self.mode,
            "user": self._columns["user"],
            "item": self._columns["item"],
            "dimension_names": self.dimension_names,
        }

    @classmethod
    def from_json(cls, blob):
        return cls(blob["mode"], blob["user"], blob["item"], blob["dimension_names"])


def tiny_dataset(n_users=6, n_items=9, seed=0):
    rng = np.random.default_rng(seed)
    users = pd.DataFrame(
        rng.normal(size=(n_users, 3)), columns=["a", "b", "c"], index=[f"u{i}" for i in range(n_users)]
    )
    items = pd.DataFrame(
        rng.normal(size=(n_items, 3)), columns=["a", "b", "c"], index=[f"i{i}" for i in range(n_items)]
    )
    pairs = [(f"u{u}", f"i{(u + j) % n_items}", int(j < 2)) for u in range(n_users) for j in range(3)]
    inter = pd.DataFrame(pairs, columns=["user_id", "item_id", "label"])
    return Dataset("tiny", users, items, inter, schema={})


def tiny_model(mode="latent", tied=False, heads=2, seed=0):
    torch.manual_seed(seed)
    data = tiny_dataset()
    cols = ["a", "b", "c"]
    feat = TinyFeaturizer(mode, cols, cols, cols if mode == "aligned" else None)
    return Recommender.from_featurizer(feat, data, d=4, heads=heads, tied=tied, temperature=0.7, hidden=0)


def numpy_score(model, r_u, r_v):
    """Independent reference of the whole pipeline for the latent/aligned encoders, in numpy."""

    def enc(module, r):
        if model.mode == "aligned":
            offset = 0.0 if module.offset is None else module.offset.detach().numpy()
            return np.log1p(np.exp(module.scale.detach().numpy())) * r + offset
        return r @ module.linear.weight.detach().numpy().T + module.linear.bias.detach().numpy()

    x, y = enc(model.user_encoder, r_u), enc(model.item_encoder, r_v)
    wu = model.w_u.detach().numpy()
    wv = wu if model.w_v is None else model.w_v.detach().numpy()
    p = x * y
    total = 0.0
    for h in range(wu.shape[0]):

        def softmax(z):
            e = np.exp(z - z.max())
            return e / e.sum()

        a_u, a_v = softmax(wu[h] @ p / model.temperature), softmax(wv[h] @ p / model.temperature)
        total += np.sum((a_u * y) * (a_v * x))
    return total


@pytest.mark.parametrize("mode,tied", [("latent", False), ("latent", True), ("aligned", False)])
def test_forward_matches_numpy_reference(mode, tied):
    model = tiny_model(mode, tied)
    r_u, r_v = model.users.matrix[2], model.items.matrix[5]
    got = model.forward(torch.tensor(r_u)[None], torch.tensor(r_v)[None]).item()
    assert got == pytest.approx(numpy_score(model, r_u.astype(np.float64), r_v.astype(np.float64)), rel=1e-5)


@pytest.mark.parametrize("tied", [False, True])
def test_catalog_queries_agree_with_forward(tied):
    model = tiny_model(tied=tied)
    user = "u3"
    pairwise = model.score(user, model.item_ids)
    catalog = model.scores_for_user(user).numpy()
    np.testing.assert_allclose(catalog, pairwise["s"].to_numpy(), rtol=1e-5, atol=1e-6)
    # rank_of: 1 + number of items with a strictly higher score, counted by hand
    for item in model.item_ids:
        s = pairwise.set_index("item_id").loc[item, "s"]
        assert model.rank_of(user, item) == 1 + int((pairwise["s"] > s + 1e-9).sum())
    # top_k skips what the user interacted with and is sorted by score
    seen = set(model.dataset.interactions.query("user_id == @user")["item_id"])
    top = model.top_k(user, k=4)
    expected = pairwise[~pairwise["item_id"].isin(seen)].sort_values("s", ascending=False).head(4)
    assert list(top["item_id"]) == list(expected["item_id"])
    assert list(top["rank"]) == [1, 2, 3, 4]
    np.testing.assert_allclose(top["s"], expected["s"], rtol=1e-5, atol=1e-6)
    everything = model.top_k(user, k=100, exclude_seen=False)
    assert len(everything) == len(model.item_ids)
    assert len(model.top_k(user, k=100)) == len(model.item_ids) - len(seen)


def test_probability_is_calibrated_sigmoid():
    model = tiny_model()
    with torch.no_grad():
        model.calibration.copy_(torch.tensor([2.0, -1.0]))
    frame = model.score(["u0", "u1"], ["i1", "i2"])
    np.testing.assert_allclose(frame["probability"], 1 / (1 + np.exp(-(2 * frame["s"] - 1))), rtol=1e-5)


def test_trace_carries_everything_about_the_pair():
    model = tiny_model("aligned")
    t = model.trace("u1", "i4")
    assert isinstance(t, PairTrace)
    assert t.x.shape == (model.d,) and t.y.shape == (model.d,) and t.r_u.shape == (3,)
    assert t.dimension_names == ["a", "b", "c"] and model.dimension_names == ["a", "b", "c"]
    assert t.trace.a_u.shape == (1, 2, model.d)
    assert t.s == pytest.approx(model.score("u1", "i4")["s"][0], rel=1e-5)
    assert t.s == pytest.approx(float(t.trace.contributions.sum()), rel=1e-5)
    assert t.rank == model.rank_of("u1", "i4")
    assert 0 < t.probability < 1
    assert model.mode == "aligned" and tiny_model().dimension_names[0] == "latent 1"


def test_copy_to_leaves_the_original_untouched():
    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    twin = model.copy_to("cpu")
    assert twin is not model and twin.dataset is model.dataset
    with torch.no_grad():
        twin.w_u.add_(1.0)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert not twin.training and not model.training


def test_catalog_cache_follows_weight_updates():
    model = tiny_model()
    first = model.scores_for_user("u0").clone()
    with torch.no_grad():
        model.item_encoder.linear.weight.mul_(2.0)
    again = model.scores_for_user("u0")
    assert not torch.allclose(first, again)
    np.testing.assert_allclose(again.numpy(), model.score("u0", model.item_ids)["s"], rtol=1e-5, atol=1e-6)


def _numpy_catalog(model, user):
    """S of `user` against every item, by the numpy reference, pair by pair."""
    r_u = model.users.matrix[model.users.row_of(user)].astype(np.float64)
    return np.array(
        [numpy_score(model, r_u, model.items.matrix[j].astype(np.float64)) for j in range(len(model.item_ids))]
    )


def test_kept_scores_follow_every_weight_the_mode_and_a_new_catalog():
    model = tiny_model()
    first = model.scores_for_user("u1")
    np.testing.assert_allclose(first.numpy(), _numpy_catalog(model, "u1"), rtol=1e-5, atol=1e-6)
    first[:] = 99.0  # the caller's own copy: what is kept is untouched
    np.testing.assert_allclose(model.scores_for_user("u1").numpy(), _numpy_catalog(model, "u1"), rtol=1e-5, atol=1e-6)
    assert len(model._user_scores) == 1
    # An in-place step on any weight (attention, user encoder) is seen at once.
    for tensor in (model.w_u, model.user_encoder.linear.weight):
        with torch.no_grad():
            tensor.mul_(1.5)
        np.testing.assert_allclose(
            model.scores_for_user("u1").numpy(), _numpy_catalog(model, "u1"), rtol=1e-5, atol=1e-6
        )
    # The temperature (training anneals it, a plain attribute) is seen too.
    model.temperature = 0.35
    np.testing.assert_allclose(model.scores_for_user("u1").numpy(), _numpy_catalog(model, "u1"), rtol=1e-5, atol=1e-6)
    # A state loaded from another model (same shapes) is seen too.
    other = tiny_model(seed=3)
    other.temperature = model.temperature
    model.load_state_dict(other.state_dict())
    np.testing.assert_allclose(model.scores_for_user("u1").numpy(), _numpy_catalog(other, "u1"), rtol=1e-5, atol=1e-6)
    # A new catalog: the items' features doubled.
    data = tiny_dataset()
    data.items.loc[:, :] = data.items.to_numpy() * 2
    model.attach(data)
    np.testing.assert_allclose(model.scores_for_user("u1").numpy(), _numpy_catalog(model, "u1"), rtol=1e-5, atol=1e-6)
    assert model.rank_of("u1", "i2") == 1 + int(
        (_numpy_catalog(model, "u1") > _numpy_catalog(model, "u1")[2] + 1e-9).sum()
    )


def test_a_copy_with_shared_plain_state_never_takes_the_originals_scores():
    from attnrec.explain.sanity import independent_copy, randomize_parameters

    model = tiny_model()
    original = _numpy_catalog(model, "u2")
    np.testing.assert_allclose(model.scores_for_user("u2").numpy(), original, rtol=1e-5, atol=1e-6)
    for seed in range(3):  # copies made and dropped in turn: their tensors may reuse one another's addresses
        twin = independent_copy(model)
        assert twin._user_scores is model._user_scores  # shared, as the copy shares all plain state
        randomize_parameters(twin, ["w_u"], seed=seed)
        np.testing.assert_allclose(twin.scores_for_user("u2").numpy(), _numpy_catalog(twin, "u2"), rtol=1e-5, atol=1e-6)
        del twin
    np.testing.assert_allclose(model.scores_for_user("u2").numpy(), original, rtol=1e-5, atol=1e-6)


def test_null_slot_reason_names_why_every_head_picked_the_null_slot():
    torch.manual_seed(0)
    cols = ["a", "b", "c"]
    model = Recommender.from_featurizer(
        TinyFeaturizer("latent", cols, cols), tiny_dataset(), d=4, heads=2, presence_mask=True, null_slot=True
    )
    assert model.d == 5  # the null slot on top of the 4 dimensions
    on_null = torch.tensor([[0.0, 0, 0, 0, 1], [0, 0, 0, 0, 1]])
    spread = torch.tensor([[0.0, 0.5, 0, 0, 0.5], [0, 0, 0, 0, 1]])
    apart = (torch.tensor([1.0, 0, 2, 0, 0]), torch.tensor([0.0, 3, 0, 4, 0]))  # no X_i·Y_i ≠ 0
    shared = (torch.tensor([1.0, 0, 2, 0, 0]), torch.tensor([5.0, 3, 0, 4, 0]))  # X_0·Y_0 ≠ 0
    assert model.null_slot_reason(on_null, on_null, *apart) == "nothing shared"
    assert model.null_slot_reason(on_null, on_null, *shared) == "not weighed"
    assert model.null_slot_reason(spread, on_null, *shared) is None  # one head of one side weighs a dimension
    assert model.null_slot_reason(on_null, spread, *apart) is None
    # The presence mask's own trace of the apart pair: every head on the null slot, S = 0, "nothing shared".
    trace = model.attention(apart[0][None], apart[1][None])
    assert float(trace.s[0]) == 0.0
    assert model.null_slot_reason(trace.a_u[0], trace.a_v[0], *apart) == "nothing shared"
    assert tiny_model().null_slot_reason(on_null[:, :4], on_null[:, :4], apart[0][:4], apart[1][:4]) is None


def test_kept_scores_are_bounded_in_count_and_bytes():
    from attnrec.model import _ScoresMemo

    memo = _ScoresMemo(entries=2, max_bytes=100)
    source = (torch.zeros(1),)
    memo.put(("a",), source, torch.zeros(10))  # 40 bytes
    memo.put(("b",), source, torch.zeros(10))
    memo.put(("c",), source, torch.zeros(10))  # over 2 entries: the oldest goes
    assert memo.get(("a",), source) is None and memo.get(("b",), source) is not None and len(memo) == 2
    memo.put(("d",), source, torch.zeros(20))  # 80 bytes: with any other, over 100
    assert len(memo) == 1 and memo.get(("d",), source) is not None
    memo.put(("e",), source, torch.zeros(30))  # 120 bytes alone: never kept
    assert memo.get(("e",), source) is None and len(memo) == 1
    assert memo.get(("d",), (torch.zeros(1),)) is None  # other tensors than it was computed from


def test_unknown_ids_and_mismatched_lengths_are_clear_errors():
    model = tiny_model()
    with pytest.raises(KeyError, match="unknown id 'nobody'"):
        model.scores_for_user("nobody")
    with pytest.raises(ValueError, match="as many users as items"):
        model.score(["u0", "u1"], ["i0", "i1", "i2"])


def test_cpu_path_and_cuda_when_present():
    model = tiny_model()
    assert model.device.type == "cpu"
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    gpu = model.copy_to("cuda")
    assert gpu.device.type == "cuda" and model.device.type == "cpu"
    np.testing.assert_allclose(
        gpu.scores_for_user("u2").numpy(), model.scores_for_user("u2").numpy(), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(gpu.score("u2", "i3")["s"], model.score("u2", "i3")["s"], rtol=1e-4)


def _four_identical_items() -> Recommender:
    """A latent model over 9 items of which four are identical (i2, i4, i5, i7): they score exactly the same."""
    torch.manual_seed(0)
    data = tiny_dataset(n_items=9)
    data.items.iloc[[2, 5, 7]] = data.items.iloc[4].to_numpy()
    cols = ["a", "b", "c"]
    return Recommender.from_featurizer(TinyFeaturizer("latent", cols, cols), data, d=4, heads=2, temperature=0.7)


def test_rank_and_ties_against_the_numpy_ranking_of_a_catalog_with_duplicate_items():
    """Items with the same attributes score the same: each holds a range of ranks, `rank`…`rank + ties`."""
    model = _four_identical_items()
    for user in ("u0", "u3"):
        reference = _numpy_catalog(model, user)
        for j, item in enumerate(model.item_ids):
            same = np.isclose(reference, reference[j], rtol=1e-9, atol=0)
            expected = (
                int((reference > reference[j]).sum() - (same & (reference > reference[j])).sum()) + 1,
                int(same.sum()) - 1,
            )
            assert model.rank_and_ties(user, item) == expected, (user, item)
            pair = model.trace(user, item)
            assert (pair.rank, pair.ties) == expected and model.rank_of(user, item) == expected[0]
            assert expected[1] == (3 if item in ("i2", "i4", "i5", "i7") else 0)
        tied = model.trace(user, "i5")
        assert (
            tied.rank_text(9) == f"{tied.rank}–{tied.rank + 3} of 9"
            and tied.rank_span() == f"{tied.rank}–{tied.rank + 3}"
        )
        alone = model.trace(user, "i0")
        assert alone.rank_text(9) == f"{alone.rank} of 9" and alone.rank_span() == str(alone.rank)


def test_top_k_lists_tied_items_in_catalog_order_and_counts_their_ties():
    """Four identical items score exactly the same: top_k lists them in catalog order (numpy's stable ranking, as
    the what-if ranks them), the same on every call, each with its three ties, also when K cuts through them."""
    model = _four_identical_items()
    for user in ("u0", "u3"):
        catalog = model.scores_for_user(user).numpy()
        seen = set(model.seen_items(user))
        for exclude_seen in (False, True):
            rows = [r for r in range(len(catalog)) if not (exclude_seen and r in seen)]
            order = [rows[i] for i in np.argsort(-catalog[rows], kind="stable")]
            for k in range(1, len(rows) + 1):
                top = model.top_k(user, k=k, exclude_seen=exclude_seen)
                assert list(top["item_id"]) == [model.item_ids[r] for r in order[:k]], (user, exclude_seen, k)
                assert list(top["rank"]) == list(range(1, k + 1))
                np.testing.assert_array_equal(top["s"], catalog[order[:k]].astype(float))
                expected_ties = [int((catalog[rows] == catalog[r]).sum()) - 1 for r in order[:k]]
                assert list(top["ties"]) == expected_ties
        tied = model.top_k(user, k=9, exclude_seen=False).set_index("item_id")["ties"]
        assert {i for i in tied.index if tied[i] == 3} == {"i2", "i4", "i5", "i7"} and tied.drop(
            ["i2", "i4", "i5", "i7"]
        ).eq(0).all()


def test_typed_vectors_equal_to_catalog_items_tie_with_them():
    from attnrec.pair_explanation import vector_trace

    torch.manual_seed(0)
    data = tiny_dataset(n_items=9)
    data.items.iloc[[2, 5]] = data.items.iloc[4].to_numpy()
    cols = ["a", "b", "c"]
    model = Recommender.from_featurizer(TinyFeaturizer("latent", cols, cols), data, d=4, heads=2, temperature=0.7)
    catalog = model.trace("u1", "i4")
    typed = vector_trace(model, catalog.x.numpy(), catalog.y.numpy())
    # The typed pair scores as i4 does: it ties with i2, i4 and i5 and would share their ranks.
    assert (typed.rank, typed.ties) == (catalog.rank, 3)

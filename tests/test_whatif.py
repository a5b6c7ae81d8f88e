import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import rankdata

from attnrec.data import Featurizer, load_dataset
from attnrec.model import Recommender
from attnrec.whatif import catalog_scores, encode_user_row, explain_shift, ranks_of, shift_reason, what_if


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    dataset = load_dataset("restaurants")
    featurizer = Featurizer.fit(dataset, "latent")
    return Recommender.from_featurizer(featurizer, dataset, d=6, heads=2, tied=False)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _numpy_scores(model, r_u: np.ndarray, r_items: np.ndarray) -> np.ndarray:
    """Independent reference: linear latent encoders, then the document's attention in numpy."""
    lu, li = model.user_encoder.linear, model.item_encoder.linear
    x = r_u @ lu.weight.detach().double().numpy().T + lu.bias.detach().double().numpy()
    y = r_items @ li.weight.detach().double().numpy().T + li.bias.detach().double().numpy()
    p = x[None, :] * y  # (N, d)
    wu, wv = model.w_u.detach().double().numpy(), model.w_v.detach().double().numpy()
    a_u = _softmax(np.einsum("hij,nj->nhi", wu, p) / model.temperature)
    a_v = _softmax(np.einsum("hij,nj->nhi", wv, p) / model.temperature)
    return ((a_u * y[:, None, :]) * (a_v * x[None, None, :])).sum(axis=(1, 2))


def test_unedited_row_encodes_to_the_catalog_row_and_moves_nothing(model):
    user = model.user_ids[3]
    row = model.dataset.users.loc[user]
    torch.testing.assert_close(encode_user_row(model, row), model.user_rows(user)[0])
    result = what_if(model, user, row)
    assert result.edited_fields == []
    assert np.abs(result.table["delta_s"]).max() == 0
    assert (result.table["rank_change"] == 0).all()


def test_edit_rescores_the_catalog_like_a_numpy_reference(model):
    user = model.user_ids[0]
    row = model.dataset.users.loc[user].copy()
    row["cuisines"] = "Japanese"
    row["budget"] = "high"
    result = what_if(model, user, row)
    assert sorted(result.edited_fields) == ["budget", "cuisines"]
    r_after = model.featurizer.encode("user", row.to_frame().T).matrix[0].astype(np.float64)
    expected = _numpy_scores(model, r_after, model.items.matrix.astype(np.float64))
    np.testing.assert_allclose(result.table["s_after"], expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(result.table["s_before"], model.scores_for_user(user).numpy(), rtol=1e-5, atol=1e-6)
    expected_rank = rankdata(-result.table["s_after"].to_numpy(), method="ordinal")
    np.testing.assert_array_equal(result.table["rank_after"], expected_rank)
    np.testing.assert_array_equal(result.table["rank_change"], result.table["rank_before"] - result.table["rank_after"])


def test_shift_is_split_over_edited_fields_by_exact_two_player_shapley(model):
    user = model.user_ids[5]
    row = model.dataset.users.loc[user].copy()
    row["cuisines"] = "Italian"
    row["smoker"] = "yes" if row["smoker"] != "yes" else "no"
    result = what_if(model, user, row)
    items = list(result.table.sort_values("delta_s", key=np.abs, ascending=False)["item_id"][:5])
    shares = explain_shift(model, result, items)
    assert set(shares.columns) == {"cuisines", "smoker"}
    # Brute-force two-player Shapley with the original user as the baseline.
    before = model.user_rows(user)[0].double().numpy()
    after = result.r_after.double().numpy()
    groups = {g.name: g.slice for g in model.users.groups}
    item_rows = model.item_rows(items).double().numpy()

    def v(on):
        r = before.copy()
        for name in on:
            r[groups[name]] = after[groups[name]]
        return np.array([_numpy_scores(model, r, item_rows[i : i + 1])[0] for i in range(len(items))])

    phi_cuisine = 0.5 * ((v(["cuisines"]) - v([])) + (v(["cuisines", "smoker"]) - v(["smoker"])))
    np.testing.assert_allclose(shares["cuisines"].to_numpy(), phi_cuisine, rtol=1e-3, atol=1e-5)
    delta = result.table.set_index("item_id").loc[items, "delta_s"].to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1).to_numpy(), delta, rtol=1e-4, atol=1e-5)


def test_ranks_and_reason_text():
    np.testing.assert_array_equal(ranks_of(np.array([0.1, 0.5, 0.1, -1.0])), [2, 1, 3, 4])
    assert (
        shift_reason(pd.Series({"cuisines": -0.31, "budget": 0.05, "smoker": 0.001}))
        == "cuisines \u22120.31, budget +0.05"
    )
    assert shift_reason(pd.Series({"smoker": 0.0})) == "no edited field moves this item"
    # the threshold follows the item's own scale: a ΔS of 0.0014 is explained, not called "nothing"
    assert shift_reason(pd.Series({"cuisines": 0.0014, "budget": -0.00001})) == "cuisines +0.0014"
    assert shift_reason(pd.Series({"cuisines": 0.0014, "budget": -0.0003})) == "cuisines +0.0014, budget \u22120.0003"


def test_every_item_that_moved_is_explained_by_an_edited_field(model):
    """The issue's case: items move by ~1e-3 while S is ~0.04; each moved item's reason names a field."""
    user = model.user_ids[4]
    row = model.dataset.users.loc[user].copy()
    row["smoker"] = "true" if str(row["smoker"]).lower() != "true" else "false"
    result = what_if(model, user, row)
    moved = result.table[result.table["rank_change"] != 0]
    assert len(moved), "the edit should move some item"
    shares = explain_shift(model, result, list(moved["item_id"]))
    for item, delta in zip(moved["item_id"], moved["delta_s"]):
        reason = shift_reason(shares.loc[item])
        assert reason.startswith("smoker "), (item, delta, reason)
        assert reason != "no edited field moves this item"


def test_what_if_leaves_out_seen_items_like_top_k(model):
    user = model.user_ids[3]
    row = model.dataset.users.loc[user].copy()
    result = what_if(model, user, row, exclude_seen=True)
    seen = {model.item_ids[i] for i in model.seen_items(user)}
    assert seen and not seen & set(result.table["item_id"])
    assert len(result.table) == len(model.item_ids) - len(seen)
    top = model.top_k(user, k=10, exclude_seen=True)
    by_rank = result.table.sort_values("rank_before").head(10)
    assert list(by_rank["item_id"]) == list(top["item_id"])
    assert list(by_rank["rank_before"]) == list(range(1, 11))


def test_catalog_scores_match_model_scores(model):
    user = model.user_ids[2]
    np.testing.assert_allclose(
        catalog_scores(model, model.user_rows(user)[0]), model.scores_for_user(user).numpy(), rtol=1e-5, atol=1e-6
    )

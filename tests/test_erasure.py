"""Top-k erasure in the report card's attention row and in attnrec.quality, against numpy written here."""

import numpy as np
import pandas as pd
import pytest
import torch

from attnrec.explain.report import report_card
from attnrec.explain.target import AttendScore, dimension_target


def _np_s(x, y, wu, wv, tau=1.0):
    """S of the document's model for rows of x, y (numpy, float64)."""
    p = x * y
    total = np.zeros(len(x))
    for h in range(wu.shape[0]):
        lu, lv = p @ wu[h].T / tau, p @ wv[h].T / tau
        au = np.exp(lu - lu.max(1, keepdims=True))
        au /= au.sum(1, keepdims=True)
        av = np.exp(lv - lv.max(1, keepdims=True))
        av /= av.sum(1, keepdims=True)
        total += (au * y * av * x).sum(1)
    return total


def _erase(x, y, order, k):
    keep = np.ones_like(x)
    np.put_along_axis(keep, order[:, :k], 0.0, axis=1)
    return x * keep, y * keep


def test_attention_row_reports_top_k_erasure_against_the_reference_and_random():
    rng = np.random.default_rng(0)
    d, heads, batch, k = 6, 2, 8, 3
    wu, wv = 2 * rng.normal(size=(heads, d, d)), 2 * rng.normal(size=(heads, d, d))
    x, y = rng.normal(size=(batch, d)), rng.normal(size=(batch, d))
    score = AttendScore(torch.tensor(wu), torch.tensor(wv))
    target = dimension_target(score, torch.tensor(x), torch.tensor(y))
    card = report_card(target, methods=["attention"], infidelity_samples=0, sensitivity_samples=0)
    row = card.summary.set_index("method").loc["attention"]
    # Independent: attention importance = mean over heads of (A_U + A_V) / 2; the reference is exact Shapley.
    trace = score.trace(torch.tensor(x), torch.tensor(y))
    attention = ((trace.a_u + trace.a_v) / 2).mean(dim=1).detach().numpy()
    phi = np.abs(card.attributions["shapley_exact"].groups)
    s = _np_s(x, y, wu, wv)
    by_attention = np.abs(s - _np_s(*_erase(x, y, np.argsort(-attention, axis=1, kind="stable"), k), wu, wv))
    by_reference = np.abs(s - _np_s(*_erase(x, y, np.argsort(-phi, axis=1, kind="stable"), k), wu, wv))
    by_product = np.abs(s - _np_s(*_erase(x, y, np.argsort(-np.abs(x * y), axis=1, kind="stable"), k), wu, wv))
    assert row["erase_tested_ratio"] == pytest.approx(by_attention.mean() / by_reference.mean(), rel=1e-6)
    assert row["erase_uniform_ratio"] == pytest.approx(by_product.mean() / by_reference.mean(), rel=1e-6)
    assert 0 < row["erase_random_ratio"] < 2
    # Attention weights are not shares of S: no completeness sentence, an erasure sentence instead.
    assert "misses the score change" not in row["reason"] and "erasing its top 3" in row["reason"]
    assert np.isnan(row["relative_gap"])


def test_quality_erases_whole_taste_blocks_and_never_the_null_slot():
    from attnrec.data.types import Dataset
    from attnrec.quality import attention_quality
    from attnrec.training import TrainConfig, train

    rng = np.random.default_rng(1)
    users = pd.DataFrame({"x": rng.normal(size=20)}, index=[f"u{i}" for i in range(20)])
    items = pd.DataFrame({"kind": rng.choice(["a", "b", "c"], 15)}, index=[f"i{i}" for i in range(15)])
    inter = pd.DataFrame(
        {
            "user_id": [f"u{rng.integers(20)}" for _ in range(150)],
            "item_id": [f"i{rng.integers(15)}" for _ in range(150)],
            "label": 1,
        }
    ).drop_duplicates()
    data = Dataset("toy", users, items, inter, schema={"item_features": {"kind": {"kind": "categorical"}}})
    model = train(
        data,
        TrainConfig(
            mode="aligned",
            user_profile="history",
            latent_dims=4,
            taste_block=True,
            null_slot=True,
            presence_mask=True,
            loss="bpr",
            epochs=2,
            device="cpu",
        ),
        progress=False,
    )
    pairs = inter.head(10)
    quality = attention_quality(model, pairs["user_id"].tolist(), pairs["item_id"].tolist(), k=1)
    units = model.attention_units()
    assert len(units) == 3 + 1 + 1 and units[3] == [3, 4, 5, 6]  # 3 named, the taste block, null
    assert quality.attention.shape == (10, 4)  # the null slot is never a candidate
    with torch.no_grad():
        x = model.encode_user(model.user_rows(pairs["user_id"].tolist()))
        y = model.encode_item(model.item_rows(pairs["item_id"].tolist()))
        trace = model.attention(x, y)
        member = np.zeros((model.d, len(units)))
        for j, unit in enumerate(units):
            member[unit, j] = 1
        contribution = np.abs(trace.contributions.sum(1).double().numpy() @ member)[:, :4]
        top = contribution.argmax(1)
        keep = torch.ones_like(x)
        for b, unit in enumerate(top):
            keep[b, units[unit]] = 0  # the whole block goes at once
        expected = np.abs(trace.s.double().numpy() - model.attention(x * keep, y * keep).s.double().numpy())
    np.testing.assert_allclose(quality.erased["contribution"], expected, rtol=1e-6, atol=1e-9)
    # Entropy over units sums the block's weights first: bounded by log(#units) normalisation.
    assert ((quality.entropy >= -1e-9) & (quality.entropy <= 1 + 1e-9)).all()

"""Report card verdicts, deletion/insertion curves, metric helpers, attention agreement."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from attnrec.explain import Attribution, explain
from attnrec.explain.agreement import (
    agreement_summary,
    agreement_verdict,
    attention_agreement,
    attention_dimension_importance,
)
from attnrec.explain.metrics import (
    RESOLUTION,
    deletion_insertion,
    kendall_tau_rows,
    snap_noise,
    spearman_rows,
    top_k_overlap,
)
from attnrec.explain.report import report_card, verdict
from test_explain_toys import dim_target, field_target


def test_rank_helpers_match_scipy_and_hand_counts():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    np.testing.assert_allclose(kendall_tau_rows(a, b), [kendalltau(x, y).statistic for x, y in zip(a, b)])
    np.testing.assert_allclose(spearman_rows(a, b), [spearmanr(x, y).statistic for x, y in zip(a, b)])
    assert np.isnan(kendall_tau_rows(np.ones((1, 3)), a[:1, :3]))[0]
    # |·| top-2 of row 1: {3, 0}; of row 2: {0, 2} → overlap 1 of 2.
    assert top_k_overlap(np.array([[-5.0, 0.1, 1, 9]]), np.array([[8.0, 0, 7, 1]]), 2).tolist() == [0.5]


def test_snap_noise_turns_rounding_noise_back_into_exact_ties():
    s, s0 = np.array([0.01, 1.0]), np.array([0.0, 0.5])
    tol = RESOLUTION * np.array([0.01, 1.0])  # scale = max(|S|, |S(baseline)|, max |value|) per pair
    values = np.array(
        [
            [1e-19, -1e-9, 1e-3, 1e-3 + 5e-11, 2e-3, -2e-3, 5e-4, 0.0],
            [0.3, 0.3 - tol[1] / 2, 0.3 - tol[1], 0.2, -0.3, 2 * tol[1], 0.0, 0.1],
        ]
    )
    snapped = snap_noise(values, s, s0)
    # Pair 0: noise around 0 is 0, the tie split by 5e-11 is whole again (its smaller value), the rest untouched.
    np.testing.assert_array_equal(snapped[0], [0, 0, 1e-3, 1e-3, 2e-3, -2e-3, 5e-4, 0])
    # Pair 1: a chain of steps ≤ tol is one value; a value 2·tol from 0 is kept.
    np.testing.assert_array_equal(snapped[1], [0.3 - tol[1]] * 3 + [0.2, -0.3, 2 * tol[1], 0.0, 0.1])
    rng = np.random.default_rng(0)
    spread = rng.normal(size=(20, 9))
    np.testing.assert_array_equal(snap_noise(spread, np.ones(20), np.zeros(20)), spread)
    assert np.isnan(snap_noise(np.array([[1.0, np.nan]]), 1.0, 0.0)[0, 1])


def test_report_card_ranks_do_not_depend_on_which_way_rounding_splits_a_tie():
    """The same attributions with a tie exact or split by rounding either way (as float32 sums do with other
    thread counts or batch layouts): every ranking number of the card is the same."""
    target = field_target(batch=4)
    ig = explain(target, "ig")
    reference = explain(target, "shapley_exact").groups
    tied = ig.groups.copy()
    # Tie the two groups the reference ranks 2nd and 3rd per pair, at the 2nd's value.
    second, third = np.argsort(-reference, axis=1)[:, 1], np.argsort(-reference, axis=1)[:, 2]
    rows = np.arange(4)
    tied[rows, third] = tied[rows, second]
    noise = 1e-9 * np.abs(tied[rows, second])
    variants = {}
    for name, shift in (("exact", 0.0), ("up", 1.0), ("down", -1.0)):
        groups = tied.copy()
        groups[rows, third] += shift * noise
        variants[name] = Attribution.from_groups(target, name, groups)
    card = report_card(target, methods=(), extra=variants, sensitivity_samples=0, infidelity_samples=0)
    per_pair = card.per_pair.set_index(["method", "pair"])
    ranking = ["kendall_tau", "top_k_overlap", "deletion_auc", "insertion_auc"]
    for name in ("up", "down"):
        np.testing.assert_array_equal(per_pair.loc[name, ranking].to_numpy(), per_pair.loc["exact", ranking].to_numpy())
    assert len(set(card.verdicts()[n] for n in variants)) == 1
    # Ranked raw, the split ties give three different τ: what the card used to show.
    raw = {name: kendall_tau_rows(a.groups, reference) for name, a in variants.items()}
    assert not np.array_equal(raw["up"], raw["down"])


def test_deletion_insertion_curves_end_at_score_and_baseline():
    target = field_target(batch=6)
    exact = explain(target, "shapley_exact")
    curves = deletion_insertion(target, exact.groups)
    np.testing.assert_allclose(curves["insertion_curve"][:, [0, -1]], [[0, 1]] * 6, atol=1e-4)
    np.testing.assert_allclose(curves["deletion_curve"][:, [0, -1]], [[1, 0]] * 6, atol=1e-4)
    rng = np.random.default_rng(1)
    random = deletion_insertion(target, rng.normal(size=exact.groups.shape))
    # Exact Shapley's order beats a random order on average.
    assert np.nanmean(curves["ins_minus_del"]) > np.nanmean(random["ins_minus_del"])


def test_report_card_flags_random_attributions_and_trusts_complete_methods():
    target = dim_target(batch=24, d=6)
    rng = np.random.default_rng(0)
    broken = Attribution.from_columns(target, "random", rng.normal(size=(24, 6)), rng.normal(size=(24, 6)))
    card = report_card(
        target,
        methods=("ig", "shapley_sampling", "deeplift", "attention"),
        extra={"random": broken},
        sensitivity_samples=2,
        infidelity_samples=8,
    )
    verdicts = card.verdicts()
    assert card.reference == "shapley_exact"
    assert verdicts["random"] == "unfaithful"
    assert verdicts["ig"] == "faithful" and verdicts["shapley_exact"] == "faithful"
    assert verdicts["deeplift"] != "faithful"  # it does not add up for S's products
    assert set(card.per_pair["method"]) == {
        "shapley_exact",
        "ig",
        "shapley_sampling",
        "deeplift",
        "attention",
        "random",
    }
    summary = card.summary.set_index("method")
    assert summary.loc["random", "infidelity"] > summary.loc["ig", "infidelity"]
    assert summary.loc["ig", "ins_minus_del"] > summary.loc["random", "ins_minus_del"]
    assert np.isnan(summary.loc["random", "sensitivity"]) and np.isfinite(summary.loc["ig", "sensitivity"])
    assert "misses the score change" in summary.loc["random", "reason"]
    assert set(card.curves["ig"]) == {"deletion", "insertion"}


def test_report_card_for_one_pair_and_above_sixteen_groups():
    one = report_card(field_target(batch=1), methods=("ig",), sensitivity_samples=0, infidelity_samples=4)
    assert len(one.per_pair) == 2 and one.verdicts()["ig"] in ("faithful", "approximate")
    assert one.summary.set_index("method").loc["ig", "relative_gap"] < 1e-3
    many = report_card(
        dim_target(batch=2, d=9, grouping="separate"), methods=("ig",), sensitivity_samples=0, infidelity_samples=0
    )
    assert many.reference == "shapley_sampling" and many.verdicts()["shapley_sampling"] == "approximate"


@pytest.mark.parametrize(
    "args, word",
    [
        ((0.9, 0.9, 0.01), "faithful"),
        ((0.9, 0.9, 0.5), "approximate"),
        ((0.6, 0.6, 0.0), "approximate"),
        ((0.2, 0.9, 0.0), "unfaithful"),
        ((np.nan, 0.0, 1.0), "unfaithful"),
    ],
)
def test_verdict_thresholds(args, word):
    assert verdict(*args, k=3)[0] == word


def test_attention_agreement_uses_the_trace_and_reads_in_plain_words():
    target = dim_target(batch=30, d=5)
    trace = target.trace()
    weights = attention_dimension_importance(target, "weights")
    np.testing.assert_allclose(weights, ((trace.a_u + trace.a_v) / 2).mean(dim=1).numpy(), rtol=1e-6)
    contribution = attention_dimension_importance(target, "contribution")
    np.testing.assert_allclose(contribution, trace.contributions.sum(dim=1).abs().numpy(), rtol=1e-6)
    atts = {k: explain(target, k) for k in ("ig", "shapley_exact")}
    per_pair = attention_agreement(target, atts, "contribution")
    assert len(per_pair) == 60
    ig = atts["ig"]
    expected = kendalltau(contribution[0], np.abs(ig.user[0] + ig.item[0])).statistic
    assert per_pair.iloc[0]["kendall_tau"] == pytest.approx(expected)
    summary = agreement_summary(per_pair)
    assert list(summary["method"]) == ["ig", "shapley_exact"]
    assert agreement_verdict([0.9, 0.8, 0.7]).startswith("agree")
    assert agreement_verdict([0.1, -0.1, 0.0]).startswith("disagree")
    assert agreement_verdict([-0.8, -0.9]).startswith("contradict")
    with pytest.raises(ValueError, match="dimension-level"):
        attention_agreement(field_target(batch=2), {"ig": explain(field_target(batch=2), "ig")})

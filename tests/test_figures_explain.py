import numpy as np
import pandas as pd

from attnrec.figures import style
from attnrec.figures.explain import (
    WARNING_COLOR,
    attribution_bars,
    attribution_heatmap,
    deletion_insertion_curves,
    entropy_histograms,
    mean_attention_heatmap,
    rank_agreement_matrix,
    score_shift_bars,
    style_report_card,
)
from attnrec.health import head_verdicts


def test_attribution_bars_keep_top_by_magnitude_and_colour_by_sign():
    values = pd.Series({"a": 0.1, "b": -0.7, "c": 0.3, "d": 0.0, "e": -0.2})
    fig = attribution_bars(values, max_features=3)
    bar = fig.data[0]
    assert list(bar.y) == ["e", "c", "b"]  # drawn bottom-up: largest |value| on top
    np.testing.assert_allclose(bar.x, [-0.2, 0.3, -0.7])
    assert list(bar.marker.color) == [style.NEGATIVE_COLOR, style.POSITIVE_COLOR, style.NEGATIVE_COLOR]
    assert "top 3 of 5" in fig.layout.title.text


def test_attribution_heatmap_scales_each_method_by_its_own_max_and_centres_on_zero():
    frame = pd.DataFrame({"IG": [0.5, -1.0, 0.25], "Saliency": [20.0, 10.0, 40.0]}, index=["x", "y", "z"])
    fig = attribution_heatmap(frame)
    heat = fig.data[0]
    assert heat.zmid == 0 and heat.zmin == -1 and heat.zmax == 1
    rows = list(heat.y)
    z = pd.DataFrame(heat.z, index=rows, columns=list(heat.x))
    expected = frame / frame.abs().max()
    pd.testing.assert_frame_equal(z.loc[expected.index], expected, check_names=False)
    assert heat.text[rows.index("y")][0] == "-1"


def test_rank_agreement_matrix_is_centred_and_labelled():
    tau = pd.DataFrame([[1.0, -0.3], [-0.3, 1.0]], index=["IG", "Attention"], columns=["IG", "Attention"])
    heat = rank_agreement_matrix(tau).data[0]
    assert (heat.zmin, heat.zmax, heat.zmid) == (-1, 1, 0)
    np.testing.assert_allclose(np.array(heat.z), tau.to_numpy())
    assert heat.text[0][1] == "-0.30"


def test_deletion_insertion_curves_one_line_per_method_per_panel():
    fractions = np.linspace(0, 1, 5)
    curves = pd.concat(
        [
            pd.DataFrame(
                {"method": m, "fraction": fractions, "deletion": 1 - fractions * k, "insertion": fractions * k}
            )
            for m, k in (("IG", 1.0), ("Attention", 0.5))
        ]
    )
    fig = deletion_insertion_curves(curves)
    assert len(fig.data) == 4
    names = [(t.name, t.xaxis) for t in fig.data]
    assert names == [("IG", "x"), ("IG", "x2"), ("Attention", "x"), ("Attention", "x2")]
    np.testing.assert_allclose(fig.data[3].y, fractions * 0.5)
    assert [t.showlegend for t in fig.data] == [True, False, True, False]


def test_entropy_histograms_count_pairs_per_bin_and_flag_heads():
    rng = np.random.default_rng(0)
    e = np.column_stack([rng.uniform(0.4, 0.9, 300), np.full(300, 0.02)])
    verdicts = head_verdicts(e)
    fig = entropy_histograms(e, verdicts, side="item", bins=10)
    counts, _ = np.histogram(e[:, 0], bins=np.linspace(0, 1, 11))
    np.testing.assert_array_equal(fig.data[0].y, counts)
    assert fig.data[0].marker.color == style.ITEM_COLOR
    assert fig.data[1].marker.color == WARNING_COLOR
    assert "collapsed" in fig.layout.annotations[1].text


def test_mean_attention_heatmap_is_sequential_in_the_side_hue():
    mean = np.array([[0.1, 0.9], [0.5, 0.5]])
    heat = mean_attention_heatmap(mean, ["cuisine", "price"], side="user").data[0]
    np.testing.assert_allclose(np.array(heat.z), mean)
    assert heat.zmin == 0 and np.isclose(heat.zmax, 0.9)
    assert list(heat.y) == ["head 1", "head 2"]
    assert heat.colorscale[0][1] != heat.colorscale[-1][1]  # a real scale was resolved


def test_score_shift_bars_show_delta_and_ranks():
    moves = pd.DataFrame({"item_id": ["i1", "i2"], "delta_s": [0.4, -0.1], "rank_before": [5, 1], "rank_after": [1, 3]})
    bar = score_shift_bars(moves).data[0]
    assert list(bar.y) == ["i2", "i1"]
    np.testing.assert_allclose(bar.x, [-0.1, 0.4])
    np.testing.assert_array_equal(np.array(bar.customdata), [[1, 3], [5, 1]])


def test_report_card_styler_marks_the_best_per_column():
    card = pd.DataFrame(
        {"kendall_tau": [0.9, 0.2], "completeness_gap": [-0.5, 0.01], "note": ["a", "b"]}, index=["IG", "Attention"]
    )
    html = style_report_card(card).to_html()
    ctx = style_report_card(card)._compute().ctx
    # column 0 (τ, higher better): row 0 wins; column 1 (|gap|, lower better): row 1 wins
    assert ("font-weight", "bold") in ctx[(0, 0)]
    assert ("font-weight", "bold") in ctx[(1, 1)]
    assert not ctx.get((1, 0)) and not ctx.get((0, 1))
    assert "0.900" in html

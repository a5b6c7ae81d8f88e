"""Pair figures, checked on their JSON: the numbers drawn are the numbers given, signs and colours hold."""

import json

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
import torch

from attnrec.attention import attend
from attnrec.figures.pair import (
    difference_heatmap,
    paired_contributions,
    readable_heatmap,
    score_difference_waterfall,
    shorten,
    side_attribution_bars,
)
from attnrec.figures.style import ITEM_COLOR, USER_COLOR
from plotly_json import decode_array


def _decode(node):
    """Plotly 7 writes numeric arrays as {"dtype", "bdata", "shape"}; turn them back into lists."""
    if isinstance(node, dict):
        if set(node) >= {"dtype", "bdata"}:
            return decode_array(node).tolist()
        return {k: _decode(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_decode(v) for v in node]
    return node


def as_json(fig):
    return _decode(json.loads(pio.to_json(fig)))


def two_pairs(d=5, heads=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(d, generator=g, dtype=torch.float64)
    y1, y2 = (torch.randn(d, generator=g, dtype=torch.float64) for _ in range(2))
    w_u, w_v = (torch.randn(heads, d, d, generator=g, dtype=torch.float64) for _ in range(2))
    return attend(x, y1, w_u, w_v), attend(x, y2, w_u, w_v)


def test_attribution_bars_sorted_by_magnitude_and_coloured_by_side():
    table = pd.DataFrame(
        {
            "label": ["cuisine = Mexican", "budget = low", "price = $$", "parking = none"],
            "side": ["user", "user", "item", "item"],
            "attribution": [0.1, -0.7, 0.4, -0.05],
        }
    )
    fig = as_json(side_attribution_bars(table, "IG"))
    by_side = {t["name"]: t for t in fig["data"]}
    assert by_side["user"]["marker"]["color"] == USER_COLOR
    assert by_side["item"]["marker"]["color"] == ITEM_COLOR
    assert by_side["user"]["x"] == [-0.7, 0.1] and by_side["item"]["x"] == [0.4, -0.05]
    # Largest |attribution| at the top: the category array is bottom-to-top.
    assert fig["layout"]["yaxis"]["categoryarray"] == [
        "item · parking = none",
        "user · cuisine = Mexican",
        "item · price = $$",
        "user · budget = low",
    ]


def test_attribution_bars_escape_markup_in_labels():
    table = pd.DataFrame({"label": ["cuisine = <b>Thai</b>"], "side": ["item"], "attribution": [0.3]})
    fig = as_json(side_attribution_bars(table, "IG"))
    assert fig["data"][0]["y"] == ["item · cuisine = &lt;b&gt;Thai&lt;/b&gt;"]
    assert fig["data"][0]["customdata"] == ["cuisine = &lt;b&gt;Thai&lt;/b&gt;"]


def test_attribution_bars_keeps_the_top_and_says_so():
    table = pd.DataFrame(
        {"label": [f"f{i}" for i in range(30)], "side": ["user"] * 30, "attribution": np.linspace(-1, 2, 30)}
    )
    fig = as_json(side_attribution_bars(table, "IG", max_bars=5))
    assert len(fig["data"][0]["x"]) == 5
    assert max(abs(v) for v in fig["data"][0]["x"]) == 2.0
    assert "top 5 of 30" in fig["layout"]["title"]["text"]


def test_attribution_bars_share_a_value_axis_when_asked():
    table = pd.DataFrame({"label": ["a"], "side": ["user"], "attribution": [0.2]})
    assert as_json(side_attribution_bars(table, "A", x_range=(-1.0, 1.0)))["layout"]["xaxis"]["range"] == [-1.0, 1.0]
    assert "range" not in as_json(side_attribution_bars(table, "A"))["layout"]["xaxis"]


def test_attribution_bars_reject_nan():
    with pytest.raises(ValueError, match="NaN"):
        side_attribution_bars(pd.DataFrame({"label": ["a"], "side": ["user"], "attribution": [np.nan]}), "t")


def test_difference_heatmap_is_first_minus_second_centred_on_zero():
    first, second = two_pairs()
    names = [f"d{i}" for i in range(5)]
    fig = as_json(difference_heatmap(first.a_u[0], second.a_u[0], names, "ΔA_U"))
    heat = fig["data"][0]
    expected = (first.a_u[0] - second.a_u[0]).numpy()
    np.testing.assert_allclose(np.array(heat["z"]), expected, atol=1e-12)
    assert heat["zmid"] == 0 and heat["zmin"] == -heat["zmax"]
    assert heat["zmax"] == pytest.approx(np.abs(expected).max())
    assert heat["x"] == names and heat["y"] == ["head 1", "head 2"]


def test_difference_heatmap_checks_shapes_and_names():
    with pytest.raises(ValueError, match="same shape"):
        difference_heatmap(np.zeros((2, 3)), np.zeros((2, 4)), ["a", "b", "c"], "t")
    with pytest.raises(ValueError, match="names for"):
        difference_heatmap(np.zeros((2, 3)), np.zeros((2, 3)), ["a"], "t")


def test_paired_contributions_sum_heads_per_dimension():
    first, second = two_pairs(seed=3)
    names = list("abcde")
    fig = as_json(
        paired_contributions(first.contributions[0], second.contributions[0], names, ("item 1", "item 2"), "item", "C")
    )
    c1 = first.contributions[0].numpy()
    np.testing.assert_allclose(fig["data"][0]["y"], c1[0] + c1[1], atol=1e-12)
    np.testing.assert_allclose(sum(fig["data"][1]["y"]), float(second.s[0]), atol=1e-12)
    assert fig["data"][0]["marker"]["color"] == ITEM_COLOR


def test_waterfall_walks_from_second_score_to_first_score_exactly():
    first, second = two_pairs(d=6, seed=7)
    names = [f"dim {i}" for i in range(6)]
    fig = as_json(score_difference_waterfall(first.contributions[0], second.contributions[0], names, ("A", "B"), "ΔS"))
    wf = fig["data"][0]
    assert wf["measure"][0] == "absolute" and wf["measure"][-1] == "total"
    assert wf["y"][0] == pytest.approx(float(second.s[0]), abs=1e-12)
    assert wf["y"][-1] == pytest.approx(float(first.s[0]), abs=1e-12)
    # Independent reference: per-dimension difference of Σ_h Z_U·Z_V, written out with numpy.
    zu1, zv1 = first.z_u[0].numpy(), first.z_v[0].numpy()
    zu2, zv2 = second.z_u[0].numpy(), second.z_v[0].numpy()
    delta = (zu1 * zv1).sum(0) - (zu2 * zv2).sum(0)
    steps = dict(zip(wf["x"][1:-1], wf["y"][1:-1]))
    for i, name in enumerate(names):
        assert steps[name] == pytest.approx(delta[i], abs=1e-12)
    assert wf["y"][0] + sum(wf["y"][1:-1]) == pytest.approx(wf["y"][-1], abs=1e-12)
    assert "residual" in fig["layout"]["annotations"][0]["text"]


def test_waterfall_pools_small_steps_without_losing_the_total():
    first, second = two_pairs(d=12, seed=11)
    names = [f"dim {i}" for i in range(12)]
    fig = as_json(
        score_difference_waterfall(
            first.contributions[0], second.contributions[0], names, ("A", "B"), "ΔS", max_steps=4
        )
    )
    wf = fig["data"][0]
    assert len(wf["x"]) == 1 + 4 + 1 + 1 and wf["x"][-2] == "other 8 dims"
    assert wf["y"][0] + sum(wf["y"][1:-1]) == pytest.approx(wf["y"][-1], abs=1e-12)


def test_readable_heatmap_drops_cell_text_only_when_wide_and_keeps_a_minimum_height():
    from attnrec.figures import attention_heatmap

    narrow = readable_heatmap(attention_heatmap(np.full((2, 5), 0.2), None))
    wide = readable_heatmap(attention_heatmap(np.full((8, 20), 0.05), None))
    assert narrow.data[0].texttemplate == "%{z:.3g}" and wide.data[0].texttemplate is None
    np.testing.assert_allclose(np.asarray(wide.data[0].z), 0.05)
    assert narrow.layout.height == 250  # a short figure is raised to the minimum
    plain = attention_heatmap(np.full((8, 20), 0.05), [f"a long dimension name {i}" for i in range(20)])
    slanted = readable_heatmap(
        attention_heatmap(np.full((8, 20), 0.05), [f"a long dimension name {i}" for i in range(20)])
    )
    assert slanted.layout.height >= plain.layout.height + 0.5 * 11 * 24  # room for 24-character slanted names


def test_shorten():
    assert shorten("abc", 5) == "abc"
    assert shorten("abcdefgh", 5) == "abcd…"

"""The figure functions put exactly the given numbers on screen, with clickable cells and sides coloured."""

import json

import numpy as np
import pytest

from attnrec.figures import attention_heatmap, contribution_waterfall, signed_heatmap, style, unique_names, z_bars


def _traces(fig, kind):
    return [t for t in fig.data if t.type == kind]


def test_heatmap_shows_the_weights_and_one_clickable_marker_per_cell():
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(5), size=3)
    names = ["price", "cuisine", "parking", "smoking", "alcohol"]
    fig = attention_heatmap(weights, names, "A_U", side="user")
    (heat,) = _traces(fig, "heatmap")
    np.testing.assert_array_equal(np.asarray(heat.z), weights)
    assert list(heat.x) == names and list(heat.y) == ["head 1", "head 2", "head 3"]
    assert heat.zmin == 0 and heat.zmax == pytest.approx(max(weights.max(), 4 / 5))
    (cells,) = _traces(fig, "scatter")
    assert cells.marker.opacity == 0 and cells.marker.symbol == "square"
    custom = np.asarray(cells.customdata)
    assert custom.shape == (15, 2)
    # Each marker sits on the cell its customdata names, and every cell has exactly one marker.
    for (h, i), x, y, text in zip(custom, cells.x, cells.y, cells.text):
        assert x == names[i] and y == f"head {h + 1}"
        assert float(text) == pytest.approx(weights[h, i], rel=1e-5)
    assert {tuple(c) for c in custom} == {(h, i) for h in range(3) for i in range(5)}


@pytest.mark.parametrize("build", ["attention", "signed"])
def test_without_click_markers_the_heatmap_hovers_the_same_text_itself(build):
    """For a chart that reports heatmap clicks itself (attnrec.app.plotly_view): no markers, and the heatmap's own
    hover shows, cell by cell, what the markers' hover shows."""
    rng = np.random.default_rng(1)
    values = rng.dirichlet(np.ones(4), size=2) if build == "attention" else rng.normal(size=(2, 4))
    names = ["a", "b", "c", "d"]
    make = attention_heatmap if build == "attention" else signed_heatmap
    with_markers, plain = make(values, names, heads=[0, 3]), make(values, names, heads=[0, 3], click_markers=False)
    (cells,) = _traces(with_markers, "scatter")
    assert _traces(plain, "scatter") == [] and len(plain.data) == 1
    heat = plain.data[0]
    assert heat.hoverinfo is None and heat.hovertemplate == cells.hovertemplate
    assert np.asarray(heat.text).ravel().tolist() == list(cells.text)
    assert [float(t) for t in np.asarray(heat.text).ravel()] == pytest.approx(values.ravel(), rel=1e-5)
    np.testing.assert_array_equal(np.asarray(heat.z), values)
    # Everything else is the same figure.
    assert plain.layout.clickmode is None and with_markers.layout.clickmode == "event+select"
    assert plain.layout.update(clickmode="event+select") == with_markers.layout
    plain_json, marked_json = (json.loads(fig.to_json())["data"][0] for fig in (plain, with_markers))
    assert {k: v for k, v in plain_json.items() if k not in ("text", "hovertemplate")} == {
        k: v for k, v in marked_json.items() if k != "hoverinfo"
    }


def test_sides_use_their_own_hue_and_shared_range():
    weights = np.array([0.2, 0.3, 0.5])
    user = attention_heatmap(weights, None, "A_U", side="user", zmax=0.9)
    item = attention_heatmap(weights, None, "A_V", side="item", zmax=0.9)
    user_scale = [c for _, c in _traces(user, "heatmap")[0].colorscale]
    item_scale = [c for _, c in _traces(item, "heatmap")[0].colorscale]
    assert user_scale != item_scale
    # shared, and never under min(1, 4/d): with d = 3 the range runs to 1
    assert _traces(user, "heatmap")[0].zmax == 1.0 == _traces(item, "heatmap")[0].zmax
    with pytest.raises(ValueError, match="side"):
        attention_heatmap(weights, None, "A", side="both")


def _colour_at(heat, value):
    """The colour plotly draws for `value`: the scale stop at value's fraction of [zmin, zmax] (stops only)."""
    fraction = (value - heat.zmin) / (heat.zmax - heat.zmin)
    stops = [(float(p), c) for p, c in heat.colorscale]
    return min(stops, key=lambda s: abs(s[0] - fraction))


def test_uniform_attention_is_white_and_the_uniform_level_is_marked():
    d = 8
    flat = np.full((2, d), 1 / d)
    peaked = np.array([[0.65] + [0.05] * 7, [0.01] * 7 + [0.93]])
    for weights in (flat, peaked):
        heat = _traces(attention_heatmap(weights, None, "A_U", side="user"), "heatmap")[0]
        position, colour = _colour_at(heat, 1 / d)
        assert position == pytest.approx((1 / d) / heat.zmax) and colour == "#ffffff"
        assert list(heat.colorbar.tickvals) == pytest.approx([0, 1 / d, heat.zmax])
        assert heat.colorbar.ticktext[1] == "uniform 0.125"
    # a flat head does not fill the colour range: 1/d sits at most a quarter of the way up
    flat_heat = _traces(attention_heatmap(flat, None, "A_U"), "heatmap")[0]
    assert (1 / d) / flat_heat.zmax <= 0.25 + 1e-9
    # below uniform is grey, the top is the side's darkest colour
    assert flat_heat.colorscale[0][1] == "#bdbdbd"
    assert flat_heat.colorscale[-1][1] == "rgb(8,48,107)"  # plotly's Blues, darkest
    # only some columns shown: the caller says what uniform is
    part = _traces(attention_heatmap(peaked[:, :3], None, "A", uniform=1 / d), "heatmap")[0]
    assert part.colorbar.tickvals[1] == pytest.approx(1 / d)


def test_signed_heatmap_is_centred_on_zero():
    values = np.array([[-3.0, 1.0, 2.0]])
    (heat,) = _traces(signed_heatmap(values, ["a", "b", "c"], "logits"), "heatmap")
    assert heat.zmid == 0 and heat.zmin == -3 and heat.zmax == 3


def test_many_dimensions_get_smaller_rotated_labels_and_no_cell_text():
    weights = np.full((8, 40), 1 / 40)
    fig = attention_heatmap(weights, [f"feature number {i}" for i in range(40)], "A", side="item")
    assert fig.layout.xaxis.tickangle == -45
    assert fig.layout.xaxis.tickfont.size < style.FONT_SIZE
    assert _traces(fig, "heatmap")[0].texttemplate is None  # 320 cells: numbers would overlap
    assert len(_traces(fig, "scatter")[0].x) == 320


def test_repeated_names_stay_distinct_columns():
    assert unique_names(["a", "b", "a", "a"], 4) == ["a", "b", "a (2)", "a (3)"]
    assert unique_names(None, 2) == ["dim 1", "dim 2"]
    with pytest.raises(ValueError, match="3 dimension names for 2"):
        unique_names(["a", "b", "c"], 2)


def test_z_bars_one_row_per_head_with_side_colours():
    rng = np.random.default_rng(1)
    z_u, z_v = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    fig = z_bars(z_u, z_v, ["w", "x", "y", "z"])
    bars = _traces(fig, "bar")
    assert len(bars) == 4
    by_name = {}
    for bar in bars:
        by_name.setdefault(bar.name, []).append(np.asarray(bar.y))
        assert bar.marker.color == (style.USER_COLOR if bar.name == "Z_U" else style.ITEM_COLOR)
    np.testing.assert_array_equal(np.stack(by_name["Z_U"]), z_u)
    np.testing.assert_array_equal(np.stack(by_name["Z_V"]), z_v)
    with pytest.raises(ValueError, match="same shape"):
        z_bars(z_u, z_v[:, :3])


def test_waterfall_steps_are_the_contributions_and_end_exactly_at_s():
    contributions = np.array([[0.1, -0.25, 0.05]])
    s = 0.123  # e.g. a model whose S carries something beyond the listed terms
    (fall,) = _traces(contribution_waterfall(contributions, ["a", "b", "c"], s), "waterfall")
    assert list(fall.x) == ["a", "b", "c", "residual S − Σ", "S"]
    assert list(fall.measure) == ["relative"] * 4 + ["total"]
    np.testing.assert_allclose(fall.y[:3], contributions[0])
    assert fall.y[3] == pytest.approx(s - (0.1 - 0.25 + 0.05), abs=1e-15)
    assert sum(fall.y[:4]) == pytest.approx(s, abs=1e-15)
    assert fall.y[4] == s and fall.text[-1] == "0.123"


def test_waterfall_lumps_small_terms_but_still_ends_at_s():
    rng = np.random.default_rng(2)
    contributions = rng.normal(size=(4, 40))
    s = float(contributions.sum())
    (fall,) = _traces(contribution_waterfall(contributions, None, s, max_steps=12), "waterfall")
    assert len(fall.x) == 12 + 2  # 11 largest, "other", residual, S
    largest = np.sort(np.abs(contributions).ravel())[-11:]
    np.testing.assert_allclose(np.sort(np.abs(fall.y[:11])), largest)
    assert fall.x[11] == "other 149 terms" and fall.x[0].startswith("h")
    assert sum(fall.y[:13]) == pytest.approx(s, abs=1e-12)
    assert abs(fall.y[12]) < 1e-12  # nothing beyond the listed terms here


@pytest.mark.parametrize("bad", [np.zeros((2, 2, 2)), np.zeros((2, 0))])
def test_bad_shapes_raise(bad):
    with pytest.raises(ValueError, match="shape"):
        attention_heatmap(bad)


def test_contribution_heatmap_holds_every_term_and_they_add_up_to_s():
    import torch

    from attnrec.attention import attend
    from attnrec.figures import contribution_heatmap

    rng = np.random.default_rng(4)
    x, y, w = rng.normal(size=5), rng.normal(size=5), rng.normal(size=(3, 5, 5))
    trace = attend(torch.tensor(x), torch.tensor(y), torch.tensor(w))
    fig = contribution_heatmap(trace.contributions[0].numpy(), list("abcde"), float(trace.s))
    z = np.asarray(fig.data[0].z, dtype=float)
    # Independent: A_U·A_V·X·Y per head from a numpy softmax.
    logits = np.einsum("hij,j->hi", w, x * y)
    a = np.exp(logits - logits.max(1, keepdims=True))
    a /= a.sum(1, keepdims=True)
    np.testing.assert_allclose(z, a * a * x * y, atol=1e-12)
    assert z.sum() == pytest.approx(float(trace.s), abs=1e-12)
    assert fig.data[0].zmid == 0 and "add up to S" in fig.layout.title.text


def test_dimensions_that_matter_rank_by_contribution_then_attention_and_skip_the_null_slot():
    from attnrec.figures import dimensions_that_matter

    contributions = np.array([[0.0, 0.5, -0.9, 0.0, 0.0, 0.0]])
    a = np.array([[0.0, 0.2, 0.3, 0.4, 0.0, 0.1]])
    assert dimensions_that_matter(contributions, a, a, k=3, skip=[5]) == [2, 1, 3]
    # Unattended, zero-term columns come last, in order of |X·Y| (what uniform attention would weigh).
    product = np.array([0.1, 0.0, 0.0, 0.0, 0.7, 0.0])
    assert dimensions_that_matter(contributions, a, a, k=10, product=product) == [2, 1, 3, 5, 4, 0]


def test_entropy_bars_show_both_sides_per_head_with_the_uniform_line():
    from attnrec.figures import entropy_bars

    fig = entropy_bars(np.array([[0.1, 0.2], [0.9, 1.0]]))
    assert [t.name for t in fig.data] == ["A_U", "A_V"]
    np.testing.assert_allclose(fig.data[0].y, [0.1, 0.9])
    assert fig.layout.shapes[0].y0 == 1.0

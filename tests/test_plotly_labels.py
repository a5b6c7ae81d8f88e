"""Plotly reads a small HTML subset in every label (<a href>, <b>, <i>, <br>, <sub>, <sup>, <span>, <em>, <s>).

Names, ids and category values from data reach axis categories, titles, hover text, legends and subplot
titles; every figure function passes them through `safety.plotly_text`, so the figure JSON holds no tag made
from data (Plotly shows "&lt;" as "<"), while the figures' own markup (<br> in hover templates and wrapped
labels) still works. The HTML report carries no live link to a payload either.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from attnrec.figures import (
    attention_heatmap,
    contribution_heatmap,
    contribution_waterfall,
    entropy_bars,
    signed_heatmap,
    z_bars,
)
from attnrec.figures.explain import (
    agreement_histograms,
    attribution_bars,
    attribution_boxes,
    attribution_heatmap,
    deletion_insertion_curves,
    entropy_histograms,
    mean_attention_heatmap,
    rank_agreement_matrix,
    sanity_lines,
    score_shift_bars,
)
from attnrec.figures.pair import (
    difference_heatmap,
    paired_contributions,
    score_difference_waterfall,
    shorten,
    side_attribution_bars,
)
from attnrec.health import head_verdicts
from attnrec.safety import plotly_text

LINK = '<a href="http://evil.example/x">click</a>'
BOLD = "<b>bold</b>"
NAMES = [LINK, BOLD, "plain", "x & y"]
# A tag Plotly would render, made from the payloads (its own <br> and <extra> are not in this list).
LIVE_TAG = re.compile(r"<\s*/?\s*(a|b|i|em|s|sub|sup|span)(\s|>|/|$)", re.IGNORECASE)


def strings(value):
    """Every string in a figure's JSON (keys left out)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)
    elif isinstance(value, np.ndarray) and value.dtype == object:
        yield from strings(value.tolist())


ESCAPED = (plotly_text(LINK),)


def assert_no_data_tags(fig: go.Figure, escaped=ESCAPED) -> list[str]:
    texts = list(strings(fig.to_plotly_json()))
    live = [t for t in texts if LIVE_TAG.search(t)]
    assert not live, f"tags from data left in the figure: {live[:3]}"
    assert not any(
        "evil.example" in t and "<" in t.replace("<br>", "").replace("<extra>", "").replace("</extra>", "")
        for t in texts
    )
    for form in escaped:  # the payload is still shown, as text
        assert any(form in t for t in texts), f"{form!r} not in the figure"
    return texts


def heads_by_dims(seed=0, heads=2):
    rng = np.random.default_rng(seed)
    weights = rng.random((heads, len(NAMES)))
    return weights / weights.sum(axis=1, keepdims=True)


# ---- attention.py ------------------------------------------------------------------------------------


def test_attention_figures_escape_dimension_names_and_titles():
    a = heads_by_dims()
    texts = assert_no_data_tags(attention_heatmap(a, NAMES, title=f"A_U for {LINK}"))
    assert plotly_text(f"A_U for {LINK}") in texts
    assert any("<br>" in t for t in texts)  # the hover template's own markup is kept
    assert_no_data_tags(signed_heatmap(a - 0.25, NAMES, title=BOLD), escaped=(plotly_text(LINK), "&lt;b&gt;"))
    assert_no_data_tags(z_bars(a, a[::-1], NAMES, title=LINK))
    assert_no_data_tags(contribution_waterfall(a - 0.25, NAMES, s=0.3))
    assert_no_data_tags(contribution_heatmap(a - 0.25, NAMES, s=0.3))
    assert_no_data_tags(entropy_bars(np.array([[0.3, 0.9], [0.5, 0.1]]), title=LINK))


def test_escaped_names_stay_apart_and_plain_names_are_unchanged():
    a = heads_by_dims()
    heat = attention_heatmap(a, [LINK, LINK, "plain", "a&lt;b"]).data[0]
    assert list(heat.x) == [plotly_text(LINK), plotly_text(f"{LINK} (2)"), "plain", "a&amp;lt;b"]
    assert list(attention_heatmap(a, ["w", "x", "y", "z"]).data[0].x) == ["w", "x", "y", "z"]


# ---- pair.py -------------------------------------------------------------------------------------------


def test_pair_figures_escape_labels_ids_and_titles():
    table = pd.DataFrame(
        {
            "side": ["user", "item", "item"],
            "field": ["f", "g", "h"],
            "label": [LINK, BOLD, 'say "hi"'],
            "attribution": [0.5, -0.2, 0.1],
        }
    )
    texts = assert_no_data_tags(side_attribution_bars(table, title=f"IG for {LINK}"))
    assert 'say "hi"' in texts and not any("&quot;" in t for t in texts)  # Plotly has no &quot; entity
    first, second = heads_by_dims(0), heads_by_dims(1)
    assert_no_data_tags(difference_heatmap(first, second, NAMES, LINK, labels=(LINK, BOLD)))
    assert_no_data_tags(paired_contributions(first, second, NAMES, (LINK, BOLD), "item", LINK))
    assert_no_data_tags(
        score_difference_waterfall(first - 0.25, second - 0.25, NAMES, (LINK, BOLD), LINK), escaped=("&lt;a href",)
    )


def test_shorten_never_cuts_an_entity():
    assert shorten("&lt;&lt;&lt;", 5) == "&lt;…"
    assert shorten("ab&lt;cd", 5) == "ab…"
    assert shorten("abcdefgh", 5) == "abcd…"


# ---- explain.py ----------------------------------------------------------------------------------------


def test_explain_figures_escape_feature_group_method_and_item_names():
    assert_no_data_tags(attribution_bars(pd.Series({LINK: 0.4, BOLD: -0.3, "plain": 0.1}), title=LINK))
    frame = pd.DataFrame({LINK: [0.5, -1.0], "Integrated gradients (exact)": [0.2, 0.1]}, index=[LINK, BOLD])
    texts = assert_no_data_tags(attribution_heatmap(frame))
    assert "Integrated<br>gradients<br>(exact)" in texts  # its own label wrapping still works
    tau = pd.DataFrame([[1.0, 0.2], [0.2, 1.0]], index=[LINK, BOLD], columns=[LINK, BOLD])
    assert_no_data_tags(rank_agreement_matrix(tau, title=LINK))
    curves = pd.DataFrame(
        {"method": [LINK] * 3, "fraction": [0, 0.5, 1], "deletion": [1, 0.4, 0], "insertion": [0, 0.6, 1]}
    )
    assert_no_data_tags(deletion_insertion_curves(curves))
    per_pair = pd.DataFrame({"method": [LINK, LINK, BOLD], "kendall_tau": [0.1, 0.3, -0.2]})
    assert_no_data_tags(agreement_histograms(per_pair))
    sanity = pd.DataFrame({"stage": [BOLD, LINK], "name": [LINK, LINK], "spearman_median": [0.5, 0.2]})
    assert_no_data_tags(sanity_lines(sanity))
    boxes = pd.DataFrame({"group": [LINK, LINK, BOLD], "attribution": [0.1, 0.2, -0.1]})
    assert_no_data_tags(attribution_boxes(boxes, title=LINK))
    entropy = np.random.default_rng(0).random((20, 2))
    assert_no_data_tags(entropy_histograms(entropy, head_verdicts(entropy), title=LINK))
    assert_no_data_tags(mean_attention_heatmap(heads_by_dims(), NAMES))
    moves = pd.DataFrame({"item_id": [LINK, BOLD], "delta_s": [0.2, -0.1], "rank_before": [3, 1], "rank_after": [1, 2]})
    assert_no_data_tags(score_shift_bars(moves))


# ---- the HTML report -----------------------------------------------------------------------------------

# A live link in the report: an <a> tag with the payload's address, written by the page (<) or inside
# Plotly's figure JSON (\u003c), which plotly.js would turn into an SVG link.
LIVE_LINK = re.compile(r"(<|\\u003c)\s*a\s[^\n]{0,40}?evil\.example", re.IGNORECASE)


@pytest.fixture(scope="module")
def explanation():
    from attnrec.pair_explanation import explain_pair
    from tests.test_report import make_model

    model = make_model()
    return explain_pair(model, "u0", "i0", "ig", {"n_steps": 8}, context={"dataset": LINK, "model": BOLD})


def test_report_has_no_live_link_to_a_payload(explanation):
    from attnrec.exports import comparison_html, to_html

    contributions = explanation.pair.trace.contributions[0].numpy()
    table = explanation.table.assign(label=[LINK] * len(explanation.table))
    # One figure from the figure functions, one built by hand with the raw payload everywhere.
    raw = go.Figure(go.Bar(x=[LINK, BOLD], y=[1, 2], name=LINK, hovertemplate=LINK + "<br>%{y}<extra></extra>"))
    raw.update_layout(title=LINK, xaxis_title=LINK)
    figures = {
        f"Contributions {LINK}": contribution_waterfall(
            contributions, [LINK] * contributions.shape[1], explanation.pair.s
        ),
        "Attributions": side_attribution_bars(table, LINK),
        "by hand": raw,
    }
    for html in (
        to_html(explanation, figures, title=LINK),
        comparison_html(explanation, explanation, figures, labels=(LINK, BOLD), title=LINK),
    ):
        # The numbers' JSON block at the end is data (type application/json), never rendered.
        body = html.split("</head>", 1)[1].split("<script type='application/json'", 1)[0]
        assert not LIVE_LINK.search(body), LIVE_LINK.search(body).group()
        assert "evil.example" in body and "&lt;a href" in body  # shown, as text
        assert "\\u003cbr\\u003e" in body  # the figures' own <br> markup is kept

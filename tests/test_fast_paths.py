"""The fast and lazy paths give the numbers the eager ones give.

- catalog scoring without the max-shift (while each chunk's softmax sums stay in range) equals `attend`, and
  large logits (in any chunk, overflowing or underflowing) take the shifted path and stay finite;
- typed vectors rank against the catalog in chunks: the same rank as scoring the whole catalog with `attend`;
- Explore computes the trace first and the attributions only on request: every figure built from the light
  explanation is the JSON of the one built from the full explanation, and the download is the eager one;
- Captum is imported on first use only, and the registry's classes are Captum's own.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from attnrec.attention import SAFE_LOGIT, attend, attention_scores
from attnrec.exports import to_json_dict
from attnrec.figures import attention_heatmap, contribution_heatmap, contribution_waterfall, entropy_bars, z_bars
from attnrec.health import attention_entropy
from attnrec.pair_explanation import explain_pair, vector_trace
from test_report import make_model

ROOT = Path(__file__).resolve().parents[1]


def _laid_out(items, layout):
    """The catalog as given (row-major) or item-last (a (d, N) tensor seen through .T, as Recommender keeps it)."""
    return items if layout == "row-major" else items.t().contiguous().t()


LAYOUTS = pytest.mark.parametrize("layout", ["row-major", "item-last"])


def _case(n=3000, d=8, heads=3, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, items = torch.randn(d, generator=g), torch.randn(n, d, generator=g)
    w_u = scale * torch.randn(heads, d, d, generator=g) / d**0.5
    w_v = scale * torch.randn(heads, d, d, generator=g) / d**0.5
    return x, items, w_u, w_v


@pytest.mark.parametrize("tied", [True, False])
@LAYOUTS
def test_unshifted_catalog_scores_equal_attend(tied, layout):
    x, items, w_u, w_v = _case()
    w_v = None if tied else w_v
    reference = attend(x.unsqueeze(0).double(), items.double(), w_u.double(), None if tied else w_v.double()).s
    stacked = w_u if tied else torch.cat([w_u, w_v])
    bound = float(items.norm(dim=1).max() * (stacked * x).reshape(-1, 8).T.norm(dim=0).max())
    assert bound <= SAFE_LOGIT - np.log(8)  # this case takes the unshifted path
    fast = attention_scores(x, _laid_out(items, layout), w_u, w_v, chunk_size=257)
    torch.testing.assert_close(fast.double(), reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("tied", [True, False])
@LAYOUTS
def test_large_logits_take_the_shifted_path_and_stay_exact(tied, layout):
    x, items, w_u, w_v = _case(scale=40.0)
    w_v = None if tied else w_v
    fast = attention_scores(x, _laid_out(items, layout), w_u, w_v, chunk_size=1000)
    reference = attend(x.unsqueeze(0).double(), items.double(), w_u.double(), None if tied else w_v.double()).s
    assert torch.isfinite(fast).all()
    torch.testing.assert_close(fast.double(), reference, rtol=1e-4, atol=1e-3)


def _reference(x, items, w_u, w_v, temperature=1.0):
    w_v = None if w_v is None else w_v.double()
    return attend(x.unsqueeze(0).double(), items.double(), w_u.double(), w_v, temperature).s


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("large_rows", [slice(1000, 1100), slice(0, 50), slice(2990, 3000)])
@LAYOUTS
def test_a_chunk_whose_sums_leave_the_safe_range_is_scored_again_with_the_shift(tied, layout, large_rows):
    # Items of one stretch scaled up: their logits reach hundreds (e^ℓ overflows, or a head's every logit is so
    # negative that its sum underflows), the rest stay small. The chunk with them (first, middle or the short last
    # one) is detected and scored again with the shift; every chunk after it takes the shift too.
    x, items, w_u, w_v = _case()
    items[large_rows] *= 60.0
    w_v = None if tied else w_v
    fast = attention_scores(x, _laid_out(items, layout), w_u, w_v, temperature=0.8, chunk_size=257)
    assert torch.isfinite(fast).all()
    torch.testing.assert_close(fast.double(), _reference(x, items, w_u, w_v, 0.8), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("tied", [True, False])
@LAYOUTS
def test_underflowing_sums_take_the_shifted_path(tied, layout):
    # Every logit of every head far below zero (≈ −100): e^ℓ underflows to 0 in float32 without the shift.
    g = torch.Generator().manual_seed(3)
    d = 8
    x, items = torch.ones(d), torch.rand(500, d, generator=g) + 1.0
    w_u = -8.0 + 0.3 * torch.randn(2, d, d, generator=g)
    w_v = None if tied else -8.0 + 0.3 * torch.randn(2, d, d, generator=g)
    fast = attention_scores(x, _laid_out(items, layout), w_u, w_v, chunk_size=100)
    assert torch.isfinite(fast).all()
    torch.testing.assert_close(fast.double(), _reference(x, items, w_u, w_v), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("scale", [1.0, 40.0])
@LAYOUTS
def test_without_per_chunk_checks_the_bound_decides_the_shift(tied, layout, scale, monkeypatch):
    # Off CPU (no sync per chunk) one Cauchy–Schwarz bound on all logits decides; forced here on CPU.
    import attnrec.attention as attention

    monkeypatch.setattr(attention, "_check_each_chunk", lambda device: False)
    x, items, w_u, w_v = _case(scale=scale)
    w_v = None if tied else w_v
    fast = attention_scores(x, _laid_out(items, layout), w_u, w_v, chunk_size=1000)
    assert torch.isfinite(fast).all()
    torch.testing.assert_close(fast.double(), _reference(x, items, w_u, w_v), rtol=1e-4, atol=1e-4)


def test_typed_vectors_rank_like_the_whole_catalog_scored_at_once():
    model = make_model(d=4)
    x = torch.tensor([0.5, -1.0, 2.0, 0.25])
    y = torch.tensor([1.0, 0.5, -0.5, 2.0])
    pair = vector_trace(model, x, y)
    with torch.no_grad():
        catalog = model.attention(x.expand(len(model.item_ids), -1), model.encode_item(model.item_matrix)).s
    assert pair.rank == int((catalog > pair.s).sum()) + 1
    torch.testing.assert_close(model.scores_for_vector(x), catalog, rtol=1e-5, atol=1e-6)


def _figures(ex, names):
    t = ex.pair.trace
    a_u, a_v = t.a_u[0].numpy(), t.a_v[0].numpy()
    return {
        "contributions": contribution_heatmap(t.contributions[0].numpy(), names, ex.pair.s),
        "A_U": attention_heatmap(a_u, names, "A_U", side="user"),
        "A_V": attention_heatmap(a_v, names, "A_V", side="item"),
        "entropy": entropy_bars(np.stack([attention_entropy(a_u[None])[0], attention_entropy(a_v[None])[0]], 1)),
        "Z": z_bars(t.z_u[0].numpy(), t.z_v[0].numpy(), names),
        "waterfall": contribution_waterfall(t.contributions[0].numpy(), names, ex.pair.s),
    }


def test_explore_light_explanation_draws_the_figures_of_the_full_one():
    model = make_model()
    names = list(model.dimension_names)
    user, item = model.user_ids[2], model.item_ids[5]
    light = explain_pair(model, user, item, "")  # what Explore computes on a row click
    full = explain_pair(model, user, item, "ig", {"n_steps": 50})  # what it computed before, eagerly
    assert light.attribution is None and full.attribution is not None
    assert light.pair.s == full.pair.s and light.pair.rank == full.pair.rank and light.residual == full.residual
    lazy, eager = _figures(light, names), _figures(full, names)
    for name in eager:
        assert lazy[name].to_json() == eager[name].to_json(), name
    # The download asks for the attributed explanation when pressed: the eager one's numbers.
    again = explain_pair(model, user, item, "ig", {"n_steps": 50})
    assert json.dumps(to_json_dict(again), sort_keys=True) == json.dumps(to_json_dict(full), sort_keys=True)


def test_captum_is_imported_on_first_use_and_the_registry_names_its_classes():
    code = (
        "import sys; import attnrec.explain, attnrec.pair_explanation, attnrec.exports, attnrec.app.sidebar; "
        "print('captum' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
    import captum.attr

    from attnrec.explain import METHODS

    for spec in METHODS.values():
        if spec.captum_name:
            assert spec.captum_class is getattr(captum.attr, spec.captum_name)
        else:
            assert spec.captum_class is None


def test_the_template_validated_once_gives_every_figure_the_json_plotly_gives(monkeypatch):
    from attnrec.figures import style

    model = make_model()
    names = list(model.dimension_names)
    ex = explain_pair(model, model.user_ids[1], model.item_ids[3], "")
    fast = {name: figure.to_json() for name, figure in _figures(ex, names).items()}
    # Each figure holds its own copy: changing one figure's template leaves the next figure's alone.
    first = _figures(ex, names)["A_U"]
    first.layout.template.layout.font.color = "red"
    assert _figures(ex, names)["A_V"].layout.template.layout.font.color != "red"
    monkeypatch.setattr(style, "_set_template", lambda fig: fig.update_layout(template=style.TEMPLATE))
    slow = {name: figure.to_json() for name, figure in _figures(ex, names).items()}
    assert fast == slow


@pytest.mark.parametrize("name", ["restaurants-aligned", "restaurants-latent", "synthetic"])
def test_every_shipped_checkpoint_has_its_quality_table(name):
    """Model health shows a shipped model's held-out table at once: its quality.json is for these very weights
    (re-shipping a checkpoint means `python -m attnrec.quality_store sample_data/models/NAME`)."""
    from attnrec import quality_store
    from attnrec.model import Recommender

    folder = ROOT / "sample_data" / "models" / name
    assert quality_store.stored(Recommender.load(folder, device="cpu"), checkpoint=folder) is not None


def test_a_shipped_quality_table_is_what_a_fresh_evaluation_computes():
    import pandas as pd

    from attnrec import quality_store
    from attnrec.model import Recommender

    folder = ROOT / "sample_data" / "models" / "restaurants-latent"
    model = Recommender.load(folder, device="cpu")
    kept = quality_store.stored(model, checkpoint=folder)
    fresh, protocol = quality_store.compute(model)
    pd.testing.assert_frame_equal(kept[0], fresh)
    assert kept[1] == quality_store._entry(fresh, protocol)["protocol"]


def test_a_model_keeps_its_fingerprint_through_saving_and_loading(tmp_path):
    """A model trained in the browser is evaluated under its fingerprint, then saved to the workspace; a restarted
    server loads it back with the same fingerprint, so Model health finds its table. Other weights do not."""
    import torch

    from attnrec import quality_store
    from attnrec.data import load_dataset
    from attnrec.model import Recommender
    from attnrec.training import TrainConfig, train

    dataset = load_dataset("restaurants")
    model = train(dataset, TrainConfig(d=4, heads=1, epochs=1, device="cpu"), progress=False)
    model.save(tmp_path / "ckpt")
    loaded = Recommender.load(tmp_path / "ckpt", device="cpu", dataset=dataset)
    assert set(loaded.config) != set(model.config)  # saving adds what the fingerprint leaves out
    assert quality_store.fingerprint(loaded) == quality_store.fingerprint(model)
    with torch.no_grad():
        loaded.w_u[0, 0] += 1e-3
    assert quality_store.fingerprint(loaded) != quality_store.fingerprint(model)


def test_a_figure_built_in_one_pass_is_the_json_of_the_update_calls():
    """`style.figure` (traces and a whole layout at once, as the heatmaps and entropy bars are built) gives the
    JSON of the step-by-step way: an empty figure, `add_trace`, `apply_layout` and `update_xaxes/yaxes`."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from attnrec.figures import style

    weights = np.array([[0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    fig = attention_heatmap(weights, ["a", "<b>b</b>", "c"], "A_U: where", uniform=1 / 3)
    reference = go.Figure()
    for trace in fig.data:
        reference.add_trace(trace)
    style.apply_layout(reference, "A_U: where", fig.layout.height)
    reference.update_xaxes(type="category", tickangle=0, tickfont={"size": style.FONT_SIZE}, showgrid=False)
    reference.update_yaxes(type="category", autorange="reversed", showgrid=False)
    reference.update_layout(clickmode="event+select")
    assert json.loads(pio.to_json(fig)) == json.loads(pio.to_json(reference))

    values = np.array([[0.2, 0.9], [0.5, 0.4]])
    bars = entropy_bars(values)
    reference = go.Figure(data=list(bars.data))
    style.apply_layout(reference, bars.layout.title.text, 230)
    reference.add_hline(
        y=1.0, line_dash="dot", line_color="#888", annotation_text="uniform", annotation_position="top left"
    )
    reference.update_yaxes(range=[0, 1.15], title_text="entropy / log d")
    reference.update_layout(
        barmode="group", legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1}
    )
    assert json.loads(pio.to_json(bars)) == json.loads(pio.to_json(reference))


@pytest.mark.parametrize("n_items, chunk_size", [(1000, 2048), (2100, 2048), (52, 2048), (3000, 1000)])
@pytest.mark.parametrize("tied", [True, False])
@LAYOUTS
def test_identical_items_score_identically_wherever_they_sit(n_items, chunk_size, tied, layout):
    """Ranks count ties (evaluation, Model comparison): copies of one item must get the very same score from the
    catalog fast path, in the middle of a chunk or in its last columns, as `attend` gives them."""
    torch.manual_seed(0)
    d, heads = 32, 4
    x = torch.randn(d)
    items = torch.randn(n_items, d)
    copies = list(range(0, n_items, 7)) + [n_items - 1]
    items[copies] = items[0].clone()
    w_u, w_v = torch.randn(heads, d, d) * 0.1, torch.randn(heads, d, d) * 0.1
    scores = attention_scores(x, _laid_out(items, layout), w_u, None if tied else w_v, chunk_size=chunk_size)
    assert _laid_out(items, layout).t().is_contiguous() == (layout == "item-last")
    assert torch.equal(scores[copies], scores[0].expand(len(copies)))
    exact = attend(x.double()[None], items[:1].double(), w_u.double(), None if tied else w_v.double())
    assert float(scores[0]) == pytest.approx(float(exact.s[0]), rel=1e-5, abs=1e-6)

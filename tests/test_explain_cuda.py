"""The trust checks on CUDA give the CPU's answers: report card, infidelity, sensitivity, sanity checks and
batch explain, run on a CUDA copy of a model and compared with the same calls on the CPU model.

Skipped where torch sees no CUDA device. Deterministic methods only are compared number for number (the
stochastic ones draw from the device's own generator, which differs from the CPU's). Tolerances: the GPU
sums float32 in another order, so scores and attributions agree to ~1e-6 of |S| (rtol 1e-4, atol 1e-6 of
these S ~ 1e-2); rankings (τ, top-k, ranks, verdicts) are equal, since ties within rounding are snapped
(metrics.snap_noise); infidelity of a near-exact method is itself rounding noise (~1e-8), so it is compared
with an absolute floor of 1e-6 of the attribution scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

from attnrec.data import Featurizer, load_dataset
from attnrec.explain import explain
from attnrec.explain.batch import explain_pairs
from attnrec.explain.metrics import infidelity_rows, sensitivity_rows
from attnrec.explain.report import report_card
from attnrec.model import Recommender
from attnrec.trust import run_report_card
from attnrec.trust_checks import run_sanity_checks
from attnrec.trust_plan import trust_target

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")

DETERMINISTIC = ("ig", "saliency", "input_x_gradient", "deeplift", "feature_ablation")
STOCHASTIC = ("gradient_shap", "noise_tunnel", "shapley_sampling")
RANKING = ["kendall_tau", "top_k_overlap"]
NUMBERS = ["max_abs_error", "completeness_gap", "deletion_auc", "insertion_auc", "sensitivity"]


@pytest.fixture(scope="module")
def dataset():
    return load_dataset("restaurants")


@pytest.fixture(scope="module")
def latent(dataset):
    torch.manual_seed(3)
    cpu = Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=6, heads=2)
    return cpu, cpu.copy_to("cuda")


@pytest.fixture(scope="module")
def aligned(dataset):
    torch.manual_seed(2)
    cpu = Recommender.from_featurizer(Featurizer.fit(dataset, "aligned"), dataset, heads=2)
    return cpu, cpu.copy_to("cuda")


def _pairs(model, n):
    pairs = model.dataset.interactions.sample(n=n, random_state=0)
    return [str(u) for u in pairs["user_id"]], [str(i) for i in pairs["item_id"]]


def _assert_cards_agree(cpu, gpu):
    assert cpu.reference == gpu.reference
    a, b = cpu.per_pair, gpu.per_pair
    assert list(a["method"]) == list(b["method"]) and list(a["pair"]) == list(b["pair"])
    for column in RANKING:
        np.testing.assert_array_equal(a[column].to_numpy(), b[column].to_numpy(), err_msg=column)
    for column in NUMBERS:
        np.testing.assert_allclose(b[column].to_numpy(), a[column].to_numpy(), rtol=1e-4, atol=1e-6, err_msg=column)
    scale = max(np.abs(attr.groups).max() for attr in cpu.attributions.values())
    np.testing.assert_allclose(b["infidelity"].to_numpy(), a["infidelity"].to_numpy(), rtol=1e-3, atol=1e-6 * scale**2)
    assert cpu.verdicts() == gpu.verdicts()
    for key, attr in cpu.attributions.items():
        np.testing.assert_allclose(gpu.attributions[key].groups, attr.groups, rtol=1e-4, atol=1e-6 * scale, err_msg=key)
        np.testing.assert_allclose(gpu.attributions[key].s, attr.s, rtol=1e-4, atol=1e-7)


def test_report_card_on_cuda_equals_the_cpu_card_at_the_dimension_level(latent):
    cpu, gpu = latent
    users, items = _pairs(cpu, 8)
    cards = {}
    for name, model in (("cpu", cpu), ("cuda", gpu)):
        target = trust_target(model, users, items, "dimensions", "zeros")
        assert target.inputs_u.device.type == name and target.baseline_u.device.type == name
        cards[name] = report_card(
            target, methods=DETERMINISTIC + ("attention",), infidelity_samples=10, sensitivity_samples=2
        )
    _assert_cards_agree(cards["cpu"], cards["cuda"])


def test_page_report_card_over_feature_families_on_cuda_equals_cpu(aligned):
    cpu, gpu = aligned
    users, items = _pairs(cpu, 4)
    cards = {
        name: run_report_card(
            trust_target(model, users, items, "fields", "zeros", "families"),
            DETERMINISTIC,
            infidelity_samples=10,
            sensitivity_samples=2,
        )
        for name, model in (("cpu", cpu), ("cuda", gpu))
    }
    assert cards["cpu"].reference == "shapley_exact"
    _assert_cards_agree(cards["cpu"], cards["cuda"])


def test_infidelity_and_sensitivity_take_cpu_attributions_for_a_cuda_target(latent):
    cpu, gpu = latent
    users, items = _pairs(cpu, 6)
    targets = {
        name: trust_target(model, users, items, "dimensions", "zeros") for name, model in (("cpu", cpu), ("cuda", gpu))
    }
    ig = explain(targets["cpu"], "ig")  # numpy arrays: what report_card hands in
    infidelity = {name: infidelity_rows(t, ig.user, ig.item, 20, seed=0) for name, t in targets.items()}
    np.testing.assert_allclose(
        infidelity["cuda"], infidelity["cpu"], rtol=1e-3, atol=1e-6 * np.abs(ig.groups).max() ** 2
    )

    def columns(t):
        a = explain(t, "ig")
        return a.user, a.item

    sensitivity = {name: sensitivity_rows(t, columns, 3, seed=0) for name, t in targets.items()}
    np.testing.assert_allclose(sensitivity["cuda"], sensitivity["cpu"], rtol=1e-3, atol=1e-6)


def test_stochastic_methods_run_on_cuda_seeded_and_leave_the_cuda_generator_alone(latent):
    _, gpu = latent
    users, items = _pairs(gpu, 4)
    target = trust_target(gpu, users, items, "dimensions", "zeros")
    before = torch.cuda.get_rng_state()
    for key in STOCHASTIC:
        first, again = explain(target, key), explain(target, key)
        np.testing.assert_array_equal(first.groups, again.groups, err_msg=key)
        assert np.isfinite(first.groups).all()
    infidelity_rows(target, first.user, first.item, 5, seed=1)
    assert torch.equal(torch.cuda.get_rng_state(), before)


def test_sanity_checks_on_cuda_equal_cpu(latent):
    cpu, gpu = latent
    users, items = _pairs(cpu, 5)
    results = {
        name: run_sanity_checks(model, users, items, "dimensions", "zeros", ["ig", "saliency", "attention"])
        for name, model in (("cpu", cpu), ("cuda", gpu))
    }
    (cpu_rows, cpu_verdicts), (gpu_rows, gpu_verdicts) = results["cpu"], results["cuda"]
    assert list(gpu_rows["stage"]) == list(cpu_rows["stage"])
    np.testing.assert_allclose(gpu_rows["spearman_median"], cpu_rows["spearman_median"], atol=1e-9)
    assert list(gpu_verdicts["flagged"]) == list(cpu_verdicts["flagged"])
    assert next(gpu.parameters()).device.type == "cuda"  # the model itself stays where it was


def test_batch_explain_on_cuda_writes_the_cpu_file(latent, tmp_path):
    cpu, gpu = latent
    users, items = _pairs(cpu, 12)
    pairs = pd.DataFrame({"user_id": users, "item_id": items})
    frames = {}
    for name, model in (("cpu", cpu), ("cuda", gpu)):
        out = explain_pairs(
            model,
            pairs,
            ["ig", "feature_ablation", "shapley_exact", "attention"],
            tmp_path / f"{name}.parquet",
            level="dimensions",
            chunk_size=5,
            progress=False,
        )
        frames[name] = pq.read_table(out).to_pandas()
    a, b = frames["cpu"], frames["cuda"]
    for column in ("pair", "user_id", "item_id", "method", "group", "rank"):
        assert list(a[column]) == list(b[column]), column
    scale = a["attribution"].abs().max()
    np.testing.assert_allclose(b["attribution"], a["attribution"], rtol=1e-4, atol=1e-6 * scale)
    np.testing.assert_allclose(b["s"], a["s"], rtol=1e-4, atol=1e-7)

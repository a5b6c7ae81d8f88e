"""The registry and the explain engine: every method, batching, completeness, hook isolation."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import attnrec.explain.engine as engine
from attnrec.explain import METHODS, explain, method, resolve_params
from attnrec.explain.target import private_copy
from test_explain_toys import ToyFieldModel, dim_target, field_target

DETERMINISTIC = [k for k, s in METHODS.items() if not s.stochastic]
WIDGETS = {"slider", "number", "select", "checkbox"}


def test_registry_entries_are_complete_and_consistent():
    assert {
        "ig",
        "saliency",
        "input_x_gradient",
        "deeplift",
        "gradient_shap",
        "feature_ablation",
        "shapley_sampling",
        "kernel_shap",
        "occlusion",
        "noise_tunnel",
        "shapley_exact",
        "attention",
    } <= set(METHODS)
    for key, spec in METHODS.items():
        assert spec.key == key and spec.name and "\n" not in spec.description
        assert (spec.captum_class is not None) == (spec.runner == "captum")
        assert spec.stochastic == any(p.name == "seed" for p in spec.params)
        for p in spec.params:
            assert p.widget in WIDGETS
            assert p.check(p.default) == p.default  # defaults lie inside their own ranges
            if p.widget in ("slider", "number"):
                assert p.min <= p.default <= p.max
        for name in spec.batch_expansion:
            assert name in spec.defaults()
    assert method("deeplift").uses_hooks and not method("ig").uses_hooks


def test_resolve_params_fills_defaults_and_rejects_bad_values():
    assert resolve_params("ig") == {"n_steps": 50, "method": "gausslegendre"}
    assert resolve_params("ig", {"n_steps": 8})["n_steps"] == 8
    with pytest.raises(ValueError, match="between 4 and 512"):
        resolve_params("ig", {"n_steps": 2})
    with pytest.raises(ValueError, match="no parameter"):
        resolve_params("ig", {"steps": 8})
    with pytest.raises(ValueError, match="one of"):
        resolve_params("ig", {"method": "simpson"})
    with pytest.raises(ValueError, match="unknown attribution method"):
        method("lime-ish")


@pytest.mark.parametrize("key", list(METHODS))
def test_every_method_runs_on_both_levels(key):
    for target in (dim_target(batch=4, d=4), field_target(batch=4)):
        if target.level not in METHODS[key].levels:
            with pytest.raises(ValueError, match="level"):
                explain(target, key)
            continue
        a = explain(target, key, {"n_samples": 20} if key == "kernel_shap" else None)
        assert a.user.shape == (4, target.n_u) and a.item.shape == (4, target.n_v)
        assert a.groups.shape == (4, len(target.groups))
        assert np.isfinite(a.groups).all()
        np.testing.assert_allclose(a.groups.sum(axis=1), a.user.sum(axis=1) + a.item.sum(axis=1), atol=1e-9)
        np.testing.assert_allclose(a.s, target.score().numpy(), rtol=1e-6)
        assert (a.convergence_delta is not None) == METHODS[key].has_convergence_delta


def test_complete_methods_close_the_gap_and_deltas_match_it():
    target = field_target(batch=16)
    for key in ("ig", "shapley_sampling", "shapley_exact"):
        a = explain(target, key)
        np.testing.assert_allclose(a.completeness_gap, 0.0, atol=2e-4)
    ig = explain(target, "ig")
    np.testing.assert_allclose(ig.convergence_delta, ig.completeness_gap, atol=1e-5)


def test_deeplift_gap_is_reported_honestly_for_the_product_model():
    target = dim_target(batch=16, d=5)
    a = explain(target, "deeplift")
    # S multiplies X and Y: DeepLift's linear rules do not add up to S − S(baseline) here.
    assert np.median(a.relative_gap) > 0.05
    np.testing.assert_allclose(a.convergence_delta, a.completeness_gap, atol=1e-5)


def test_saliency_and_ablation_match_direct_computations():
    target = field_target(batch=5)
    sal = explain(target, "saliency")
    u = target.inputs_u.clone().requires_grad_(True)
    v = target.inputs_v.clone().requires_grad_(True)
    for b in range(5):  # one pair at a time with plain autograd: the independent reference
        gu, gv = torch.autograd.grad(target.module(u[b : b + 1], v[b : b + 1]).sum(), (u, v))
        np.testing.assert_allclose(sal.user[b], gu[b].abs().numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(sal.item[b], gv[b].abs().numpy(), rtol=1e-5, atol=1e-7)
    ablation = explain(target, "feature_ablation")
    s = target.score()
    for g, group in enumerate(target.groups):
        u0, v0 = target.inputs_u.clone(), target.inputs_v.clone()
        u0[:, list(group.user_cols)] = 0.0
        v0[:, list(group.item_cols)] = 0.0
        np.testing.assert_allclose(ablation.groups[:, g], (s - target.score(u0, v0)).numpy(), atol=1e-5)


@pytest.mark.parametrize("key", DETERMINISTIC)
def test_batched_equals_pair_by_pair_and_chunking_does_not_matter(key, monkeypatch):
    target = dim_target(batch=6, d=4) if key == "attention" else field_target(batch=6)
    batched = explain(target, key)
    for b in range(6):
        single = explain(target.subset([b]), key)
        np.testing.assert_allclose(batched.groups[b], single.groups[0], rtol=1e-4, atol=1e-6)
    monkeypatch.setattr(engine, "ROWS_PER_CALL", 1)  # one pair per Captum call
    np.testing.assert_allclose(explain(target, key).groups, batched.groups, rtol=1e-5, atol=1e-6)


def test_stochastic_methods_repeat_with_their_seed():
    target = field_target(batch=4)
    for key in ("gradient_shap", "noise_tunnel", "shapley_sampling"):
        a, b = explain(target, key, {"seed": 3}), explain(target, key, {"seed": 3})
        np.testing.assert_array_equal(a.groups, b.groups)
        assert not np.allclose(a.groups, explain(target, key, {"seed": 4}).groups)


def test_attention_method_reads_the_trace():
    target = dim_target(batch=3, d=4)
    a = explain(target, "attention")
    trace = target.trace()
    np.testing.assert_allclose(a.user, trace.a_v.mean(dim=1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(a.item, trace.a_u.mean(dim=1).numpy(), rtol=1e-6)


def test_private_copy_isolates_hooks_and_shares_tensors():
    model = ToyFieldModel()
    model.catalog = {"big": list(range(10))}
    twin = private_copy(model)
    assert twin is not model and twin.enc_u is not model.enc_u
    assert twin.w_u is model.w_u and twin.catalog is model.catalog
    twin.enc_u.register_forward_hook(lambda *args: None)
    assert len(model.enc_u._forward_hooks) == 0


@pytest.mark.parametrize("key", [k for k, s in METHODS.items() if s.uses_hooks])
def test_threads_sharing_one_model_get_the_sequential_results(key):
    model = ToyFieldModel(seed=4)  # nn.Tanh modules: DeepLift hooks them
    targets = [field_target(batch=3, seed=s, model=model) for s in range(8)]
    sequential = [explain(t, key).groups for t in targets]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(targets))

    def work(i):
        try:
            start.wait()
            for _ in range(5):
                results[i] = explain(targets[i], key).groups
        except BaseException as err:  # surfaced below with the thread's failure
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(targets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, expected in enumerate(sequential):
        np.testing.assert_array_equal(results[i], expected)
    assert all(len(m._forward_hooks) == 0 and len(m._forward_pre_hooks) == 0 for m in model.modules())

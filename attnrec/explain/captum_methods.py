"""Runners: turn a registry entry + target + checked parameters into raw attributions.

Each runner returns (kind, values, convergence_delta) where kind is "columns" (values = (user (B, n_u),
item (B, n_v))) or "groups" (values = (B, G)). One generic Captum runner serves every Captum method;
what differs between methods is read from its `MethodSpec`, never from its key.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import torch

from attnrec.explain.metrics import seeded_on
from attnrec.explain.registry import METHODS, MethodSpec
from attnrec.explain.shapley import exact_shapley
from attnrec.explain.target import ExplainTarget, private_copy

__all__ = ["RUNNERS", "run_captum", "run_shapley_exact", "run_attention", "attention_importance"]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def _captum_kwargs(spec: MethodSpec, target: ExplainTarget, params: dict) -> dict:
    kwargs = {p.captum_arg: params[p.name] for p in spec.params if p.captum_arg}
    if spec.needs_baseline:
        # GradientShap draws baselines from a distribution of rows; the others want one row per pair.
        kwargs["baselines"] = (
            (target.baseline_u, target.baseline_v) if spec.baseline_distribution else target.full_baselines()
        )
    if spec.supports_feature_mask and params.get("use_groups", True):
        kwargs["feature_mask"] = target.feature_masks()
    if spec.has_convergence_delta:
        kwargs["return_convergence_delta"] = True
    if spec.window_arg:
        width = params["window"]
        kwargs["sliding_window_shapes"] = ((min(width, target.n_u),), (min(width, target.n_v),))
        kwargs["strides"] = (params["stride"],) * 2
    if spec.wraps:  # NoiseTunnel passes the rest on to the method it wraps
        kwargs["baselines"] = target.full_baselines()
    return kwargs


def _group_values(target: ExplainTarget, user: torch.Tensor, item: torch.Tensor) -> np.ndarray:
    """Captum repeats a group's value on each of its columns; read it once per group."""
    u, v = _np(user), _np(item)
    return np.stack([u[:, g.user_cols[0]] if g.user_cols else v[:, g.item_cols[0]] for g in target.groups], axis=1)


@contextmanager
def _seeded(seed: int, device: torch.device):
    """Seed torch (CPU and `device`'s CUDA generator) and numpy — GradientSHAP draws from both — and
    restore every generator afterwards."""
    numpy_state = np.random.get_state()
    with seeded_on(device, seed):
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)


def rowwise_gradients(forward_fn, inputs, target_ind=None, additional_forward_args=None):
    """Captum's `compute_gradients`, but differentiating Σ_rows S in one backward pass.

    Captum differentiates each of the B·steps outputs separately (`torch.unbind`), which costs more
    than the model itself on 500k rows. Each row's S depends only on its own inputs (no batch
    statistics: models are explained in eval mode), so ∂(Σ S)/∂input_row = ∂S_row/∂input_row.
    """
    from captum._utils.common import _run_forward  # Captum is imported when an attribution is first computed

    with torch.autograd.set_grad_enabled(True):
        outputs = _run_forward(forward_fn, inputs, target_ind, additional_forward_args)
        return torch.autograd.grad(outputs.sum(), inputs)


def _captum_class(spec: MethodSpec) -> type:
    captum_class = spec.captum_class
    if captum_class is None:
        raise ValueError(f"{spec.name} is computed by attnrec itself, not by a Captum class")
    return captum_class


def _algorithm(spec: MethodSpec, module):
    if spec.wraps:
        inner = _captum_class(METHODS[spec.wraps])(module)
        inner.gradient_func = rowwise_gradients
        return _captum_class(spec)(inner)
    algorithm = _captum_class(spec)(module)
    if hasattr(algorithm, "gradient_func") and not spec.uses_hooks:
        algorithm.gradient_func = rowwise_gradients
    return algorithm


def run_captum(spec: MethodSpec, target: ExplainTarget, params: dict):
    # Hooks go on a private copy so concurrent explanations of one shared model never meet.
    module = private_copy(target.module) if spec.uses_hooks else target.module
    algorithm = _algorithm(spec, module)
    kwargs = _captum_kwargs(spec, target, params)
    inputs = (target.inputs_u, target.inputs_v)
    with warnings.catch_warnings(), _seeded(int(params.get("seed", 0)), target.inputs_u.device):
        # Captum warns that Kernel SHAP fits one model per pair and that DeepLift found no
        # nonlinear modules (softmax is functional here); both are expected, the gap shows the cost.
        warnings.simplefilter("ignore")
        result = algorithm.attribute(inputs, **kwargs)
    delta = None
    if spec.has_convergence_delta:
        result, delta = result
        delta = _np(delta).reshape(target.batch_size, -1).mean(axis=1)
    user, item = result
    if "feature_mask" in kwargs:
        return "groups", _group_values(target, user, item), delta
    return "columns", (_np(user), _np(item)), delta


def run_shapley_exact(spec: MethodSpec, target: ExplainTarget, params: dict):
    phi, _, _ = exact_shapley(target)
    return "groups", phi, None


def attention_importance(target: ExplainTarget) -> tuple[np.ndarray, np.ndarray]:
    """Mean over heads of the attention weight on each dimension: A_V weighs X (user), A_U weighs Y."""
    trace = target.trace()
    return _np(trace.a_v.mean(dim=1)), _np(trace.a_u.mean(dim=1))


def run_attention(spec: MethodSpec, target: ExplainTarget, params: dict):
    return "columns", attention_importance(target), None


RUNNERS = {"captum": run_captum, "shapley_exact": run_shapley_exact, "attention": run_attention}

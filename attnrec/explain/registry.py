"""The one table of attribution methods: what each is, its parameters, and how to draw its widgets.

Callers (the explain engine, the report card, the Streamlit page, the CLI) read `METHODS`; none of
them branch on a method's key. Where a method applies and how to read it are capability fields:
`levels` and `max_groups` (`MethodSpec.applies(level, n_groups)`), `signed` (does the sign say which way S
moves) and `share_of_s` (are the values amounts of S that add up towards S − S(baseline), or gradients /
weights whose completeness gap and error are large by construction). A `Param` carries everything a page
needs to build a widget (kind, range, step, options, help) and everything the engine needs to pass it on (`captum_arg`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from attnrec.explain.names import MAX_GROUPS

__all__ = ["Param", "MethodSpec", "METHODS", "method", "method_name", "method_keys", "resolve_params"]


@dataclass(frozen=True)
class Param:
    """One tunable parameter. `widget`: "slider" | "number" | "select" | "checkbox"."""

    name: str
    label: str
    default: Any
    widget: str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple = ()
    help: str = ""
    # Keyword passed to Captum's `attribute`; None = the engine uses it itself (seed, grouping).
    captum_arg: str | None = None

    def check(self, value):
        """The value as the right type, or ValueError naming the parameter and its range."""
        if self.widget == "checkbox":
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} must be true or false, got {value!r}")
            return value
        if self.widget == "select":
            if value not in self.options:
                raise ValueError(f"{self.name} must be one of {list(self.options)}, got {value!r}")
            return value
        try:
            number = type(self.default)(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} must be a number, got {value!r}") from None
        if isinstance(self.default, int) and number != float(value):
            raise ValueError(f"{self.name} must be a whole number, got {value!r}")
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise ValueError(f"{self.name} must be between {self.min} and {self.max}, got {value!r}")
        return number


@dataclass(frozen=True)
class MethodSpec:
    key: str
    name: str
    captum_name: str | None  # a class of captum.attr; None: computed by attnrec itself (exact Shapley,
    # attention)
    runner: str  # "captum" | "shapley_exact" | "attention" — picks the engine
    description: str
    params: tuple[Param, ...] = ()
    supports_feature_mask: bool = False  # can attribute to groups (fields, paired dimensions)
    has_convergence_delta: bool = False  # Captum reports Σattr − (S − S(baseline)) itself
    needs_baseline: bool = True
    uses_hooks: bool = False  # registers module hooks: run on a private model copy
    stochastic: bool = False  # draws random numbers: seeded by the `seed` parameter
    completeness_expected: bool = False  # in theory Σattr = S − S(baseline) for this model
    levels: tuple[str, ...] = ("dimensions", "fields")
    wraps: str | None = None  # NoiseTunnel: the key of the method it wraps
    window_arg: bool = False  # Occlusion: needs sliding-window shapes per input
    baseline_distribution: bool = False  # GradientSHAP: baselines are rows to draw from, not per pair
    batch_expansion: tuple[str, ...] = ()  # params that multiply the rows of one forward pass
    max_groups: int | None = None  # the most groups it can take (None: any number)
    signed: bool = True  # the sign says which way a group moves S (False: magnitudes only)
    share_of_s: bool = True  # amounts of S that add up towards S − S(baseline); False: gradients
    # or weights (their completeness gap and error are large by construction)

    def applies(self, level: str, n_groups: int | None = None) -> bool:
        """Whether the method runs at `level` (and, when given, on `n_groups` groups)."""
        return level in self.levels and (n_groups is None or self.max_groups is None or n_groups <= self.max_groups)

    @property
    def captum_class(self) -> type | None:
        """The Captum class, imported on first use: Captum costs ~0.7 s to import, and a page that only shows the
        registry (method names, widgets) or the attention trace never needs it."""
        return None if self.captum_name is None else getattr(importlib.import_module("captum.attr"), self.captum_name)

    def rows_per_pair(self, params: dict) -> int:
        """How many forward rows one pair costs in a single Captum call (sizes the pair chunks)."""
        rows = 1
        for name in self.batch_expansion:
            rows *= int(params[name])
        return rows

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


_SEED = Param("seed", "Random seed", 0, "number", 0, 2**31 - 1, 1, help="Same seed, same numbers.")
_USE_GROUPS = Param(
    "use_groups",
    "Attribute to groups",
    True,
    "checkbox",
    help="Switch whole groups (fields / dimensions) on and off together.",
)
_PER_EVAL = Param(
    "perturbations_per_eval",
    "Perturbations per forward pass",
    16,
    "slider",
    1,
    256,
    1,
    help="More = faster, more memory.",
    captum_arg="perturbations_per_eval",
)
_STEPS = Param(
    "n_steps",
    "Integration steps",
    50,
    "slider",
    4,
    512,
    1,
    help="Points on the path from baseline to input.",
    captum_arg="n_steps",
)
_IG_RULE = Param(
    "method",
    "Integration rule",
    "gausslegendre",
    "select",
    options=("gausslegendre", "riemann_trapezoid", "riemann_middle", "riemann_left", "riemann_right"),
    help="Quadrature used along the path.",
    captum_arg="method",
)

METHODS: dict[str, MethodSpec] = {
    spec.key: spec
    for spec in (
        MethodSpec(
            "ig",
            "Integrated Gradients",
            "IntegratedGradients",
            "captum",
            "Averages gradients along a straight path from the baseline to the input.",
            (_STEPS, _IG_RULE),
            has_convergence_delta=True,
            completeness_expected=True,
            batch_expansion=("n_steps",),
        ),
        MethodSpec(
            "saliency",
            "Saliency",
            "Saliency",
            "captum",
            "Absolute gradient of S at the input: how sensitive S is, not how much each input adds.",
            (Param("abs", "Absolute value", True, "checkbox", help="Report |∂S/∂x|.", captum_arg="abs"),),
            needs_baseline=False,
            signed=False,
            share_of_s=False,
        ),
        MethodSpec(
            "input_x_gradient",
            "Input × Gradient",
            "InputXGradient",
            "captum",
            "Input times gradient: a first-order (linear) estimate of each input's share.",
            needs_baseline=False,
        ),
        MethodSpec(
            "deeplift",
            "DeepLift",
            "DeepLift",
            "captum",
            "Backpropagates differences from the baseline; not complete for S's products of inputs.",
            has_convergence_delta=True,
            uses_hooks=True,
        ),
        MethodSpec(
            "gradient_shap",
            "GradientSHAP",
            "GradientShap",
            "captum",
            "Expected gradients on random points between noisy inputs and the baseline.",
            (
                Param("n_samples", "Samples", 20, "slider", 1, 500, 1, captum_arg="n_samples"),
                Param("stdevs", "Input noise (std)", 0.0, "slider", 0.0, 1.0, 0.01, captum_arg="stdevs"),
                _SEED,
            ),
            has_convergence_delta=True,
            stochastic=True,
            baseline_distribution=True,
            batch_expansion=("n_samples",),
        ),
        MethodSpec(
            "feature_ablation",
            "Feature Ablation",
            "FeatureAblation",
            "captum",
            "S minus S with one feature (or group) set to its baseline; ignores interactions.",
            (_USE_GROUPS, _PER_EVAL),
            supports_feature_mask=True,
            batch_expansion=("perturbations_per_eval",),
        ),
        MethodSpec(
            "occlusion",
            "Occlusion",
            "Occlusion",
            "captum",
            "Slides a window of adjacent columns to the baseline and records the change in S.",
            (
                Param("window", "Window width (columns)", 1, "slider", 1, 16, 1),
                Param("stride", "Stride (columns)", 1, "slider", 1, 16, 1),
                _PER_EVAL,
            ),
            window_arg=True,
            batch_expansion=("perturbations_per_eval",),
        ),
        MethodSpec(
            "shapley_sampling",
            "Shapley Value Sampling",
            "ShapleyValueSampling",
            "captum",
            "Monte-Carlo Shapley values from random feature orderings.",
            (
                _USE_GROUPS,
                Param("n_samples", "Permutations", 25, "slider", 1, 500, 1, captum_arg="n_samples"),
                _PER_EVAL,
                _SEED,
            ),
            supports_feature_mask=True,
            stochastic=True,
            completeness_expected=True,
            batch_expansion=("perturbations_per_eval",),
        ),
        MethodSpec(
            "kernel_shap",
            "Kernel SHAP",
            "KernelShap",
            "captum",
            "Fits a weighted linear model on random coalitions; one fit per pair (slow).",
            (
                _USE_GROUPS,
                Param("n_samples", "Coalitions", 200, "slider", 10, 5000, 10, captum_arg="n_samples"),
                _PER_EVAL,
                _SEED,
            ),
            supports_feature_mask=True,
            stochastic=True,
            batch_expansion=("perturbations_per_eval",),
        ),
        MethodSpec(
            "noise_tunnel",
            "SmoothGrad (Noise Tunnel on IG)",
            "NoiseTunnel",
            "captum",
            "Integrated Gradients averaged over noisy copies of the input (SmoothGrad).",
            (
                Param("nt_samples", "Noisy copies", 10, "slider", 1, 100, 1, captum_arg="nt_samples"),
                Param("stdevs", "Noise (std)", 0.1, "slider", 0.0, 2.0, 0.01, captum_arg="stdevs"),
                Param("n_steps", "IG steps", 20, "slider", 4, 256, 1, captum_arg="n_steps"),
                Param(
                    "nt_type",
                    "Aggregation",
                    "smoothgrad",
                    "select",
                    options=("smoothgrad", "smoothgrad_sq", "vargrad"),
                    captum_arg="nt_type",
                ),
                _SEED,
            ),
            stochastic=True,
            wraps="ig",
            batch_expansion=("nt_samples", "n_steps"),
        ),
        MethodSpec(
            "shapley_exact",
            "Exact Shapley",
            None,
            "shapley_exact",
            f"Every coalition of groups evaluated exactly (≤ {MAX_GROUPS} groups): the reference.",
            supports_feature_mask=True,
            completeness_expected=True,
            max_groups=MAX_GROUPS,
        ),
        MethodSpec(
            "attention",
            "Attention weights",
            None,
            "attention",
            "Mean attention weight each dimension gets, read as importance — for comparison only.",
            needs_baseline=False,
            levels=("dimensions",),
            signed=False,
            share_of_s=False,
        ),
    )
}


def method(key: str) -> MethodSpec:
    try:
        return METHODS[key]
    except KeyError:
        raise ValueError(f"unknown attribution method '{key}'; choose from {', '.join(METHODS)}") from None


def method_name(key: str) -> str:
    """The method's display name; an unknown key (a column of someone's file) as it is."""
    return METHODS[key].name if key in METHODS else key


def method_keys() -> list[str]:
    return list(METHODS)


def resolve_params(key: str, params: dict | None = None) -> dict:
    """Defaults filled in, every value checked against its range; unknown names are an error."""
    spec = method(key)
    by_name = {p.name: p for p in spec.params}
    given = dict(params or {})
    unknown = set(given) - set(by_name)
    if unknown:
        raise ValueError(f"{spec.name} has no parameter(s) {sorted(unknown)}; it takes {sorted(by_name) or 'none'}")
    return {name: p.check(given.get(name, p.default)) for name, p in by_name.items()}

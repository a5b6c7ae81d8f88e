"""`explain(target, method_key, params) -> Attribution`: any registered method on B pairs at once."""

from __future__ import annotations

import time

from attnrec.explain.attribution import Attribution
from attnrec.explain.captum_methods import RUNNERS
from attnrec.explain.registry import method, resolve_params
from attnrec.explain.target import ExplainTarget

__all__ = ["explain", "ROWS_PER_CALL"]

# Floats (rows × columns) one Captum call may build, e.g. IG: pairs × steps × (n_u + n_v). 2^22 floats
# (16 MB per copy) keep the tensors cache-friendly and memory bounded; bigger calls measured no faster.
ROWS_PER_CALL = 1 << 22


def explain(target: ExplainTarget, method_key: str, params: dict | None = None) -> Attribution:
    """Attributions of every pair in `target` by one method, batched into as few calls as memory allows.

    Stochastic methods are seeded from params["seed"]; their numbers depend on that seed and on how
    the pairs are chunked (fixed by the sizes of the inputs), never on global random state.
    """
    spec = method(method_key)
    if target.level not in spec.levels:
        raise ValueError(f"{spec.name} works at the {' / '.join(spec.levels)} level, not at the {target.level} level")
    checked = resolve_params(method_key, params)
    runner = RUNNERS[spec.runner]
    width = target.n_u + target.n_v
    pairs_per_call = max(1, ROWS_PER_CALL // (spec.rows_per_pair(checked) * width))
    started = time.perf_counter()
    result = None
    for start in range(0, target.batch_size, pairs_per_call):
        part = target if pairs_per_call >= target.batch_size else target.subset(slice(start, start + pairs_per_call))
        kind, values, delta = runner(spec, part, checked)
        build = Attribution.from_groups if kind == "groups" else Attribution.from_columns
        args = (values,) if kind == "groups" else values
        chunk = build(part, method_key, *args, convergence_delta=delta, params=checked)
        result = chunk if result is None else result.concat(chunk)
    if result is None:
        raise ValueError("the target holds no pairs to explain")
    result.runtime_s = time.perf_counter() - started
    return result

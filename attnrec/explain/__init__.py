"""Explanations: attribution methods from one registry, exact Shapley, and the checks that say whether
to trust them. Everything works on an `ExplainTarget` (a scoring module + the pairs to explain);
`targets_for(model, user_rows, item_rows, level, baseline)` builds one from a Recommender.

Submodules not imported here (heavier, used by pages / CLI): report (report card), agreement
(attention vs attributions), sanity (randomization checks), batch (Parquet + CLI), metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attnrec.lazy import lazy_names

if TYPE_CHECKING:
    from attnrec.explain.attribution import Attribution
    from attnrec.explain.engine import explain
    from attnrec.explain.model_targets import targets_for
    from attnrec.explain.registry import METHODS, MethodSpec, Param, method, method_keys, resolve_params
    from attnrec.explain.shapley import MAX_GROUPS, exact_shapley
    from attnrec.explain.target import AttendScore, ExplainTarget, Group, dimension_target, groups_from_fields

# name → the module that defines it; imported on first use (PEP 562), so `attnrec.explain.registry` or
# `attnrec.explain.names` alone (a command's --help) imports no torch.
_EXPORTS = {
    "Attribution": "attnrec.explain.attribution",
    "explain": "attnrec.explain.engine",
    "targets_for": "attnrec.explain.model_targets",
    "METHODS": "attnrec.explain.registry",
    "MethodSpec": "attnrec.explain.registry",
    "Param": "attnrec.explain.registry",
    "method": "attnrec.explain.registry",
    "method_keys": "attnrec.explain.registry",
    "resolve_params": "attnrec.explain.registry",
    "MAX_GROUPS": "attnrec.explain.names",
    "exact_shapley": "attnrec.explain.shapley",
    "AttendScore": "attnrec.explain.target",
    "ExplainTarget": "attnrec.explain.target",
    "Group": "attnrec.explain.target",
    "dimension_target": "attnrec.explain.target",
    "groups_from_fields": "attnrec.explain.target",
}

__all__ = [
    "Attribution",
    "explain",
    "targets_for",
    "METHODS",
    "MethodSpec",
    "Param",
    "method",
    "method_keys",
    "resolve_params",
    "MAX_GROUPS",
    "exact_shapley",
    "AttendScore",
    "ExplainTarget",
    "Group",
    "dimension_target",
    "groups_from_fields",
]


__getattr__, __dir__ = lazy_names("attnrec.explain", _EXPORTS, globals(), __all__)

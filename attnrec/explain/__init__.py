"""Explanations: attribution methods from one registry, exact Shapley, and the checks that say whether
to trust them. Everything works on an `ExplainTarget` (a scoring module + the pairs to explain);
`targets_for(model, user_rows, item_rows, level, baseline)` builds one from a Recommender.

Submodules not imported here (heavier, used by pages / CLI): report (report card), agreement
(attention vs attributions), sanity (randomization checks), batch (Parquet + CLI), metrics.
"""

from attnrec.explain.attribution import Attribution
from attnrec.explain.engine import explain
from attnrec.explain.model_targets import targets_for
from attnrec.explain.registry import METHODS, MethodSpec, Param, method, method_keys, resolve_params
from attnrec.explain.shapley import MAX_GROUPS, exact_shapley
from attnrec.explain.target import AttendScore, ExplainTarget, Group, dimension_target, groups_from_fields

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

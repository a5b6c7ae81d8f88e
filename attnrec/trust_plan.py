"""Which groups the trust checks score and which reference they score against. Pure: no Streamlit.

Exact Shapley needs ≤ 16 groups. Above that the explain package falls back to Shapley Value Sampling as the
reference (`attnrec.explain.report.reference_for`, the one place that choice is made), which is itself an
estimate; `reference_plan` says so in plain words. Aligned models offer a coarser grouping with exact ground
truth: each feature family with the user and item side switched together ("families"), e.g. 9 groups for
the aligned restaurants instead of 18 fields or 29 dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence

from attnrec.explain import MAX_GROUPS, Group, targets_for
from attnrec.explain.report import EXACT_REFERENCE, SAMPLING_PERMUTATIONS, reference_for

if TYPE_CHECKING:
    from attnrec.explain.protocol import ExplainableModel
    from attnrec.explain.target import ExplainTarget

GROUPINGS = ("level", "families")


def families_available(model: ExplainableModel) -> bool:
    """True for aligned models whose user and item sides have the same named feature families on the same
    columns, so a family can switch on both sides at once. A hybrid's one-hot ids (different columns on each
    side) pair up as one more family, the learned taste."""
    fz = model.featurizer
    if getattr(fz, "mode", None) != "aligned":
        return False
    users, items = ([(g.name, g.start, g.stop) for g in fz.groups(side) if g.kind != "id"] for side in ("user", "item"))
    return users == items


TASTE_FAMILY = "taste (learned from ids)"


def family_groups(model: ExplainableModel) -> list[Group]:
    """One group per feature family, user and item columns together (aligned models only)."""
    if not families_available(model):
        raise ValueError("feature families pair up only in aligned models (same families on both sides)")
    fz = model.featurizer
    named = [
        Group(g.name, user_cols=tuple(range(g.start, g.stop)), item_cols=tuple(range(g.start, g.stop)))
        for g in fz.groups("user")
        if g.kind != "id"
    ]
    ids = {side: next((g for g in fz.groups(side) if g.kind == "id"), None) for side in ("user", "item")}
    if ids["user"] is not None and ids["item"] is not None:
        named.append(
            Group(
                TASTE_FAMILY,
                user_cols=tuple(range(ids["user"].start, ids["user"].stop)),
                item_cols=tuple(range(ids["item"].start, ids["item"].stop)),
            )
        )
    return named


def trust_target(
    model: ExplainableModel,
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    level: str = "fields",
    baseline: str = "zeros",
    grouping: str = "level",
) -> ExplainTarget:
    """The ExplainTarget the trust checks score: `targets_for` at `level` (fields / paired dimensions),
    regrouped into families when grouping == "families"."""
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {GROUPINGS}, got {grouping!r}")
    users, items = [str(u) for u in user_ids], [str(i) for i in item_ids]
    target = targets_for(
        model, model.user_rows(users), model.item_rows(items), level, baseline, pair_ids=list(zip(users, items))
    )
    if grouping == "families":
        target = replace(target, groups=family_groups(model))
    return target


@dataclass(frozen=True)
class ReferencePlan:
    n_groups: int
    exact: bool  # exact Shapley is the ground truth
    key: str  # attnrec.explain.report.reference_for's choice
    message: str  # what the page says about it, in plain words
    params: dict | None = None  # the reference's parameters (the sampler's permutations)


def reference_plan(
    n_groups: int, what: str = "groups", exact_elsewhere: str | None = None, level: str = "dimensions"
) -> ReferencePlan:
    """The reference `report_card(reference="auto")` will use for `n_groups`, and what to tell the reader."""
    key, params = reference_for(level, n_groups)
    if key == EXACT_REFERENCE:
        return ReferencePlan(
            n_groups,
            True,
            key,
            f"Ground truth: exact Shapley values over the {n_groups} {what} (all 2^{n_groups} "
            "coalitions evaluated). Errors below are errors against the truth.",
        )
    message = (
        f"This report card has no exact ground truth at its level: exact Shapley needs at most {MAX_GROUPS} "
        f"groups and the card scores {n_groups} {what}. (A verdict elsewhere on the page may still be exact: "
        f"it says which groups it compares over.) The card's reference is Shapley Value Sampling "
        f"({SAMPLING_PERMUTATIONS} random permutations) — itself an estimate, so each error below mixes the "
        "method's own error with the sampler's noise, and no method can score better than the reference's "
        "accuracy."
    )
    if exact_elsewhere:
        message += f" {exact_elsewhere}"
    return ReferencePlan(n_groups, False, key, message, params)


def grouping_options(model: ExplainableModel, level: str) -> dict[str, str]:
    """The groupings the card can score at `level`, as {key: label}. "families" is offered only when it
    exists (aligned models) and the level itself has more groups than exact Shapley can take."""
    n = _level_group_count(model, level)
    what = "fields (user and item separately)" if level == "fields" else "dimensions (X_i with Y_i)"
    options = {"level": f"as above: {n} {what}"}
    if n > MAX_GROUPS and families_available(model):
        families = len(model.featurizer.groups("user"))
        options["families"] = (
            f"feature families, user + item side together ({families}): exact ground truth"
            if families <= MAX_GROUPS
            else f"feature families, user + item together ({families})"
        )
    return options


def _level_group_count(model: ExplainableModel, level: str) -> int:
    fz = model.featurizer
    return len(fz.groups("user")) + len(fz.groups("item")) if level == "fields" else int(model.d)


def plan_for(model: ExplainableModel, level: str, grouping: str) -> ReferencePlan:
    """`reference_plan` for the groups the card will score, with a pointer to an exact alternative."""
    if grouping == "families":
        return reference_plan(len(model.featurizer.groups("user")), "feature families (user + item side together)")
    n = _level_group_count(model, level)
    what = "fields" if level == "fields" else "dimensions"
    hint = None
    other = "dimensions" if level == "fields" else "fields"
    if n > MAX_GROUPS:
        if families_available(model) and len(model.featurizer.groups("user")) <= MAX_GROUPS:
            hint = (
                "Exact ground truth is available over feature families (user and item side of a family "
                "switched together): choose that grouping."
            )
        elif _level_group_count(model, other) <= MAX_GROUPS:
            hint = (
                f"At the {'dimension' if other == 'dimensions' else 'raw-field'} level "
                f"({_level_group_count(model, other)} {other}) exact Shapley is available."
            )
        else:
            hint = "No grouping of this model gets under 16 groups, so no exact ground truth is shown anywhere."
    return reference_plan(n, what, hint)

"""Where a method applies and how to read it come from the registry's capability fields, never from its key."""

import ast
from pathlib import Path

import pytest

from attnrec.explain import MAX_GROUPS, METHODS
from attnrec.explain.report import EXACT_REFERENCE, SAMPLED_REFERENCE, SAMPLING_PERMUTATIONS, reference_for
from attnrec.trust import card_methods, not_shares_of_s
from attnrec.trust_plan import reference_plan

ROOT = Path(__file__).resolve().parents[1]


def test_capability_fields_say_where_each_method_applies():
    exact = METHODS["shapley_exact"]
    assert exact.max_groups == MAX_GROUPS
    assert exact.applies("fields", MAX_GROUPS) and not exact.applies("fields", MAX_GROUPS + 1)
    assert exact.applies("dimensions")  # no group count given: the level decides
    assert not METHODS["attention"].applies("fields") and METHODS["attention"].applies("dimensions", 100)
    assert {k for k, spec in METHODS.items() if not spec.share_of_s} == {"saliency", "attention"}
    assert {k for k, spec in METHODS.items() if not spec.signed} == {"saliency", "attention"}
    assert all(spec.max_groups is None for k, spec in METHODS.items() if k != "shapley_exact")


def test_the_reference_is_chosen_in_one_place():
    assert reference_for("fields", MAX_GROUPS) == (EXACT_REFERENCE, None)
    assert reference_for("fields", MAX_GROUPS + 1) == (SAMPLED_REFERENCE, {"n_samples": SAMPLING_PERMUTATIONS})
    plan = reference_plan(MAX_GROUPS + 2, "fields")
    assert not plan.exact and plan.key == SAMPLED_REFERENCE and plan.params == {"n_samples": SAMPLING_PERMUTATIONS}
    assert f"({SAMPLING_PERMUTATIONS} random permutations)" in plan.message
    assert reference_plan(3).exact and reference_plan(3).params is None


def test_card_methods_and_captions_follow_the_registry():
    chosen = ["ig", "shapley_exact", "saliency"]
    assert card_methods("fields", chosen, SAMPLED_REFERENCE, MAX_GROUPS + 1) == ["ig", "saliency"]
    assert card_methods("fields", chosen, EXACT_REFERENCE, MAX_GROUPS) == ["ig", "saliency"]
    assert card_methods("dimensions", ["ig"], EXACT_REFERENCE, 4) == ["ig", "attention"]
    caption = not_shares_of_s(["ig", "saliency", "attention"])
    assert "Saliency" in caption and "Attention weights" in caption and "Integrated Gradients" not in caption
    assert not_shares_of_s(["ig", "feature_ablation"]) == ""


@pytest.mark.parametrize(
    "path",
    [
        "attnrec/trust.py",
        "attnrec/trust_plan.py",
        "attnrec/trust_checks.py",
        "attnrec/explain/batch.py",
        "attnrec/explain/batch_reader.py",
        "app_pages/attributions.py",
        "app_pages/health.py",
    ],
)
def test_no_branch_on_the_exact_shapley_key(path):
    """The key appears only where it is defined (registry) and where the reference is named (explain/report.py)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    literals = [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value == "shapley_exact"
    ]
    assert literals == [], f"{path} names 'shapley_exact' on line(s) {literals}"

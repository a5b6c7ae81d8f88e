import numpy as np
import pandas as pd

from attnrec.reasons import (
    MINUS,
    describe_fields,
    format_reason,
    merge_sides,
    raw_columns_of_group,
    reason_line,
    reason_parts,
    split_group_name,
)


def test_split_group_name():
    assert split_group_name("user: budget") == ("user", "budget")
    assert split_group_name("item: price") == ("item", "price")
    assert split_group_name("cuisine: Mexican") == (None, "cuisine: Mexican")


def test_merge_sides_sums_the_same_field_on_both_sides():
    merged = merge_sides(["user: cuisine", "item: cuisine", "item: price"], [0.15, 0.06, -0.04])
    assert list(merged) == ["cuisine", "price"]
    assert np.isclose(merged["cuisine"]["value"], 0.21)
    assert merged["cuisine"]["sides"] == {"user", "item"}


def test_reason_line_reads_like_the_issue_example():
    names = ["user: cuisine", "user: price", "item: cuisine", "item: price", "item: parking"]
    values = [0.12, -0.01, 0.09, -0.03, 0.001]
    user_text = {"cuisine": "likes Mexican", "price": "budget low"}
    item_text = {"cuisine": "serves Mexican", "price": "price high", "parking": "parking none"}
    line = reason_line(names, values, user_text, item_text, top=2)
    assert line == (
        f"serves Mexican with this user's likes Mexican (+0.21); price high with this user's budget low ({MINUS}0.04)"
    )


def test_reason_parts_rank_by_absolute_value_and_drop_negligible():
    parts = reason_parts(["item: a", "item: b", "item: c"], [0.1, -0.5, 0.00001], {}, {"a": "a 1", "b": "b 2"}, top=3)
    assert [p.field for p in parts] == ["b", "a"]  # c is below min_abs
    assert format_reason(parts) == f"b 2 ({MINUS}0.50); a 1 (+0.10)"
    assert format_reason([]) == "no field moves the score noticeably"


def test_one_sided_and_unprefixed_groups():
    assert reason_line(["user: age"], [0.3], {"age": "age 34"}, {}) == "this user's age 34 (+0.30)"
    assert reason_line(["cuisine: Thai"], [-0.2]) == f"cuisine: Thai ({MINUS}0.20)"


def test_describe_fields_uses_raw_values_and_marks_missing():
    row = pd.Series({"budget": 20.0, "smoker": None, "cuisine": "Mexican;Thai"}, name="u7")
    text = describe_fields(row, {"budget": ["budget"], "habits": ["smoker", "cuisine"], "id": ["id"]})
    assert text == {"budget": "budget 20", "habits": "smoker unknown, cuisine Mexican;Thai", "id": "id u7"}


class _AlignedFeaturizer:
    mode = "aligned"
    dimensions = [
        {"name": "price: low", "group": "price", "user": {"column": "budget"}, "item": {"column": "price"}},
        {"name": "price: high", "group": "price", "user": {"column": "budget"}, "item": {"column": "price"}},
        {"name": "cuisine: Thai", "group": "cuisine", "user": {"column": "likes"}, "item": {"column": "serves"}},
    ]

    def groups(self, side):
        from attnrec.data.types import FieldGroup

        return [FieldGroup("price", "aligned", 0, 2), FieldGroup("cuisine", "aligned", 2, 3)]


def test_raw_columns_of_aligned_families_follow_each_side():
    f = _AlignedFeaturizer()
    assert raw_columns_of_group(f, "user") == {"price": ["budget"], "cuisine": ["likes"]}
    assert raw_columns_of_group(f, "item") == {"price": ["price"], "cuisine": ["serves"]}


# ---- with the shipped models: truthful, contrastive reasons ----------------------------------------------

import re  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

MODELS = Path(__file__).resolve().parents[1] / "sample_data" / "models"


@pytest.fixture(scope="module")
def shipped():
    from attnrec.model import Recommender

    return {
        name: Recommender.load(MODELS / name, device="cpu")
        for name in ("synthetic", "restaurants-aligned", "restaurants-latent")
    }


def test_top_ten_reasons_differ_and_follow_the_contrast_with_the_list(shipped):
    from attnrec.explain import explain
    from attnrec.explain.model_targets import default_baseline, targets_for
    from attnrec.reasons import recommendations_with_reasons

    model = shipped["synthetic"]
    user = model.user_ids[0]
    table, attribution = recommendations_with_reasons(model, user, k=10)
    assert len(set(table["reason"])) >= 8, list(table["reason"])
    # independent reference: attributions per item, minus their mean over the ten, merged over the two sides
    r_u = model.user_rows(user)[0]
    items = model.item_rows(list(table["item_id"]))
    target = targets_for(model, r_u.expand(10, -1), items, "fields", default_baseline(model))
    groups = np.asarray(explain(target, "ig").groups, dtype=float)
    names = [split_group_name(n)[1] for n in attribution.group_names]
    fields = list(dict.fromkeys(names))
    merged = np.stack([groups[:, [j for j, n in enumerate(names) if n == f]].sum(axis=1) for f in fields], axis=1)
    apart = merged - merged.mean(axis=0)
    dims = {d["group"] for d in model.featurizer.dimensions}
    for b, reason in enumerate(table["reason"]):
        top_two = [fields[j] for j in np.argsort(-np.abs(apart[b]), kind="stable")[:2]]
        clauses = reason.split("; ")
        item_columns = raw_columns_of_group(model.featurizer, "item")  # each clause opens with the item's column
        assert [c.split(" ")[0] for c in clauses] == [item_columns[f][0] for f in top_two], (reason, top_two)
        assert set(top_two) <= dims  # real feature families of this model
        for clause, field in zip(clauses, top_two):
            shown = float(re.search(r"\(([+\u2212][0-9.e-]+)\)$", clause).group(1).replace(MINUS, "-"))
            assert shown == pytest.approx(apart[b, fields.index(field)], rel=0.06, abs=1e-6)  # 2 digits


def test_reasons_never_show_an_id_as_an_attribute(shipped):
    from attnrec.reasons import TASTE, recommendations_with_reasons

    for name in ("restaurants-aligned", "restaurants-latent"):
        model = shipped[name]
        for user in ("U1077", "U1003", "U1050"):
            table, _ = recommendations_with_reasons(model, user, k=10)
            for reason in table["reason"]:
                assert not re.search(r"\bid [A-Z]?\d", reason), reason  # "id 132834" / "id U1077"
                assert "popular place" not in reason or "of 1" in reason
            if name == "restaurants-aligned":  # the named part is said next to the learned taste
                assert all(TASTE in r and "history: " in r for r in table["reason"]), list(table["reason"])


def test_side_texts_say_what_each_side_is():
    from attnrec.reasons import side_texts

    model = pytest.importorskip("attnrec.model").Recommender.load(MODELS / "restaurants-aligned", device="cpu")
    user, item = "U1077", "135032"
    r_u, r_v = model.user_rows(user)[0].numpy(), model.item_rows(item)[0].numpy()
    users, items = side_texts(model, "user", user, r_u, r_v), side_texts(model, "item", item, r_v, r_u)
    assert items["id"] == users["id"] == "learned taste (from ids)"
    assert re.fullmatch(r"popularity [01]\.\d\d of 1", items["popularity"]), items["popularity"]
    assert "popularity" not in users  # the user side of "popular place" is a constant
    # a history profile: the share of the user's training positives holding each value, from the data
    dims = [i for i, d in enumerate(model.featurizer.dimensions) if d["group"] == "price"]
    shares = {model.featurizer.dimensions[i]["name"].split(": ")[1]: r_u[i] for i in dims if r_u[i] > 0}
    for value, share in shares.items():
        if value in users["price"]:
            assert f"{share:.0%} {value}" in users["price"]
    assert users["price"].startswith("history: ")

import numpy as np
import pandas as pd

from attnrec.reasons import (MINUS, describe_fields, format_reason, merge_sides, raw_columns_of_group,
                             reason_line, reason_parts, split_group_name)


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
    assert line == (f"serves Mexican suits this user's likes Mexican (+0.21); "
                    f"price high vs this user's budget low ({MINUS}0.04)")


def test_reason_parts_rank_by_absolute_value_and_drop_negligible():
    parts = reason_parts(["item: a", "item: b", "item: c"], [0.1, -0.5, 0.00001], {}, {"a": "a 1", "b": "b 2"},
                         top=3)
    assert [p.field for p in parts] == ["b", "a"]   # c is below min_abs
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
    dimensions = [{"name": "price: low", "group": "price", "user": {"column": "budget"}, "item": {"column": "price"}},
                  {"name": "price: high", "group": "price", "user": {"column": "budget"}, "item": {"column": "price"}},
                  {"name": "cuisine: Thai", "group": "cuisine", "user": {"column": "likes"},
                   "item": {"column": "serves"}}]

    def groups(self, side):
        from attnrec.data.types import FieldGroup
        return [FieldGroup("price", "aligned", 0, 2), FieldGroup("cuisine", "aligned", 2, 3)]


def test_raw_columns_of_aligned_families_follow_each_side():
    f = _AlignedFeaturizer()
    assert raw_columns_of_group(f, "user") == {"price": ["budget"], "cuisine": ["likes"]}
    assert raw_columns_of_group(f, "item") == {"price": ["price"], "cuisine": ["serves"]}

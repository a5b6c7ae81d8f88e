"""Server-side search for large pickers: the matches, their order and paging, against a brute-force loop."""

import numpy as np
import pandas as pd
import pytest

from attnrec.search import PAGE_ROWS, SearchIndex


def brute_force(ids, names, query):
    words = query.lower().split()
    hits = [
        p
        for p, (i, n) in enumerate(zip(ids, names))
        if all(w in i.lower() or (n is not None and w in str(n).lower()) for w in words)
    ]
    if len(words) == 1:
        w = words[0]
        hits.sort(key=lambda p: 0 if ids[p].lower() == w else 1 if ids[p].lower().startswith(w) else 2)
    return hits


@pytest.fixture(scope="module")
def table():
    n = 20_000
    ids = [f"u{i + 1}" for i in range(n)]
    names = [f"Film {i % 997} {'Blue' if i % 3 else 'red'}" if i % 11 else None for i in range(n)]
    return pd.DataFrame({"title": names, "other": np.arange(n)}, index=pd.Index(ids, name="item_id"))


@pytest.mark.parametrize("query", ["u12", "U1234", "film 42 blue", "RED", "u7 film", "nothing-like-this", "5"])
def test_matches_equal_a_brute_force_loop(table, query):
    index = SearchIndex.of_table(table, "title")
    expected = brute_force(list(table.index), table["title"].tolist(), query)
    page = index.search(query, limit=len(table))
    assert page.total == len(expected)
    assert page.positions.tolist() == expected


def test_exact_id_comes_first_then_prefixes(table):
    index = SearchIndex.of_table(table, "title")
    page = index.search("u123")
    assert table.index[page.positions[0]] == "u123"
    assert all(table.index[p].startswith("u123") for p in page.positions[1:11])  # u1230..u1239 next


def test_pages_are_bounded_and_cover_all_matches(table):
    index = SearchIndex.of_table(table)
    everything = index.search("u1", limit=10**6).positions.tolist()
    seen, offset = [], 0
    while True:
        page = index.search("u1", offset=offset)
        assert len(page.positions) <= PAGE_ROWS
        seen += page.positions.tolist()
        if not page.has_more:
            break
        offset += PAGE_ROWS
    assert seen == everything and page.total == len(everything)


def test_empty_query_is_the_first_rows_and_names_are_optional(table):
    index = SearchIndex(table.index)
    page = index.search("   ", limit=7, offset=3)
    assert page.positions.tolist() == [3, 4, 5, 6, 7, 8, 9] and page.total == len(table)
    assert index.search("blue").total == 0  # no names indexed
    assert index.position_of("u20000") == 19_999 and index.position_of("u0") is None


def test_names_must_match_ids_in_length():
    with pytest.raises(ValueError, match="names"):
        SearchIndex(["a", "b"], ["x"])

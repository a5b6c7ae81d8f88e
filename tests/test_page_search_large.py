"""AppTest at catalog scale (20k items, 6k users, generated here): Explore, Recommend and Compare send one page
of server-side search matches to the browser, never the whole table, and a search finds a given id."""

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from attnrec.data import Featurizer, load_dataset
from attnrec.data.synthetic import write_large
from attnrec.model import Recommender
from attnrec.search import PAGE_ROWS, SEARCH_THRESHOLD
from row_picks import click_row, picker_rows

PAGES = Path(__file__).resolve().parents[1] / "app_pages"
USERS, ITEMS = 6_000, 20_000


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("large")
    write_large(folder, n_users=USERS, n_items=ITEMS, n_positives=2 * USERS, seed=5)
    dataset = load_dataset(folder)
    dataset.name = "large"  # the app pairs a model with its dataset by name
    torch.manual_seed(0)
    return Recommender.from_featurizer(Featurizer.fit(dataset, "latent"), dataset, d=4, heads=2)


def open_page(model, page: str, **query) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=120)
    at.session_state["user_datasets"] = {"large": model.dataset}
    at.session_state["user_models"] = {"large-latent": model}
    at.query_params["dataset"] = "large"
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_sizes_are_over_the_threshold(model):
    assert len(model.user_ids) > SEARCH_THRESHOLD and len(model.item_ids) > SEARCH_THRESHOLD


def test_explore_sends_one_page_and_search_finds_an_id(model):
    at = open_page(model, "explore.py")
    assert not at.exception
    tables = [picker_rows(at, key) for key in ("explore_user_rows", "explore_item_rows")]
    assert all(0 < len(rows) <= PAGE_ROWS for rows in tables)
    at.text_input(key="explore_item_search").set_value("i12345").run()
    items = picker_rows(at, "explore_item_rows")
    assert len(items) <= PAGE_ROWS and items.index[0] == "i12345"
    click_row(at, "explore_item_rows", "i12345")
    at.text_input(key="explore_user_search").set_value("Film").run()  # users have no names: no match
    assert any("No user matches" in c.value for c in at.caption)
    assert len(picker_rows(at, "explore_user_rows")) == 0
    at.run()
    value = at.query_params["item"]
    assert (value[-1] if isinstance(value, list) else value) == "i12345"


def test_explore_next_page_moves_the_matches(model):
    at = open_page(model, "explore.py")
    at.text_input(key="explore_user_search").set_value("u1").run()
    first = picker_rows(at, "explore_user_rows").index.tolist()
    assert first[0] == "u1" and len(first) == PAGE_ROWS
    at.button(key="explore_user_next").click().run()
    second = picker_rows(at, "explore_user_rows").index.tolist()
    assert len(second) == PAGE_ROWS and not set(first) & set(second)
    assert all(u.startswith("u1") for u in second)


def test_recommend_user_picker_is_a_bounded_search(model):
    at = open_page(model, "recommend.py")
    assert not at.exception
    picker = next(s for s in at.selectbox if s.label == "User")
    assert len(picker.options) <= PAGE_ROWS + 1
    at.text_input(key="explore_user_User_search").set_value("u4321").run()
    picker = next(s for s in at.selectbox if s.label == "User")
    assert "u4321" in picker.options and len(picker.options) <= PAGE_ROWS + 1
    picker.select("u4321").run()
    value = at.query_params["user"]
    assert (value[-1] if isinstance(value, list) else value) == "u4321"


def test_compare_pickers_search_items_by_name(model):
    at = open_page(model, "compare.py")
    assert not at.exception
    pickers = [s for s in at.selectbox if s.label in ("User", "Item A", "Item B")]
    assert len(pickers) == 3 and all(len(s.options) <= PAGE_ROWS + 1 for s in pickers)
    at.text_input(key="compare_item_b_Item B_search").set_value("Film 17777").run()
    item_b = next(s for s in at.selectbox if s.label == "Item B")
    item_b.select("i17777").run()
    value = at.query_params["item_b"]
    assert (value[-1] if isinstance(value, list) else value) == "i17777"

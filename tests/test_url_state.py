"""URL state and the shared sidebar: links reopen views, bad links warn and fall back, pages share choices."""

import gc
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from attnrec import number_entry
from attnrec.app import sidebar
from attnrec.search import matching_rows
from test_report import make_model

ROOT = Path(__file__).resolve().parents[1]


def chooser_app():
    """A one-widget script: a selectbox seeded from URL "fruit", written back to the URL."""
    import streamlit as st

    from attnrec.app import url

    value = url.choice(st.selectbox, "Fruit", ["apple", "pear", "plum"], "fruit_state", "fruit", "pear", "fruit")
    url.write_url(fruit=value, stale=None)
    st.write(f"chosen {value}")


def shown(at):
    return next(m.value for m in at.markdown if m.value.startswith("chosen "))


def url(at, key):
    value = at.query_params[key]
    return value[-1] if isinstance(value, list) else value


def test_choice_defaults_and_writes_the_url():
    at = AppTest.from_function(chooser_app).run()
    assert shown(at) == "chosen pear" and url(at, "fruit") == "pear" and not at.warning


def test_a_good_link_is_followed_and_a_stale_key_removed():
    at = AppTest.from_function(chooser_app)
    at.query_params["fruit"] = "plum"
    at.query_params["stale"] = "1"
    at.run()
    assert shown(at) == "chosen plum" and "stale" not in at.query_params and not at.warning


def test_a_bad_link_warns_once_and_falls_back():
    at = AppTest.from_function(chooser_app)
    at.query_params["fruit"] = "durian"
    at.run()
    assert shown(at) == "chosen pear" and url(at, "fruit") == "pear"
    assert "fruit “durian”" in at.warning[0].value and "“pear” instead" in at.warning[0].value
    at.run()
    assert not at.warning


def test_the_users_choice_wins_over_the_url_it_wrote_itself():
    at = AppTest.from_function(chooser_app)
    at.query_params["fruit"] = "plum"
    at.run()
    at.selectbox[0].set_value("apple").run()
    assert shown(at) == "chosen apple" and url(at, "fruit") == "apple"
    at.run()
    assert shown(at) == "chosen apple"


@pytest.mark.parametrize(
    "text, d, expected",
    [
        ("1,2.5,-3", 3, [1.0, 2.5, -3.0]),
        ("1,2", 3, None),
        ("1,x,3", 3, None),
        ("1,nan,3", 3, None),
        ("1,inf,3", 3, None),
        (None, 2, None),
        (" 4 , 5 ", 2, [4.0, 5.0]),
    ],
)
def test_parse_vector(text, d, expected):
    assert number_entry.parse_vector(text, d) == expected


def test_vector_text_round_trips():
    values = [0.1, -2.0, 1e-7, 3.141592653589793]
    assert number_entry.parse_vector(number_entry.vector_text(values), 4) == values


def test_matching_rows_needs_every_word():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "cuisine": ["Mexican", "Thai", "Mexican"],
            "price": ["low", "low", "high"],
            "rating": [1.5, float("nan"), 2.0],
            "note": ["x", None, "y"],
        },
        index=["a", "b", "c"],
    )
    assert list(matching_rows(frame, "mexican LOW").index) == ["a"]
    assert list(matching_rows(frame, "").index) == ["a", "b", "c"]
    assert list(matching_rows(frame, "c").index) == ["a", "c"]  # ids are searched too ("c"), and "Mexican"
    assert list(matching_rows(frame, "1.5").index) == ["a"]
    assert list(matching_rows(frame, "nan").index) == []  # missing cells are not the text "nan"


# ---- the sidebar and the app --------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    return make_model(seed=5)


def sidebar_app():
    import streamlit as st

    from attnrec.app.sidebar import sidebar

    chosen = sidebar()
    st.write(f"dataset {chosen.dataset_name} model {chosen.model_name} device {chosen.resolved_device}")
    if chosen.model is not None:
        st.write(f"model on {chosen.model.device}")


def tiny_session(at, model, **links):
    """`at` with the model's dataset and the model kept in this session as "tiny" / "mine", the dataset (and
    `links`) asked for by the URL."""
    at.session_state["user_datasets"] = {"tiny": model.dataset}
    at.session_state["user_models"] = {"mine": model}
    at.query_params["dataset"] = "tiny"
    for key, value in links.items():
        at.query_params[key] = value
    return at


def test_sidebar_lists_builtins_and_this_sessions_datasets_and_models(model):
    at = tiny_session(AppTest.from_function(sidebar_app, default_timeout=60), model)
    at.run()
    assert not at.exception, at.exception
    datasets = at.sidebar.selectbox(key="widget_attnrec_dataset")
    assert datasets.options[-1] == "tiny (this session)"
    assert datasets.options[:2] == ["restaurants", "synthetic"]
    assert at.sidebar.selectbox(key="widget_attnrec_model_tiny").options == ["mine (this session)"]
    assert at.sidebar.selectbox(key="widget_attnrec_device").value == "auto"
    assert any(m.value == "dataset tiny model mine device cpu" for m in at.markdown)
    assert url(at, "model") == "mine"


def test_sidebar_rejects_an_unknown_dataset_link(model):
    at = AppTest.from_function(sidebar_app, default_timeout=60)
    at.session_state["user_datasets"] = {"tiny": model.dataset}
    at.query_params["dataset"] = "imaginary"
    at.query_params["model"] = "nope"
    at.run()
    assert not at.exception, at.exception
    assert any("dataset “imaginary”" in w.value for w in at.warning)
    assert url(at, "dataset") == at.sidebar.selectbox(key="widget_attnrec_dataset").value != "imaginary"


def first_app():
    """sidebar(first=…): the callback sees the selection before any sidebar widget is drawn."""
    import streamlit as st

    from attnrec.app.sidebar import sidebar

    seen = {}

    def first(chosen):
        seen["widgets before"] = sorted(k for k in st.session_state if str(k).startswith("widget_attnrec"))
        seen["chosen"] = (chosen.dataset_name, chosen.model_name, chosen.device)
        st.write(f"answer for {chosen.dataset_name}")
        if st.session_state.get("fail_in_first"):
            raise RuntimeError("the first view failed")

    chosen = sidebar(first=first)
    st.write(f"widgets before: {seen['widgets before']}")
    st.write(f"same: {seen['chosen'] == (chosen.dataset_name, chosen.model_name, chosen.device)}")


def test_sidebar_makes_its_choices_calls_first_then_draws_its_widgets_showing_them(model):
    at = tiny_session(AppTest.from_function(first_app, default_timeout=60), model)
    at.query_params["device"] = "tpu"
    at.run()
    assert not at.exception, at.exception
    texts = [m.value for m in at.markdown]
    assert "widgets before: []" in texts and "same: True" in texts and "answer for tiny" in texts
    assert at.sidebar.selectbox(key="widget_attnrec_dataset").value == "tiny"
    assert at.sidebar.selectbox(key="widget_attnrec_model_tiny").value == "mine"
    assert at.sidebar.selectbox(key="widget_attnrec_device").value == "auto"
    assert len(at.warning) == 1 and "device “tpu”" in at.warning[0].value  # warned once
    # A page whose first view fails still gets the sidebar drawn (the user can pick another model).
    at.session_state["fail_in_first"] = True
    at.run()
    assert len(at.exception) == 1  # shown (redacted: the app hides error details)
    assert at.sidebar.selectbox(key="widget_attnrec_dataset").value == "tiny"
    assert [m.value for m in at.markdown] == ["answer for tiny"]


def test_session_model_is_copied_per_device_never_moved(model):
    at = tiny_session(AppTest.from_function(sidebar_app, default_timeout=60), model)
    at.query_params["device"] = "cpu"
    at.run()
    assert any(m.value == "model on cpu" for m in at.markdown)
    assert model.device == torch.device("cpu")  # the registered model itself is untouched


def test_a_model_built_where_a_freed_one_lived_gets_its_own_cache_key():
    """Cached results are keyed by Selection.model_key. CPython gives a new object the id() of a freed one at the
    same address (it did for two in four models here), so a key built from id() handed a new model the cached
    cards and explanations of an old one — across tests, whichever ran first."""
    keys, ids = set(), []
    for seed in range(6):
        m = make_model(seed=seed)
        selection = sidebar.Selection("tiny", m.dataset, "mine", m, "cpu", "cpu")
        assert selection.model_key == selection.model_key
        keys.add(selection.model_key)
        ids.append(id(m))
        del m, selection
        gc.collect()
    assert len(keys) == 6, (keys, ids)


def test_explore_is_the_default_page_and_compare_keeps_the_pair(model):
    at = tiny_session(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60), model)
    at.query_params["user"] = "u3"
    at.query_params["item"] = "i4"
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Explore one user–item pair"
    s_explore = next(m.value for m in at.metric if m.label == "S (score)")
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Compare two pairs"
    assert at.selectbox(key="widget_explore_user").value == "u3"
    assert at.selectbox(key="widget_explore_item").value == "i4"
    assert next(m.value for m in at.metric if m.label == "S(A)") == s_explore
    assert url(at, "dataset") == "tiny" and url(at, "model") == "mine"

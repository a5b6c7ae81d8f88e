"""Cached results the pages share: explanations, figures, and the tokens that name objects in cache keys."""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from attnrec.model import Recommender
    from attnrec.pair_explanation import PairExplanation

# object → its token, for as long as the object lives
_TOKENS: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()
_NEXT_TOKEN = itertools.count(1)
_TOKENS_LOCK = threading.Lock()


def object_token(obj: object) -> int:
    """A number naming `obj` in cache keys: the same for the object's whole life, and never given to another
    object in this process. Unlike id(), which CPython hands to the next object allocated at the same
    address: a model freed and another built in its place would then share cached results."""
    if obj is None:
        return 0
    with _TOKENS_LOCK:
        token = _TOKENS.get(obj)
        if token is None:
            token = _TOKENS[obj] = next(_NEXT_TOKEN)
        return token


@st.cache_data(show_spinner=False, max_entries=512)
def cached_explanation(
    model_key: str,
    user_id: str,
    item_id: str,
    method_key: str,
    params_json: str,
    context_json: str,
    _model: Recommender,
) -> PairExplanation:
    """`attnrec.pair_explanation.explain_pair`, cached per (model on device, pair, method, params)."""
    from attnrec.pair_explanation import explain_pair

    return explain_pair(_model, user_id, item_id, method_key, json.loads(params_json), context=json.loads(context_json))


@st.cache_data(show_spinner=False, max_entries=256)
def cached_vector_explanation(
    model_key: str, x: tuple, y: tuple, method_key: str, params_json: str, context_json: str, _model: Recommender
) -> PairExplanation:
    """`attnrec.pair_explanation.explain_vectors` for typed X, Y, cached like `cached_explanation`."""
    from attnrec.pair_explanation import explain_vectors

    return explain_vectors(
        _model, list(x), list(y), method_key, json.loads(params_json), context=json.loads(context_json)
    )


@st.cache_resource(show_spinner=False, max_entries=512)
def cached_figure(name: str, view_key: str, _build: Callable[[], go.Figure]) -> go.Figure:
    """The figure `_build()` makes, built once per (name, view) and shared; never mutate the result.

    Plotly validates every property it is given, which makes building a figure cost more than the
    explanation it draws (~20 ms vs ~8 ms per pair); st.plotly_chart copies the figure, never changes it.
    """
    return _build()


@st.cache_resource(show_spinner=False, max_entries=16)
def id_index(token: int, side: str, _ids: list[str]) -> pd.Index:
    """`_ids` (a model's user or item ids; `token` is the model's `object_token`) as a pandas Index, built once:
    `in` is then a hash lookup, not a scan of the catalog, on every rerun."""
    import pandas as pd

    return pd.Index(_ids, dtype=object)


@st.cache_resource(show_spinner=False, max_entries=16)
def name_first(token: int, name: str | None, _frame: pd.DataFrame) -> pd.DataFrame:
    """`_frame` with its `name` column first, the column people search by (as it is without one); `token` is the
    `object_token` of the model or dataset that holds it. Kept, so that a picker's rerun neither copies the table
    nor offers a new object."""
    if name not in _frame.columns:
        return _frame
    return _frame[[name] + [c for c in _frame.columns if c != name]]

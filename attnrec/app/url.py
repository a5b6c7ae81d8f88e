"""URL state: what a page shows lives in the query string, so a copied link reopens it.

`choice` is the widget every page uses for a choice that belongs in the URL: seeded from a link's request,
else this session's earlier choice, else a default; `write_url` puts the current view back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import streamlit as st

from attnrec.safety import escape_markdown

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

URL_KEYS = ("dataset", "model", "device", "user", "item", "method")

_URL_WRITTEN = "url_written"  # what this session last wrote into the URL, key → text


def url_text(key: str) -> str | None:
    """The raw URL query value for `key` (None when absent)."""
    value = st.query_params.get(key)
    return None if value is None else str(value)


def url_request(key: str) -> str | None:
    """The URL's `key` when it asks for something new: a pasted link, or another page's st.switch_page
    with query_params. A value this session wrote itself is not a request (None)."""
    raw = url_text(key)
    if raw is None or raw == st.session_state.get(_URL_WRITTEN, {}).get(key):
        return None
    return raw


def write_url(**values: object) -> None:
    """Put the current view into the URL (None removes a key) so a copied link reopens it."""
    written = st.session_state.setdefault(_URL_WRITTEN, {})
    for key, value in values.items():
        if value is None:
            written.pop(key, None)
            if key in st.query_params:
                del st.query_params[key]
        else:
            written[key] = str(value)
            if st.query_params.get(key) != str(value):
                st.query_params[key] = str(value)


def remembered_choice(state_key: str, url_key: str, options: Sequence[str], default: str, what: str) -> str:
    """A value among `options`: the URL's request if it is valid, else this session's earlier choice
    (kept under `state_key`), else `default`. A request for something not in `options` (a stale or
    mistyped link) gets a warning saying what is shown instead. `options` is looked up, not copied: a catalog's
    ids as a pandas Index answer `in` from its hash table."""
    if not all(hasattr(options, name) for name in ("__contains__", "__getitem__", "__len__")):
        options = list(options)  # a generator, a set, dict keys
    earlier = st.session_state.get(state_key)
    fallback = str(earlier) if earlier in options else (default if default in options else str(options[0]))
    raw = url_request(url_key)
    if raw is None:
        return fallback
    if raw in options:
        return raw
    # A link is anyone's text: escaped, so it cannot inject Markdown (links, images) into the page.
    st.warning(
        f"The link asks for {what} “{escape_markdown(raw)}”, which is not available here; showing "
        f"{what} “{escape_markdown(fallback)}” instead.",
        icon="⚠️",
    )
    return fallback


def choice(
    widget: Callable[..., Any],
    label: str,
    options: Sequence[str],
    state_key: str,
    url_key: str,
    default: str,
    what: str,
    container: DeltaGenerator | None = None,
    value: str | None = None,
    **kwargs: Any,
) -> str:
    """`widget` (st.radio, st.selectbox, …) over `options`, seeded from the URL's request, else this
    session's earlier choice (kept under `state_key`), else `default`; or showing `value`, the choice
    `remembered_choice` already made this run (a page that draws its answer before its controls).

    Streamlit ties widget state to the page, so the same widget on another page would start over; the
    choice therefore lives under `state_key` (copied there by on_change) and is handed to the widget
    on every run.
    """
    box = container or st
    widget_key = f"widget_{state_key}"
    st.session_state[widget_key] = (
        remembered_choice(state_key, url_key, options, default, what) if value is None else value
    )

    def remember():
        st.session_state[state_key] = st.session_state[widget_key]

    value = getattr(box, widget.__name__)(label, list(options), key=widget_key, on_change=remember, **kwargs)
    st.session_state[state_key] = value
    return value

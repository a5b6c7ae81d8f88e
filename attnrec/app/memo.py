"""Work a page does once per upload, not once per rerun (app layer).

Streamlit reruns the whole page on every widget change; the Data page's suggestions (id columns, roles,
label threshold, positive share) each scan whole tables — seconds apiece at 10^5–10^6 rows. `remembered`
keeps the last answer per slot in the session under a key that names the upload (its fingerprint) and the
inputs, so a rerun on unchanged uploads reuses it and a new upload or a changed input recomputes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

__all__ = ["remembered", "MEMO_STATE"]

T = TypeVar("T")
MEMO_STATE = "attnrec_memo"  # st.session_state: slot → (key, value)


def remembered(slot: str, key: Any, compute: Callable[[], T]) -> T:
    """`compute()`, or its answer from an earlier run of this session when `slot` was last computed for `key`."""
    store: dict[str, tuple[Any, Any]] = st.session_state.setdefault(MEMO_STATE, {})
    hit = store.get(slot)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = compute()
    store[slot] = (key, value)
    return value

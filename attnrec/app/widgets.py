"""Widgets the pages share: editable number tables, plot selections, method parameters, row pickers, links.

Editable number tables: cells are text so anything typed reaches our parser (attnrec.number_entry), which
names the bad cell; while a table has a bad cell the caller keeps computing with the last good numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from attnrec.app.url import choice, remembered_choice, write_url
from attnrec.number_entry import EntryError, numbers_to_frame, parse_number_table

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from streamlit.delta_generator import DeltaGenerator

    from attnrec.model import Recommender


def number_editor(
    label: str, values: ArrayLike, row_names: Sequence[str], column_names: Sequence[str], key: str
) -> tuple[np.ndarray, str | None]:
    """An editable table of numbers.

    Returns (numbers, error): the edited numbers when every cell is a finite number; otherwise `values`
    unchanged (the last good state) and the message, which is also shown under the table.
    Pass the last good numbers as `values` each run: with a key and a fixed row count, Streamlit keeps
    the user's edits on top of them, so re-passing already-edited numbers is harmless.
    """
    base = numbers_to_frame(values, row_names, column_names)
    config = {str(c): st.column_config.TextColumn(str(c), width="small") for c in base.columns}
    edited = st.data_editor(base, key=key, num_rows="fixed", column_config=config)
    try:
        return parse_number_table(edited, label), None
    except EntryError as error:
        st.error(f"{error}. Still showing the results for the last valid {label}.")
        return np.asarray(values, dtype=np.float64).reshape(base.shape), str(error)


def selected_points(event: Any) -> list[list]:  # a Streamlit selection event (a dict or an object)
    """customdata of the points clicked in a `st.plotly_chart(..., on_select="rerun")` event."""
    if not event:
        return []
    selection = event.get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", {})
    points = selection.get("points", []) if isinstance(selection, dict) else getattr(selection, "points", [])
    return [_as_list(p["customdata"]) for p in points if p.get("customdata") is not None]


def _as_list(customdata) -> list:
    # Typed-array customdata comes back from the browser as {"0": a, "1": b}; lists come back as lists.
    if isinstance(customdata, dict):
        return [customdata[k] for k in sorted(customdata, key=int)]
    return list(customdata) if isinstance(customdata, (list, tuple)) else [customdata]


def attribution_methods(level: str) -> list[str]:
    """Registry keys of the methods that work at `level` ("fields" | "dimensions"), IG first."""
    from attnrec.explain import METHODS

    keys = [k for k, spec in METHODS.items() if level in spec.levels]
    return sorted(keys, key=lambda k: k != "ig")


def method_picker(
    level: str, box: DeltaGenerator, settings: DeltaGenerator, key_prefix: str, value: str | None = None
) -> tuple[str, dict]:
    """The attribution method at `level` (a select in `box`, kept in the URL as `method` and shared by the pages
    that explain one pair) and its parameters in a "Method settings" popover in `settings`: (key, params).
    `value`: the method `method_choice` already chose this run (the select shows it)."""
    from attnrec.explain import method

    key = choice(
        st.selectbox,
        "Attribution method",
        attribution_methods(level),
        "explore_method",
        "method",
        "ig",
        "attribution method",
        container=box,
        value=value,
        format_func=lambda k: method(k).name,
    )
    with settings.popover("Method settings", width="stretch"):
        st.caption(method(key).description)
        params = param_widgets(key, key_prefix)
    return key, params


def method_choice(level: str, key_prefix: str) -> tuple[str, dict]:
    """What `method_picker` will show, chosen before it is drawn: the method (URL, then this session's, then
    IG) and each parameter's current value (its widget's state, else its default)."""
    from attnrec.explain import method

    key = remembered_choice("explore_method", "method", attribution_methods(level), "ig", "attribution method")
    return key, {p.name: st.session_state.get(f"{key_prefix}_{key}_{p.name}", p.default) for p in method(key).params}


def baseline_radio(container: DeltaGenerator, model: Recommender, key: str, help: str | None = None) -> str:
    """The explain baseline (zeros / dataset mean / unknown) as a horizontal radio, starting from the model's
    default (`attnrec.explain.model_targets.default_baseline`)."""
    from attnrec.explain.model_targets import BASELINE_LABELS, BASELINES, default_baseline

    return container.radio(
        "Baseline",
        list(BASELINES),
        format_func=BASELINE_LABELS.get,
        horizontal=True,
        key=key,
        index=list(BASELINES).index(default_baseline(model)),
        help=help,
    )


def param_widgets(method_key: str, key_prefix: str, container: DeltaGenerator | None = None) -> dict:
    """One widget per parameter of the method, built from the registry; returns {name: value}."""
    from attnrec.explain import method

    box = container or st
    values = {}
    for p in method(method_key).params:
        key = f"{key_prefix}_{method_key}_{p.name}"
        if p.widget == "checkbox":
            values[p.name] = box.checkbox(p.label, value=p.default, help=p.help or None, key=key)
        elif p.widget == "select":
            values[p.name] = box.selectbox(
                p.label, list(p.options), index=list(p.options).index(p.default), help=p.help or None, key=key
            )
        else:  # "slider" or a number box, with the same bounds
            kind = type(p.default)
            values[p.name] = (box.slider if p.widget == "slider" else box.number_input)(
                p.label,
                min_value=kind(p.min),
                max_value=kind(p.max),
                value=p.default,
                step=kind(p.step),
                help=p.help or None,
                key=key,
            )
    return values


def page_link(container: DeltaGenerator, page: str, label: str, icon: str | None = None) -> None:
    """`st.page_link` to another page of the app; a page script run on its own (AppTest, `streamlit run
    app_pages/x.py`) has no navigation to link into, so it says where to go in words instead."""
    from streamlit.errors import StreamlitPageNotFoundError

    try:
        container.page_link(page, label=label, icon=icon)
    except StreamlitPageNotFoundError:
        container.caption(f"{label}: open it from the sidebar.")


def view_switch(views: dict[str, str], state_key: str) -> tuple[str, DeltaGenerator]:
    """One section of a page at a time (only the figures on screen are built): a radio over `views` (key →
    label; the first is the default), kept in the URL as `view`. Returns the view and the narrow column
    beside the radio (for a download menu)."""
    bar = st.columns([4, 1], vertical_alignment="center")
    view = choice(
        st.radio,
        "Show",
        list(views),
        state_key,
        "view",
        next(iter(views)),
        "view",
        container=bar[0],
        format_func=views.get,
        horizontal=True,
        label_visibility="collapsed",
    )
    write_url(view=view)
    return view, bar[1]


# Download menu entries: label → (file suffix, MIME type)
DOWNLOAD_KINDS = {
    "JSON": ("json", "application/json"),
    "CSV": ("csv", "text/csv"),
    "HTML report": ("html", "text/html"),
}


def download_menu(
    container: DeltaGenerator,
    stem: str,
    key_prefix: str,
    files: dict[str, tuple[Callable[[], str | bytes], str]],
) -> None:
    """A "Download" popover in `container` with one button per entry of `files` (label in DOWNLOAD_KINDS →
    (make the file, help)); a file is made only when its button is pressed. Keys: `{key_prefix}_{suffix}`."""
    menu = container.popover("Download", icon=":material/download:", width="stretch")
    for label, (make, help_text) in files.items():
        suffix, mime = DOWNLOAD_KINDS[label]
        menu.download_button(
            label,
            make,
            f"{stem}.{suffix}",
            mime=mime,
            key=f"{key_prefix}_{suffix}",
            width="stretch",
            icon=":material/download:",
            help=help_text,
        )

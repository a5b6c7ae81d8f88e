"""The shared sidebar: dataset, model and device. Pages call `sidebar()` first; it returns a `Selection`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from attnrec.app.caches import object_token
from attnrec.app.session import (
    BROKEN_DATASETS,
    BUILTIN_DATASETS,
    USER_DATASETS,
    all_checkpoints,
    dataset_names,
    device_options,
    get_model,
    load_dataset_guarded,
    model_names,
    saved_dataset_names,
    use_one_torch_thread,
)
from attnrec.app.url import choice, remembered_choice, write_url
from attnrec.app.widgets import page_link
from attnrec.safety import escape_markdown

if TYPE_CHECKING:
    from attnrec.model import Recommender

_DEVICE_LABELS = {"auto": "auto", "cpu": "CPU", "cuda": "CUDA", "mps": "MPS (Apple GPU)"}


@dataclass(frozen=True)
class Selection:
    """What the sidebar picked. `model` is None when the dataset has no model yet (train one on Data)."""

    dataset_name: str
    dataset: object  # attnrec.data.Dataset
    model_name: str | None
    model: Recommender | None  # on `device`; shared and cached: never mutate
    device: str  # the choice: "auto" | "cpu" | "cuda" | "mps"
    resolved_device: str  # what it means here, e.g. "cpu"

    @property
    def model_key(self) -> str:
        """Identifies (model, device) in st.cache_data keys."""
        return f"{self.dataset_name}/{self.model_name}@{self.resolved_device}#{object_token(self.model)}"


def _select(
    container, label: str, options: list[str], state_key: str, url_key: str, value: str, what: str, **kwargs
) -> str:
    return choice(
        st.selectbox, label, options, state_key, url_key, value, what, container=container, value=value, **kwargs
    )


def sidebar(link_to_data: bool = True, first: Callable[[Selection], None] | None = None) -> Selection:
    """The shared sidebar: dataset, model checkpoint and device, and a link to the Data page (where people bring
    their own; off on that page). Call it first on every page.

    Choices are remembered across pages, seeded from the URL (`dataset`, `model`, `device` query
    parameters; a bad one gets a warning and a default) and written back to it. Returns a `Selection`;
    its `model` is None when the chosen dataset has no model — pages that need one call `require_model`.

    The choices are made (and the dataset and model loaded) before anything is drawn in the sidebar. `first`,
    when given, is called with the selection before the sidebar is drawn: a page's answer drawn there reaches
    the browser ahead of the sidebar's widgets, whose code the browser would otherwise fetch and set up first
    (`benchmarks/cold_start.py`). The sidebar is drawn even when `first` raises (not after an st.stop in it).
    """
    from attnrec.device import resolve_device

    use_one_torch_thread()
    broken = st.session_state.setdefault(BROKEN_DATASETS, {})
    datasets = [n for n in dataset_names() if n not in broken]
    if not datasets:
        _draw(link_to_data, broken)
        st.sidebar.error("No dataset found: sample_data/ is missing and none was loaded on the Data page.")
        st.stop()
    dataset_name = remembered_choice("attnrec_dataset", "dataset", datasets, datasets[0], "dataset")
    with st.spinner(f"Loading {dataset_name}…"):
        dataset, problem = load_dataset_guarded(dataset_name)
    if problem is not None:
        # Remembered for this session, so the choice falls to the next dataset and the message stays.
        broken[dataset_name] = problem
        st.rerun()
    models = model_names(dataset_name)
    shown_model = (
        remembered_choice(f"attnrec_model_{dataset_name}", "model", models, models[0], "model") if models else None
    )
    device = remembered_choice("attnrec_device", "device", device_options(), "auto", "device")
    resolved = str(resolve_device(device))
    model, model_name, model_error = None, shown_model, None
    if shown_model is not None:
        try:
            model = get_model(dataset_name, shown_model, resolved)
        except Exception as error:  # a broken checkpoint must not take the whole page down
            model_error, model_name = error, None
    write_url(dataset=dataset_name, model=model_name, device=device)
    selection = Selection(dataset_name, dataset, model_name, model, device, resolved)
    try:
        if first is not None:
            first(selection)
    finally:
        _draw(link_to_data, broken, datasets, selection, models, shown_model, model_error)
    return selection


def _draw(
    link_to_data: bool,
    broken: dict[str, str],
    datasets: list[str] | None = None,
    selection: Selection | None = None,
    models: list[str] | None = None,
    shown_model: str | None = None,
    model_error: Exception | None = None,
) -> None:
    """The sidebar's widgets for choices `sidebar` already made (each widget shows its choice), and its notes."""
    from attnrec.device import available_devices

    bar = st.sidebar
    bar.subheader("Dataset and model")
    for name, why in broken.items():
        bar.error(
            f"Dataset “{escape_markdown(name)}” could not be loaded: {escape_markdown(why)}", icon=":material/error:"
        )
    if selection is None or datasets is None:
        return
    session_datasets = st.session_state.get(USER_DATASETS, {})
    saved = set(saved_dataset_names())
    _select(
        bar,
        "Dataset",
        datasets,
        "attnrec_dataset",
        "dataset",
        selection.dataset_name,
        "dataset",
        format_func=lambda n: (
            f"{n} (this session)" if n in session_datasets and n not in BUILTIN_DATASETS and n not in saved else n
        ),
    )
    if models and shown_model is not None:
        _select(
            bar,
            "Model",
            models,
            f"attnrec_model_{selection.dataset_name}",
            "model",
            shown_model,
            "model",
            format_func=_model_label,
            help="Shipped checkpoints (sample_data/models), models saved in your workspace, and this session's.",
        )
        info = all_checkpoints().get(shown_model)
        if info is not None:  # the details under the box, so the name itself is never cut off
            bar.caption(f"{info['mode']} · {info['heads']} head{'s' if info['heads'] != 1 else ''} · d = {info['d']}")
    else:
        bar.info("This dataset has no model yet: train or upload one on the Data page.")
    if link_to_data:
        page_link(bar, "app_pages/data.py", "Bring your own data or model", ":material/upload_file:")
    have = available_devices()
    missing = [_DEVICE_LABELS[d] for d in ("cuda", "mps") if d not in have]
    _select(
        bar,
        "Device",
        device_options(),
        "attnrec_device",
        "device",
        selection.device,
        "device",
        format_func=lambda d: f"auto → {_DEVICE_LABELS[have[0]]}" if d == "auto" else _DEVICE_LABELS[d],
        help="Where the model runs. Switching device does not change the numbers (beyond ~1e-5).",
    )
    bar.caption(
        f"This machine has: {', '.join(_DEVICE_LABELS[d] for d in have)}"
        + (f" (no {' / '.join(missing)})" if missing else "")
    )
    if model_error is not None:
        bar.error(f"Could not load model “{escape_markdown(shown_model)}”: {escape_markdown(model_error)}")


def _model_label(name: str) -> str:
    info = all_checkpoints().get(name)
    if info is None:
        return f"{name} (this session)"
    return name + (" (saved)" if info.get("saved") else "")


def require_model(selection: Selection) -> Recommender:
    """The selection's model, or stop the page with a hint when there is none."""
    if selection.model is None:
        st.info(
            f"No model for dataset “{escape_markdown(selection.dataset_name)}” yet. Train or upload one on the "
            "Data page."
        )
        st.stop()
    return selection.model

"""The one Streamlit-aware module of attnrec: small widgets the pages share.

Editable number tables: cells are text so anything typed reaches our parser, which names the bad cell;
while a table has a bad cell the caller keeps computing with the last good numbers.
"""

from __future__ import annotations

import itertools as _itertools
import json as _json
import math
import os as _os
import threading as _threading
import weakref as _weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass as _dataclass
from pathlib import Path as _Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
import streamlit as st

from attnrec.safety import escape_markdown

if TYPE_CHECKING:  # annotations only: nothing here joins the module's namespace (pages read `ui.*`)
    from typing import Any

    import plotly.graph_objects as go
    from numpy.typing import ArrayLike
    from streamlit.delta_generator import DeltaGenerator

    from attnrec.data.types import Dataset
    from attnrec.model import Recommender
    from attnrec.pair_explanation import PairExplanation
    from attnrec.workspace import Workspace

# Typed numbers beyond this are refused: products of two such values and the attention logits stay far
# inside float32 (finite for |x|, |y| up to 1e4 is what attend promises; 1e6 leaves headroom).
MAX_TYPED_MAGNITUDE = 1e6

__all__ = ["EntryError", "parse_number", "parse_number_table", "numbers_to_frame", "number_editor", "selected_points"]


class EntryError(ValueError):
    """A table cell that is not a finite number; the message names the table, row and column."""


def parse_number(value: object, where: str) -> float:
    """One cell to a float, or EntryError saying what is wrong with it and where."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        # The editor hands back NaN/None for a cell the user cleared.
        raise EntryError(f"{where} is empty; enter a number")
    text = str(value).strip()
    if not text:
        raise EntryError(f"{where} is empty; enter a number")
    try:
        number = float(text)
    except ValueError:
        raise EntryError(f"{where}: '{text}' is not a number") from None
    if not math.isfinite(number):
        raise EntryError(f"{where}: '{text}' is not a finite number (NaN and ±inf are not allowed)")
    if abs(number) > MAX_TYPED_MAGNITUDE:
        raise EntryError(f"{where}: '{text}' is too large; keep |value| ≤ {MAX_TYPED_MAGNITUDE:g}")
    return number


def parse_number_table(frame: pd.DataFrame, label: str) -> np.ndarray:
    """Every cell of an edited table to float64 (rows × columns); the first bad cell raises EntryError."""
    values = np.empty(frame.shape, dtype=np.float64)
    for r, row_name in enumerate(frame.index):
        for c, column in enumerate(frame.columns):
            values[r, c] = parse_number(frame.iat[r, c], f"{label}, row '{row_name}', column '{column}'")
    return values


def _number_text(value: float) -> str:
    # Shortest text that reads back as the same float ("1" rather than "1.0").
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def numbers_to_frame(values: ArrayLike, row_names: Sequence[str], column_names: Sequence[str]) -> pd.DataFrame:
    array = np.asarray(values, dtype=np.float64).reshape(len(row_names), len(column_names))
    return pd.DataFrame(
        [[_number_text(v) for v in row] for row in array],
        index=list(row_names),
        columns=list(column_names),
        dtype="str",
    )


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


# ======================================================================================================
# Dashboard core: the session's datasets and models, cached loading, the shared sidebar, URL state.
# Pages call `sidebar()` first; it returns a `Selection` (dataset, model on the chosen device).
# ======================================================================================================

USER_DATASETS = "user_datasets"  # st.session_state[USER_DATASETS]: name → Dataset, filled by the Data page
USER_MODELS = "user_models"  # st.session_state[USER_MODELS]: name → Recommender (trained / uploaded)
BUILTIN_DATASETS = ("restaurants", "synthetic")
# Shipped checkpoints; ATTNREC_MODELS_DIR points the sidebar at another folder (benchmarks, deployments).
MODELS_DIR = _Path(
    _os.environ.get("ATTNREC_MODELS_DIR") or _Path(__file__).resolve().parents[1] / "sample_data" / "models"
)
URL_KEYS = ("dataset", "model", "device", "user", "item", "method")
_DEVICE_LABELS = {"auto": "auto", "cpu": "CPU", "cuda": "CUDA", "mps": "MPS (Apple GPU)"}

__all__ += [
    "USER_DATASETS",
    "USER_MODELS",
    "BUILTIN_DATASETS",
    "URL_KEYS",
    "Selection",
    "sidebar",
    "require_model",
    "load_builtin_dataset",
    "load_model",
    "checkpoint_index",
    "dataset_names",
    "get_dataset",
    "model_names",
    "get_model",
    "url_request",
    "url_text",
    "write_url",
    "remembered_choice",
    "cached_explanation",
    "cached_vector_explanation",
    "param_widgets",
    "attribution_methods",
    "device_options",
    "use_one_torch_thread",
    "object_token",
]

# object → its token, for as long as the object lives
_TOKENS: _weakref.WeakKeyDictionary[object, int] = _weakref.WeakKeyDictionary()
_NEXT_TOKEN = _itertools.count(1)
_TOKENS_LOCK = _threading.Lock()


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


@_dataclass(frozen=True)
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


# ---- URL state ---------------------------------------------------------------------------------------

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
    mistyped link) gets a warning saying what is shown instead."""
    options = list(options)
    fallback = st.session_state.get(state_key)
    if fallback not in options:
        fallback = default if default in options else options[0]
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


def _select(
    container, label: str, options: list[str], state_key: str, url_key: str, default: str, what: str, **kwargs
) -> str:
    return choice(st.selectbox, label, options, state_key, url_key, default, what, container=container, **kwargs)


# ---- datasets and models --------------------------------------------------------------------------


def _builtin_available(name: str) -> bool:
    from attnrec.data import SAMPLE_DATA

    return (SAMPLE_DATA / name).is_dir()


@st.cache_resource(show_spinner="Loading dataset…")
def load_builtin_dataset(reference: str) -> Dataset:
    """A built-in dataset by name (or a dataset folder), loaded once per server process."""
    from attnrec.data import load_dataset

    return load_dataset(reference)


def workspace() -> Workspace:
    """This user's workspace (attnrec.workspace): per signed-in user when the server has sign-in, else shared."""
    from attnrec.workspace import Workspace

    user_key = None
    try:
        if getattr(st.user, "is_logged_in", False):
            user_key = str(st.user.get("email") or st.user.get("sub") or "") or None
    except Exception:  # no auth configured: st.user has nothing to say
        user_key = None
    return Workspace.namespaced(None, user_key)


def _folder_stamp(folder: _Path) -> float:
    """Changes whenever a child folder is added, removed or renamed (what saving or deleting does)."""
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, max_entries=64)
def _saved_dataset_names(root: str, stamp: float) -> list[str]:
    from attnrec.workspace import Workspace

    return Workspace(root).dataset_names()


@st.cache_data(show_spinner=False, max_entries=64)
def _saved_model_index(root: str, stamp: float) -> dict[str, dict]:
    from attnrec.workspace import Workspace

    found = {}
    for saved in Workspace(root).models():
        config, dataset = saved.config, saved.config.get("dataset") or {}
        found[saved.name] = {
            "path": str(saved.path),
            "dataset": dataset.get("reference") or dataset.get("name"),
            "dataset_name": dataset.get("name"),
            "mode": config.get("mode"),
            "heads": config.get("heads"),
            "d": config.get("d"),
            "tied": config.get("tied"),
            "saved": True,
        }
    return found


def saved_dataset_names() -> list[str]:
    ws = workspace()
    return _saved_dataset_names(str(ws.root), _folder_stamp(ws.datasets_dir))


def saved_model_index() -> dict[str, dict]:
    """Models in this user's workspace: name → the same fields as `checkpoint_index`, plus "saved": True."""
    ws = workspace()
    return _saved_model_index(str(ws.root), _folder_stamp(ws.models_dir))


def all_checkpoints() -> dict[str, dict]:
    """Shipped checkpoints, then saved ones (a saved model named like a shipped one stays hidden)."""
    found = dict(checkpoint_index())
    for name, info in saved_model_index().items():
        found.setdefault(name, info)
    return found


def _referenced_datasets() -> dict[str, str]:
    """Dataset name → reference (a folder) for checkpoints whose dataset is neither built in nor saved here,
    e.g. a model trained with the CLI on a folder of your own."""
    out: dict[str, str] = {}
    for info in all_checkpoints().values():
        name, reference = info.get("dataset_name"), info.get("dataset")
        if name and reference and name not in BUILTIN_DATASETS and reference != name:
            out.setdefault(name, reference)
    return out


def dataset_names() -> list[str]:
    """Built-in datasets present on disk, saved ones, ones named by a checkpoint, then this session's."""
    names = [n for n in BUILTIN_DATASETS if _builtin_available(n)]
    for name in saved_dataset_names() + list(_referenced_datasets()) + list(st.session_state.get(USER_DATASETS, {})):
        if name not in names:
            names.append(name)
    return names


def get_dataset(name: str) -> Dataset:
    session = st.session_state.get(USER_DATASETS, {})
    if name in session:
        return session[name]
    if name not in BUILTIN_DATASETS:
        if name in saved_dataset_names():
            return load_builtin_dataset(str(workspace().dataset_folder(name)))
        referenced = _referenced_datasets()
        if name in referenced:
            return load_builtin_dataset(referenced[name])
    return load_builtin_dataset(name)


def save_to_workspace(thing: Dataset | Recommender, name: str | None = None) -> str | None:
    """Keep a dataset (or a model, under `name`) in the workspace; None when done, else what went wrong, in
    words (a full disk or a read-only folder must not break the page: the session still has it)."""
    ws = workspace()
    try:
        if name is None:  # no name: `thing` is a dataset (see the docstring)
            ws.save_dataset(cast("Dataset", thing))
        else:
            ws.save_model(cast("Recommender", thing), name)
    except OSError as error:
        return (
            f"could not save it in the workspace ({ws.root}): {error.strerror or error}. It stays in this session only"
        )
    except Exception as error:  # saving is a convenience: whatever goes wrong, the session keeps its copy
        import logging

        logging.getLogger("attnrec").exception("saving %r to the workspace failed", name or "a dataset")
        return f"could not save it in the workspace ({type(error).__name__}). It stays in this session only"
    return None


__all__ += ["workspace", "saved_dataset_names", "saved_model_index", "all_checkpoints", "save_to_workspace"]


BROKEN_DATASETS = "attnrec_broken_datasets"  # st.session_state: name → why it could not be loaded


def _load_dataset_guarded(name: str):
    """(dataset, None), or (None, message) when a built-in's files are damaged or missing.

    Like a broken checkpoint, a broken dataset must not take the page down: the sidebar says what is
    wrong and offers the other datasets."""
    from attnrec.checkpoint import CheckpointError
    from attnrec.data.types import DataError

    try:
        return get_dataset(name), None
    except (DataError, CheckpointError, OSError, ValueError, KeyError, MemoryError) as error:
        return None, str(error) or type(error).__name__


def session_probe() -> Callable[[], bool] | None:
    """A callable saying whether this browser session is still connected; None outside a Streamlit server.

    Training jobs hold it so the server stops a run whose tab has been closed (attnrec.training_job)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)


@st.cache_data(show_spinner=False, ttl=60)
def checkpoint_index(folder: str = str(MODELS_DIR)) -> dict[str, dict]:
    """Shipped checkpoints: folder name → {"path", "dataset" (reference), "dataset_name", "mode", ...}."""
    from attnrec.checkpoint import CheckpointError, read_config

    found = {}
    root = _Path(folder)
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            config = read_config(path)
        except CheckpointError:
            continue  # not a checkpoint folder (or a broken one): not offered
        dataset = config.get("dataset") or {}
        found[path.name] = {
            "path": str(path),
            "dataset": dataset.get("reference") or dataset.get("name"),
            "dataset_name": dataset.get("name"),
            "mode": config.get("mode"),
            "heads": config.get("heads"),
            "d": config.get("d"),
            "tied": config.get("tied"),
        }
    return found


def model_names(dataset_name: str) -> list[str]:
    """Checkpoints (shipped, then saved in the workspace) trained on `dataset_name`, then this session's
    models whose dataset has that name."""
    shipped = [name for name, info in all_checkpoints().items() if info["dataset_name"] == dataset_name]
    session = [
        name
        for name, model in st.session_state.get(USER_MODELS, {}).items()
        if getattr(getattr(model, "dataset", None), "name", None) == dataset_name and name not in shipped
    ]
    return shipped + session


@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def _load_checkpoint(path: str, dataset_reference: str):
    from attnrec.model import Recommender

    return Recommender.load(path, device="cpu", dataset=load_builtin_dataset(dataset_reference))


@st.cache_resource(show_spinner="Moving the model to the device…", max_entries=16)
def load_model(path: str, device: str = "cpu") -> Recommender:
    """A shipped checkpoint on `device` ("cpu", "cuda", "mps"; resolve "auto" first).

    Loaded once on the CPU; other devices get `copy_to(device)` of it, cached per device, so no cached
    model is ever moved or changed in place.
    """
    info = next((i for i in all_checkpoints().values() if i["path"] == path), None)
    reference = info["dataset"] if info else None
    if reference is None:
        from attnrec.checkpoint import read_config

        reference = (read_config(path).get("dataset") or {}).get("reference")
    if reference is None:
        raise ValueError(f"{path}: the checkpoint names no dataset to attach")
    base = _load_checkpoint(path, reference)
    return base if str(base.device) == device else base.copy_to(device)


def get_model(dataset_name: str, model_name: str, device: str) -> Recommender:
    """A model by sidebar name on a resolved device: a shipped checkpoint, or a session model."""
    session = st.session_state.get(USER_MODELS, {})
    shipped = all_checkpoints()
    if model_name not in session and model_name in shipped and shipped[model_name]["dataset_name"] == dataset_name:
        return load_model(shipped[model_name]["path"], device)
    model = st.session_state[USER_MODELS][model_name]
    if str(model.device) == device:
        return model
    copies = st.session_state.setdefault("user_model_copies", {})
    key = (model_name, object_token(model), device)
    if key not in copies:
        copies[key] = model.copy_to(device)
    return copies[key]


def device_options() -> list[str]:
    """ "auto" plus the devices this machine has (always ends with "cpu")."""
    from attnrec.device import available_devices

    return ["auto"] + available_devices()


def use_one_torch_thread() -> None:
    """Run torch on `attnrec.device.configured_threads()` threads in the app: 1 unless $ATTNREC_THREADS says
    otherwise (or OMP_NUM_THREADS alone, which is then left to torch).

    A page computes on tiny tensors (one pair, 50 IG steps); with two threads OpenMP hand-offs dominate,
    and on a busy 2-core machine an Explore rerun took ~1 s instead of ~25 ms (benchmarks/explore.py).
    """
    from attnrec.device import THREADS_ENV, apply_threads

    if THREADS_ENV in _os.environ or "OMP_NUM_THREADS" not in _os.environ:
        apply_threads()


def sidebar() -> Selection:
    """The shared sidebar: dataset, model checkpoint and device. Call it first on every page.

    Choices are remembered across pages, seeded from the URL (`dataset`, `model`, `device` query
    parameters; a bad one gets a warning and a default) and written back to it. Returns a `Selection`;
    its `model` is None when the chosen dataset has no model — pages that need one call `require_model`.
    """
    from attnrec.device import available_devices, resolve_device

    use_one_torch_thread()
    bar = st.sidebar
    bar.subheader("Dataset and model")
    broken = st.session_state.setdefault(BROKEN_DATASETS, {})
    for name, why in broken.items():
        bar.error(
            f"Dataset “{escape_markdown(name)}” could not be loaded: {escape_markdown(why)}", icon=":material/error:"
        )
    datasets = [n for n in dataset_names() if n not in broken]
    if not datasets:
        bar.error("No dataset found: sample_data/ is missing and none was loaded on the Data page.")
        st.stop()
    session_datasets = st.session_state.get(USER_DATASETS, {})
    saved = set(saved_dataset_names())
    dataset_name = _select(
        bar,
        "Dataset",
        datasets,
        "attnrec_dataset",
        "dataset",
        datasets[0],
        "dataset",
        format_func=lambda n: (
            f"{n} (this session)" if n in session_datasets and n not in BUILTIN_DATASETS and n not in saved else n
        ),
    )
    with st.spinner(f"Loading {dataset_name}…"):
        dataset, problem = _load_dataset_guarded(dataset_name)
    if problem is not None:
        # Remembered for this session, so the choice falls to the next dataset and the message stays.
        broken[dataset_name] = problem
        st.rerun()
    models = model_names(dataset_name)
    model_name = None
    if models:
        model_name = _select(
            bar,
            "Model",
            models,
            f"attnrec_model_{dataset_name}",
            "model",
            models[0],
            "model",
            format_func=_model_label,
            help="Shipped checkpoints (sample_data/models), models saved in your workspace, and this session's.",
        )
        info = all_checkpoints().get(model_name)
        if info is not None:  # the details under the box, so the name itself is never cut off
            bar.caption(f"{info['mode']} · {info['heads']} head{'s' if info['heads'] != 1 else ''} · d = {info['d']}")
    else:
        bar.info("This dataset has no model yet: train or upload one on the Data page.")
    have = available_devices()
    missing = [_DEVICE_LABELS[d] for d in ("cuda", "mps") if d not in have]
    device = _select(
        bar,
        "Device",
        device_options(),
        "attnrec_device",
        "device",
        "auto",
        "device",
        format_func=lambda d: f"auto → {_DEVICE_LABELS[have[0]]}" if d == "auto" else _DEVICE_LABELS[d],
        help="Where the model runs. Switching device does not change the numbers (beyond ~1e-5).",
    )
    bar.caption(
        f"This machine has: {', '.join(_DEVICE_LABELS[d] for d in have)}"
        + (f" (no {' / '.join(missing)})" if missing else "")
    )
    resolved = str(resolve_device(device))
    model = None
    if model_name is not None:
        try:
            model = get_model(dataset_name, model_name, resolved)
        except Exception as error:  # a broken checkpoint must not take the whole page down
            bar.error(f"Could not load model “{escape_markdown(model_name)}”: {escape_markdown(error)}")
            model_name = None
    write_url(dataset=dataset_name, model=model_name, device=device)
    return Selection(dataset_name, dataset, model_name, model, device, resolved)


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


# ---- attribution methods as widgets ---------------------------------------------------------------


def attribution_methods(level: str) -> list[str]:
    """Registry keys of the methods that work at `level` ("fields" | "dimensions"), IG first."""
    from attnrec.explain import METHODS

    keys = [k for k, spec in METHODS.items() if level in spec.levels]
    return sorted(keys, key=lambda k: k != "ig")


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
        elif p.widget == "slider":
            kind = type(p.default)
            values[p.name] = box.slider(
                p.label,
                min_value=kind(p.min),
                max_value=kind(p.max),
                value=p.default,
                step=kind(p.step),
                help=p.help or None,
                key=key,
            )
        else:
            kind = type(p.default)
            values[p.name] = box.number_input(
                p.label,
                min_value=kind(p.min),
                max_value=kind(p.max),
                value=p.default,
                step=kind(p.step),
                help=p.help or None,
                key=key,
            )
    return values


# ---- heavy results, cached ---------------------------------------------------------------------------


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

    return explain_pair(
        _model, user_id, item_id, method_key, _json.loads(params_json), context=_json.loads(context_json)
    )


@st.cache_data(show_spinner=False, max_entries=256)
def cached_vector_explanation(
    model_key: str, x: tuple, y: tuple, method_key: str, params_json: str, context_json: str, _model: Recommender
) -> PairExplanation:
    """`attnrec.pair_explanation.explain_vectors` for typed X, Y, cached like `cached_explanation`."""
    from attnrec.pair_explanation import explain_vectors

    return explain_vectors(
        _model, list(x), list(y), method_key, _json.loads(params_json), context=_json.loads(context_json)
    )


# ---- picking rows and typed vectors ------------------------------------------------------------------


def choice(
    widget: Callable[..., Any],
    label: str,
    options: Sequence[str],
    state_key: str,
    url_key: str,
    default: str,
    what: str,
    container: DeltaGenerator | None = None,
    **kwargs: Any,
) -> str:
    """`widget` (st.radio, st.selectbox, …) over `options`, seeded from the URL's request, else this
    session's earlier choice (kept under `state_key`), else `default`.

    Streamlit ties widget state to the page, so the same widget on another page would start over; the
    choice therefore lives under `state_key` (copied there by on_change) and is handed to the widget
    on every run.
    """
    box = container or st
    widget_key = f"widget_{state_key}"
    st.session_state[widget_key] = remembered_choice(state_key, url_key, options, default, what)

    def remember():
        st.session_state[state_key] = st.session_state[widget_key]

    value = getattr(box, widget.__name__)(label, list(options), key=widget_key, on_change=remember, **kwargs)
    st.session_state[state_key] = value
    return value


def _matching_rows(frame: pd.DataFrame, query: str) -> pd.DataFrame:
    """Rows where any cell (or the id) contains every word of `query`, case-insensitively."""
    words = [w for w in query.lower().split() if w]
    if not words:
        return frame
    cells = frame.astype(object).where(frame.notna(), "").astype(str)  # missing cells: no text (pandas 3 keeps NaN)
    text = cells.agg(" ".join, axis=1).str.lower() + " " + frame.index.astype(str).str.lower()
    mask = np.ones(len(frame), dtype=bool)
    for word in words:
        mask &= text.str.contains(word, regex=False).to_numpy()
    return frame[mask]


def pick_row(frame: pd.DataFrame, what: str, key: str, current: str, height: int = 230, limit: int = 2000) -> str:
    """A searchable table of `frame` (indexed by id): type to filter, click a row to choose it.

    Returns the clicked row's id, or `current` while no row is clicked. The table's key includes the
    search text, so a new search never carries a row number over to a different row.
    """
    query = st.text_input(
        f"Search {what}s",
        key=f"{key}_search",
        placeholder="any text, e.g. an id or a value",
        label_visibility="collapsed",
    )
    shown = _matching_rows(frame, query)
    if len(shown) > limit:
        st.caption(f"{len(shown)} {what}s match; showing the first {limit}. Narrow the search.")
        shown = shown.iloc[:limit]
    digest = abs(hash(query.strip().lower())) % 10**8
    rows_height = 38 + 35 * max(len(shown), 1)  # header + rows: no empty grid under a short search result
    event = st.dataframe(
        shown,
        key=f"{key}_table_{digest}",
        on_select="rerun",
        selection_mode="single-row",
        height=min(height, rows_height),
        width="stretch",
    )
    if isinstance(event, dict):
        selection: dict = event.get("selection") or {}
        rows = selection.get("rows", [])
    else:
        rows = event.selection.rows
    if rows and rows[0] < len(shown):
        return str(shown.index[rows[0]])
    return current


def parse_vector(text: str | None, d: int) -> list[float] | None:
    """ "0.5,1,-2" → [0.5, 1.0, -2.0] when it holds exactly d finite numbers; otherwise None."""
    if text is None:
        return None
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        return None
    if len(values) != d or not all(math.isfinite(v) and abs(v) <= MAX_TYPED_MAGNITUDE for v in values):
        return None
    return values


def vector_text(values: Iterable[float]) -> str:
    return ",".join(_number_text(v) for v in values)


__all__ += ["choice", "pick_row", "parse_vector", "vector_text"]


@st.cache_resource(show_spinner=False, max_entries=512)
def cached_figure(name: str, view_key: str, _build: Callable[[], go.Figure]) -> go.Figure:
    """The figure `_build()` makes, built once per (name, view) and shared; never mutate the result.

    Plotly validates every property it is given, which makes building a figure cost more than the
    explanation it draws (~20 ms vs ~8 ms per pair); st.plotly_chart copies the figure, never changes it.
    """
    return _build()


__all__ += ["cached_figure"]


# ---- the trust report card ------------------------------------------------------------------------


def report_card_view(table: pd.DataFrame, note: str) -> None:
    """The report card as two tables (against the reference; scored by the model itself), a caption and
    the reason behind each verdict. `table` is `attnrec.trust.card_table(...)`; its row 0 is the reference."""
    from attnrec.figures.explain import style_report_card
    from attnrec.trust import CARD_COLUMN_CONFIG, CARD_FORMATS, CARD_PARTS

    for title, columns in CARD_PARTS.items():
        st.caption(f"**{title.capitalize()}**")
        st.dataframe(
            style_report_card(table[columns], formats=CARD_FORMATS, skip_rows=[0]),
            hide_index=True,
            width="stretch",
            column_config={
                c: st.column_config.Column(label=CARD_COLUMN_CONFIG[c]["label"], help=CARD_COLUMN_CONFIG[c]["help"])
                for c in columns
            },
        )
    st.caption(note)
    with st.expander("Why each verdict"):
        st.markdown("\n".join(f"- **{r.method}** — {r.verdict}: {r.reason}" for r in table.itertuples()))


def page_link(container: DeltaGenerator, page: str, label: str, icon: str | None = None) -> None:
    """`st.page_link` to another page of the app; a page script run on its own (AppTest, `streamlit run
    app_pages/x.py`) has no navigation to link into, so it says where to go in words instead."""
    from streamlit.errors import StreamlitPageNotFoundError

    try:
        container.page_link(page, label=label, icon=icon)
    except StreamlitPageNotFoundError:
        container.caption(f"{label}: open it from the sidebar.")

"""The session's datasets and models: built-ins, the workspace, shipped checkpoints and this session's own,
loaded once and cached; which device torch runs on."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import streamlit as st

from attnrec.app.caches import object_token

if TYPE_CHECKING:
    from attnrec.data.types import Dataset
    from attnrec.model import Recommender
    from attnrec.workspace import Workspace

USER_DATASETS = "user_datasets"  # st.session_state[USER_DATASETS]: name → Dataset, filled by the Data page
USER_MODELS = "user_models"  # st.session_state[USER_MODELS]: name → Recommender (trained / uploaded)
BUILTIN_DATASETS = ("restaurants", "synthetic")
# Shipped checkpoints; ATTNREC_MODELS_DIR points the sidebar at another folder (benchmarks, deployments).
MODELS_DIR = Path(
    os.environ.get("ATTNREC_MODELS_DIR") or Path(__file__).resolve().parents[2] / "sample_data" / "models"
)


def _builtin_available(name: str) -> bool:
    from attnrec.data import SAMPLE_DATA

    return (SAMPLE_DATA / name).is_dir()


def builtin_datasets() -> list[str]:
    """The built-in datasets present on disk, in menu order (the sidebar's default is the first)."""
    return [n for n in BUILTIN_DATASETS if _builtin_available(n)]


@st.cache_resource(show_spinner="Loading dataset…")
def load_builtin_dataset(reference: str) -> Dataset:
    """A built-in dataset by name (or a dataset folder), loaded once per server process."""
    from attnrec.data import load_dataset

    return load_dataset(reference)


SIGNED_IN = "attnrec_signed_in"  # st.session_state: the signed-in user's key ("" for none), read once a session


def _user_key() -> str | None:
    """The signed-in user's e-mail (or subject), or None without sign-in. Read once per session: `st.user` looks
    for secrets files on every access (milliseconds each, several times a rerun), and signing in or out
    starts a new session (st.login, st.logout), so a session's user never changes."""
    if SIGNED_IN not in st.session_state:
        user_key = ""
        try:
            if getattr(st.user, "is_logged_in", False):
                user_key = str(st.user.get("email") or st.user.get("sub") or "")
        except Exception:  # no auth configured: st.user has nothing to say
            user_key = ""
        st.session_state[SIGNED_IN] = user_key
    return st.session_state[SIGNED_IN] or None


def workspace() -> Workspace:
    """This user's workspace (attnrec.workspace): per signed-in user when the server has sign-in, else shared."""
    from attnrec.workspace import Workspace

    return Workspace.namespaced(None, _user_key())


def _folder_stamp(folder: Path) -> float:
    """Changes whenever a child folder is added, removed or renamed (what saving or deleting does)."""
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, max_entries=64)
def _saved_dataset_names(root: str, stamp: float) -> list[str]:
    from attnrec.workspace import Workspace

    return Workspace(root).dataset_names()


def _checkpoint_info(path: Path, config: dict) -> dict:
    """What the sidebar lists about a checkpoint: its path, dataset (reference and name) and shape."""
    dataset = config.get("dataset") or {}
    return {
        "path": str(path),
        "dataset": dataset.get("reference") or dataset.get("name"),
        "dataset_name": dataset.get("name"),
        "mode": config.get("mode"),
        "heads": config.get("heads"),
        "d": config.get("d"),
        "tied": config.get("tied"),
    }


@st.cache_data(show_spinner=False, max_entries=64)
def _saved_model_index(root: str, stamp: float) -> dict[str, dict]:
    from attnrec.workspace import Workspace

    found = {}
    for saved in Workspace(root).models():
        found[saved.name] = {**_checkpoint_info(saved.path, saved.config), "saved": True}
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
    names = builtin_datasets()
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


BROKEN_DATASETS = "attnrec_broken_datasets"  # st.session_state: name → why it could not be loaded


def load_dataset_guarded(name: str) -> tuple[Dataset | None, str | None]:
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
    root = Path(folder)
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            config = read_config(path)
        except CheckpointError:
            continue  # not a checkpoint folder (or a broken one): not offered
        found[path.name] = _checkpoint_info(path, config)
    return found


def checkpoint_names(dataset_name: str) -> list[str]:
    """Checkpoints (shipped, then saved in the workspace) trained on `dataset_name`, in menu order."""
    return [name for name, info in all_checkpoints().items() if info["dataset_name"] == dataset_name]


def model_names(dataset_name: str) -> list[str]:
    """Checkpoints (shipped, then saved in the workspace) trained on `dataset_name`, then this session's
    models whose dataset has that name."""
    shipped = checkpoint_names(dataset_name)
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

    if THREADS_ENV in os.environ or "OMP_NUM_THREADS" not in os.environ:
        apply_threads()

"""The Data page's later sections, each drawn by one function: training (3) and its progress, checkpoints (4),
the workspace (5). `datasets` and `models` are the session's dicts (st.session_state "user_datasets" /
"user_models"); the page (app_pages/data.py) calls these in order after upload and mapping.

The training queue, checkpoint archive builder and session probe are looked up on their modules at call time
(training_job.QUEUE, checkpoint_upload.checkpoint_zip_bytes, session.session_probe), as the page's own imports
did on every run, so a server-wide setting swapped at run time (or in a test) is the one used.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
import streamlit as st

from attnrec import checkpoint_upload, quality_store, training_job
from attnrec.app import session
from attnrec.checkpoint_upload import load_uploaded_checkpoint, split_checkpoint_files
from attnrec.data.types import DataError
from attnrec.data.widths import encoding_preview
from attnrec.limits import LIMITS
from attnrec.safety import escape_markdown
from attnrec.training_job import TrainingJob


def show_error(message: str) -> None:
    st.error(escape_markdown(message), icon=":material/error:")


def train_section(datasets: dict) -> None:
    """3 · Train a model: dataset, recipe and options, encoding widths, the queue; starts a TrainingJob kept in
    st.session_state["data_training_job"]."""
    st.subheader("3 · Train a model")
    job: TrainingJob | None = st.session_state.get("data_training_job")
    if not datasets:
        st.info("Keep a dataset first (step 2); then train a model on it here.")
        return
    from attnrec.training_config import TrainConfig, readable_hybrid

    # Dataset and mode outside the form: the choices offered below depend on them.
    left, middle, right = st.columns(3)
    kept_last = st.session_state.get("data_last_kept")
    dataset_name = left.selectbox(
        "Dataset",
        list(datasets),
        key="data_train_dataset",
        index=list(datasets).index(kept_last) if kept_last in datasets else 0,
    )
    schema = datasets[dataset_name].schema
    recipes = {"latent": "latent (learned dimensions)"}
    if schema.get("aligned_pairs"):
        recipes["aligned"] = "named: paired user ↔ item columns"
    if schema.get("item_features"):
        recipes["history"] = "named: user side from their history"
        recipes["hybrid"] = "readable hybrid: named + taste, sparse attention"
    recipe = middle.radio(
        "Model",
        list(recipes),
        format_func=recipes.get,
        key="data_train_recipe",
        help="Named models put feature names on the attention heatmaps: from columns you paired "
        "(aligned), or from the item attributes of each user's training positives (history). "
        "The readable hybrid adds a taste block learned from ids and 1.5-entmax attention "
        "(the recipe of the shipped restaurants model).",
    )
    mode: Literal["aligned", "latent"] = "latent" if recipe == "latent" else "aligned"
    profile = "history" if recipe in ("history", "hybrid") else "columns"
    try:
        preview_key = (dataset_name, id(datasets[dataset_name]), recipe)
        cached = st.session_state.get("data_encoding_preview")
        if cached is None or cached[0] != preview_key:
            cached = (
                preview_key,
                encoding_preview(
                    datasets[dataset_name],
                    mode,
                    use_ids=recipe == "hybrid",
                    popularity=recipe == "hybrid",
                    user_profile=profile,
                ),
            )
            st.session_state["data_encoding_preview"] = cached
        widths = cached[1]
        too_wide = next((w.problem for w in widths.values() if w.problem), None)
        st.caption(
            escape_markdown(
                " · ".join(
                    f"{w.side}s: {w.rows:,} rows × {w.columns:,} encoded columns"
                    + (f" (widest: '{w.widest}', {w.widest_columns:,})" if w.widest and w.widest_columns > 1 else "")
                    for w in widths.values()
                )
                + f" — limit {LIMITS.encoded_columns:,} columns and {LIMITS.encoded_cells:,} cells per side."
            )
        )
        for note in (n for w in widths.values() for n in w.notes()):
            st.caption(escape_markdown(note + "."))
    except DataError as err:
        too_wide = str(err)
    if too_wide:
        show_error(f"Cannot train in {mode} mode: {too_wide}.")
    queue = training_job.QUEUE
    running, waiting = queue.counts()
    if running >= queue.limits.concurrent_trainings:
        st.info(
            f"The server is training {running} model(s) now (at most {queue.limits.concurrent_trainings} at "
            f"once); a new run waits in a queue ({waiting} waiting).",
            icon=":material/hourglass_top:",
        )
    with st.form("data_train_form", border=False):
        columns = st.columns(4)
        d = columns[0].number_input("d (latent dimensions)", 2, 128, 16, key="data_train_d", disabled=mode == "aligned")
        heads = columns[1].number_input("Heads", 1, 8, 8 if recipe == "hybrid" else 2, key=f"data_train_heads_{recipe}")
        epochs = columns[2].number_input("Epochs", 1, 500, 20, key="data_train_epochs")
        lr = columns[3].number_input("Learning rate", 1e-4, 1.0, 0.01, format="%.4f", key="data_train_lr")
        attention = st.radio(
            "Attention",
            ["softmax", "sparsemax", "entmax15"],
            horizontal=True,
            key="data_train_attention",
            disabled=recipe == "hybrid",
            format_func={
                "softmax": "softmax (the design document's)",
                "sparsemax": "sparsemax",
                "entmax15": "1.5-entmax",
            }.get,
            help="sparsemax and 1.5-entmax can give a dimension exactly zero weight",
        )
        model_name = st.text_input(
            "Model name", value=f"{dataset_name} model", max_chars=60, key=f"data_model_name_{dataset_name}"
        )
        busy = job is not None and not job.snapshot().finished
        start = st.form_submit_button("Train", type="primary", disabled=busy or bool(too_wide))
    if start:
        if recipe == "hybrid":
            config = readable_hybrid(
                heads=int(heads), epochs=int(epochs), lr=float(lr), device="cpu", anneal_epochs=max(1, int(epochs) // 2)
            )
        else:
            config = TrainConfig(
                mode=mode,
                user_profile=profile,
                attention=attention,
                d=int(d),
                heads=int(heads),
                epochs=int(epochs),
                lr=float(lr),
                device="cpu",
            )
        # After training, the job evaluates the model against the baselines (Model health then shows the table at
        # once), unless that is too much for this server (`not_evaluated`).
        evaluate_after = not_evaluated(datasets[dataset_name]) is None
        try:
            job = TrainingJob(
                datasets[dataset_name],
                config,
                name=model_name.strip() or "model",
                alive=session.session_probe(),
                quality_fn=quality_store.compute_and_store if evaluate_after else None,
            ).start()
        except DataError as err:
            show_error(f"Training not started: {err}.")
        else:
            st.session_state["data_training_job"] = job
            st.session_state["data_training_dataset"] = dataset_name


def training_progress(models: dict) -> None:
    """The running (or finished) training job: progress, losses, stop button; a finished model joins `models`."""
    job: TrainingJob | None = st.session_state.get("data_training_job")

    @st.fragment(run_every=1.0 if job is not None and job.snapshot().busy else None)
    def progress() -> None:
        queue = training_job.QUEUE
        job: TrainingJob | None = st.session_state.get("data_training_job")
        if job is None:
            return
        snap = job.snapshot()
        if snap.status == "queued":
            st.info(
                escape_markdown(
                    f"{job.name}: waiting for a free training slot — number {snap.queue_position} in "
                    f"the queue (the server trains at most {queue.limits.concurrent_trainings} models at "
                    f"once). It starts by itself; keep this tab open."
                ),
                icon=":material/hourglass_top:",
            )
        else:
            st.progress(
                snap.fraction,
                text=escape_markdown(
                    f"{job.name}: {snap.status}, epoch {snap.epoch}/{snap.epochs}, {snap.elapsed_s:.1f} s"
                ),
            )
        if snap.history:
            losses = pd.DataFrame(snap.history).set_index("epoch")[["train_loss", "val_loss"]]
            st.line_chart(losses, height=200, x_label="epoch", y_label="loss")
        if not snap.finished:
            if st.button("Stop training", key="data_train_stop"):
                job.stop()
            return
        if snap.status == "failed":
            show_error(f"Training failed: {snap.error}")
        elif snap.status == "cancelled":
            st.info(escape_markdown(f"Training of '{job.name}' was cancelled before it started ({snap.stopped_by})."))
        elif st.session_state.get("data_registered_job") != id(job):
            models[job.name] = snap.result
            st.session_state["data_registered_job"] = id(job)
            st.session_state["data_save_problem"] = session.save_to_workspace(models[job.name], job.name)
            st.rerun(scope="app")  # so the sidebar and the download list see the new model
        else:
            how = "finished"
            if snap.status == "stopped":
                why = f" ({snap.stopped_by})" if snap.stopped_by else ""
                how = f"stopped early{why}; the best epoch so far was kept"
            st.success(escape_markdown(f"Model '{job.name}' {how}. It is listed in the sidebar on every page."))
            quality_note(snap, job)

    progress()


def checkpoints_section(models: dict, datasets: dict) -> None:
    """4 · Checkpoints: download a model as safetensors + JSON, or upload one for a kept dataset."""
    st.subheader("4 · Checkpoints (safetensors + JSON)")
    download_col, upload_col = st.columns(2)
    with download_col:
        if models:
            chosen = st.selectbox("Model to download", list(models), key="data_download_model")
            # Built when asked for (in memory, no temporary files), not on every rerun of the page.
            prepared = st.session_state.get("data_checkpoint_bytes")
            if prepared is None or prepared[0] is not models[chosen]:
                if st.button("Prepare the checkpoint download", key="data_checkpoint_prepare"):
                    try:
                        st.session_state["data_checkpoint_bytes"] = (
                            models[chosen],
                            checkpoint_upload.checkpoint_zip_bytes(models[chosen]),
                        )
                    except (OSError, MemoryError) as err:
                        what = "memory" if isinstance(err, MemoryError) else "disk space, or cannot write"
                        why = getattr(err, "strerror", None) or type(err).__name__
                        show_error(
                            f"Could not build the checkpoint for '{chosen}': the server is out of {what} "
                            f"({why}). Try again later."
                        )
                    else:
                        st.rerun()
            else:
                st.download_button(
                    "Download checkpoint (.zip: model.safetensors + config.json)",
                    prepared[1],
                    file_name="checkpoint.zip",
                    mime="application/zip",
                    key="data_checkpoint_download",
                )
        else:
            st.caption("Train a model to download its checkpoint.")
    with upload_col:
        files = st.file_uploader(
            "Upload model.safetensors + config.json (or a zip of both)",
            accept_multiple_files=True,
            key="data_ckpt_upload",
        )
        if datasets:
            target = st.selectbox("Dataset it was trained on", list(datasets), key="data_ckpt_dataset")
            ckpt_name = st.text_input("Name", value="uploaded model", max_chars=60, key="data_ckpt_name")
            if st.button("Load checkpoint", key="data_ckpt_load", disabled=not files):
                try:
                    weights, config = split_checkpoint_files({f.name: f.getvalue() for f in files})
                    models[ckpt_name.strip() or "uploaded model"] = load_uploaded_checkpoint(
                        weights, config, datasets[target]
                    )
                except DataError as err:
                    show_error(f"{err}. No model was loaded.")
                except (OSError, MemoryError) as err:
                    why = getattr(err, "strerror", None) or type(err).__name__
                    show_error(f"The server could not load this checkpoint now ({why}). No model was loaded.")
                else:
                    loaded_name = ckpt_name.strip() or "uploaded model"
                    st.session_state["data_ckpt_loaded"] = loaded_name
                    st.session_state["data_save_problem"] = session.save_to_workspace(models[loaded_name], loaded_name)
                    st.rerun()
            if st.session_state.get("data_ckpt_loaded") in models:
                st.success(
                    escape_markdown(
                        f"Loaded '{st.session_state['data_ckpt_loaded']}'. It is listed in the sidebar on every page."
                    )
                )
        else:
            st.caption("Keep a dataset first: a checkpoint is checked against the dataset it will explain.")


def workspace_section(models: dict, datasets: dict) -> None:
    """5 · Your workspace: what is saved on the server, with a delete button each."""
    st.subheader("5 · Your workspace")
    if st.session_state.get("data_save_problem"):
        st.warning(escape_markdown(st.session_state["data_save_problem"] + "."), icon=":material/warning:")
    workspace = session.workspace()
    saved_models = session.saved_model_index()
    saved_sets = session.saved_dataset_names()
    st.caption(
        escape_markdown(
            f"Datasets you keep and models you train or upload are saved in {workspace.root}, so "
            "they are here after a reload or a server restart, and links to them keep working. "
            "Models trained with the command line appear here too when saved in its models "
            "folder (attnrec train ... --out <workspace>/models/<name>)."
        )
    )
    if not saved_sets and not saved_models:
        st.caption("Nothing saved yet.")
    for saved_name in saved_sets:
        row = st.columns([4, 1], vertical_alignment="center")
        row[0].text(f"dataset · {saved_name}")
        if row[1].button(
            "Delete",
            key=f"data_ws_delete_dataset_{saved_name}",
            help="Delete this dataset and the models trained on it from the workspace",
        ):
            for gone in workspace.delete_dataset(saved_name) + [saved_name]:
                models.pop(gone, None)
            datasets.pop(saved_name, None)
            st.rerun(scope="app")
    for saved_name, info in saved_models.items():
        row = st.columns([4, 1], vertical_alignment="center")
        row[0].text(f"model · {saved_name} · trained on {info['dataset_name']}")
        if row[1].button(
            "Delete", key=f"data_ws_delete_model_{saved_name}", help="Delete this model from the workspace"
        ):
            workspace.delete_model(saved_name)
            models.pop(saved_name, None)
            st.rerun(scope="app")


def not_evaluated(dataset) -> str | None:
    """Why a model trained on `dataset` is not evaluated against the baselines after training here, or None:
    BPR-MF's epochs over its interactions would be more than one training run may be on this server."""
    rows = len(dataset.interactions)
    if quality_store.MF_EPOCHS * rows <= training_job.QUEUE.limits.training_epoch_rows:
        return None
    return (
        f"Not evaluated against the baselines here: BPR-MF's {quality_store.MF_EPOCHS} epochs over {rows:,} "
        "interactions are more than one training run may be on this server. Model health computes the table on "
        "request."
    )


def quality_note(snap, job: TrainingJob) -> None:
    """The trained model's held-out evaluation against the baselines (the job runs it after training)."""
    skipped = not_evaluated(job.dataset) if snap.quality_status is None else None
    if skipped:
        st.caption(skipped)
    elif snap.quality_status == "running":
        st.info(
            escape_markdown(
                "Evaluating the model on held-out data against popularity and BPR-MF "
                f"({snap.quality_step or 'starting'}…), so Model health can show the table at once. "
                "The model can be used meanwhile."
            ),
            icon=":material/hourglass_top:",
        )
    elif snap.quality_status == "failed":
        show_error(f"The held-out evaluation failed ({snap.quality_error}); Model health can compute it on request.")
    elif snap.quality_status == "done":
        table, protocol = snap.quality
        st.caption(
            f"Held-out quality (leave-one-out, {protocol['users']} users; kept for Model health). The model trained "
            "on all of this data, so its own row is optimistic; the baselines trained on the training split."
        )
        st.dataframe(
            table,
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(c, format="%.3f") for c in table.columns if c not in ("model", "users")
            },
        )
        if st.button("Open it in Model health", icon=":material/monitoring:", key="data_open_health"):
            # The link names the dataset and model, so the sidebar there shows this one (attnrec.app.url).
            trained_on = str(st.session_state.get("data_training_dataset", ""))
            st.switch_page("app_pages/health.py", query_params={"dataset": trained_on, "model": job.name})

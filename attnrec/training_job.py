"""Training in the background, so a browser page can show progress and offer a stop button.

A `TrainingJob` runs the engine's `train` in a daemon thread. The page keeps the job in its session
state and, on every rerun, reads `snapshot()` — a frozen copy of progress taken under a lock, so a rerun
never sees a half-written update. `stop()` sets the Event that `train` checks between batches/epochs;
training then ends early and still returns the best model so far. No Streamlit in here.

A server is shared, so runs are rationed (limits in attnrec.limits): one `TrainingQueue` per process
lets `concurrent_trainings` jobs run at once and keeps the others waiting in order (a snapshot says
where), refusing more than `queued_trainings` waiting; a run may not exceed `training_epoch_rows`
epochs × interactions; and a watchdog stops a run after `training_seconds`, or once its browser
session has been gone for `session_grace_seconds` (the page passes `alive`, a probe of its session).

With `quality_fn` (the Data page passes `attnrec.quality_store.compute_and_store`), the same thread then
evaluates the trained model against the baselines on held-out data, still holding its training slot: the model
is usable as soon as training ends (the snapshot is `finished`), and the snapshot's `quality_*` fields tell the
page how the evaluation goes (`busy` stays true until it is over), so Model health shows the table at once.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from attnrec.data.types import DataError
from attnrec.limits import LIMITS, Limits

if TYPE_CHECKING:
    from attnrec.data.types import Dataset
    from attnrec.training import TrainConfig

__all__ = ["TrainingJob", "JobSnapshot", "TrainingQueue", "QUEUE", "check_training_size"]

# The states a job moves through: queued → running → done | stopped | failed; a job stopped while it
# still waited in the queue ends "cancelled" (no model).
QUEUED, RUNNING, DONE, STOPPED, FAILED, CANCELLED = "queued", "running", "done", "stopped", "failed", "cancelled"
FINISHED = (DONE, STOPPED, FAILED, CANCELLED)


def check_training_size(dataset: Dataset, epochs: int, limits: Limits = LIMITS) -> None:
    """Refuse a run of more than `training_epoch_rows` epochs × interactions (DataError saying how to fit)."""
    interactions = getattr(dataset, "interactions", None)
    if interactions is None:
        return
    rows = len(interactions)
    if epochs * rows > limits.training_epoch_rows:
        most = max(limits.training_epoch_rows // max(rows, 1), 0)
        raise DataError(
            f"{epochs} epochs × {rows:,} interactions is more training than this server allows "
            f"({limits.training_epoch_rows:,} epoch-rows); use at most {most} epochs here, or train "
            f"with the command line (`python -m attnrec train`)"
        )


class TrainingQueue:
    """At most `limits.concurrent_trainings` jobs run at once in this process; later ones wait in order.

    A watchdog thread (started with the first job) stops running jobs that outlive `training_seconds`
    or whose session is gone, and drops waiting jobs whose session is gone."""

    def __init__(self, limits: Limits = LIMITS, tick: float = 0.5):
        self.limits, self.tick = limits, tick
        self._lock = threading.Lock()
        self._running: list[TrainingJob] = []
        self._waiting: deque[TrainingJob] = deque()
        self._watchdog: threading.Thread | None = None

    def submit(self, job: "TrainingJob") -> None:
        with self._lock:
            if len(self._running) < self.limits.concurrent_trainings:
                self._running.append(job)
                job._launch()
            elif len(self._waiting) >= self.limits.queued_trainings:
                raise DataError(
                    f"the server is busy: {len(self._running)} trainings are running and "
                    f"{len(self._waiting)} are waiting; try again in a few minutes"
                )
            else:
                self._waiting.append(job)
            self._ensure_watchdog()

    def position(self, job: "TrainingJob") -> int | None:
        """1-based place of a waiting job in the queue; None when it is not waiting."""
        with self._lock:
            for place, waiting in enumerate(self._waiting, start=1):
                if waiting is job:
                    return place
        return None

    def counts(self) -> tuple[int, int]:
        """(running, waiting) right now."""
        with self._lock:
            return len(self._running), len(self._waiting)

    def cancel(self, job: "TrainingJob", reason: str) -> bool:
        """Take a waiting job out of the queue (it ends "cancelled"); False if it was not waiting."""
        with self._lock:
            if job not in self._waiting:
                return False
            self._waiting.remove(job)
        job._finish_cancelled(reason)
        return True

    def _finished(self, job: "TrainingJob") -> None:
        with self._lock:
            if job in self._running:
                self._running.remove(job)
            while self._waiting and len(self._running) < self.limits.concurrent_trainings:
                following = self._waiting.popleft()
                self._running.append(following)
                following._launch()

    def _ensure_watchdog(self) -> None:
        if self._watchdog is None or not self._watchdog.is_alive():
            self._watchdog = threading.Thread(target=self._watch, name="attnrec-training-watchdog", daemon=True)
            self._watchdog.start()

    def _watch(self) -> None:
        while True:
            time.sleep(self.tick)
            with self._lock:
                running, waiting = list(self._running), list(self._waiting)
            for job in running:
                if job._elapsed() > self.limits.training_seconds:
                    job._stop_because(f"the {self.limits.training_seconds / 60:g}-minute limit per run was reached")
                elif job._session_gone_for() > self.limits.session_grace_seconds:
                    job._stop_because("its browser session ended")
            for job in waiting:
                if job._session_gone_for() > self.limits.session_grace_seconds:
                    self.cancel(job, "its browser session ended")
            with self._lock:
                if not self._running and not self._waiting:
                    self._watchdog = None
                    return


QUEUE = TrainingQueue()


@dataclass(frozen=True)
class JobSnapshot:
    """What a page needs to draw the job: status, epochs so far, their metrics, the result or error."""

    status: str
    epoch: int
    epochs: int
    history: tuple[dict, ...]
    fraction: float  # 0..1 for a progress bar
    elapsed_s: float
    error: str | None = None
    result: object | None = field(default=None, repr=False)  # whatever `train` returned
    queue_position: int | None = None  # 1-based place while waiting for a free slot
    stopped_by: str | None = None  # why it stopped early when not by the user ("its browser session ended")
    quality_status: str | None = None  # after training, with a quality_fn: "running" | "done" | "failed"
    quality_step: str | None = None  # what the evaluation is doing ("BPR-MF")
    quality: object | None = field(default=None, repr=False)  # whatever `quality_fn` returned
    quality_error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def busy(self) -> bool:
        """Training, or evaluating the trained model: the page keeps polling."""
        return not self.finished or self.quality_status == RUNNING


class TrainingJob:
    """One training run in a thread: `start()`, poll `snapshot()`, optionally `stop()`, `join()`.

    `train_fn(dataset, config, progress=False, callback=..., stop_event=...)` defaults to
    `attnrec.training.train`; tests pass a small stand-in with the same keywords.
    """

    def __init__(
        self,
        dataset: Dataset,
        config: TrainConfig,
        *,
        epochs: int | None = None,
        train_fn: Callable | None = None,
        name: str = "model",
        alive: Callable[[], bool] | None = None,
        queue: TrainingQueue | None = None,
        quality_fn: Callable | None = None,
    ):
        self.dataset, self.config, self.name = dataset, config, name
        self.epochs = int(epochs if epochs is not None else getattr(config, "epochs", 0) or 0)
        self._train_fn = train_fn
        self._alive = alive  # False once the session that started the job is gone
        self._queue = queue if queue is not None else QUEUE
        self._quality_fn = quality_fn  # quality_fn(model, progress=callable(step)) after training
        self._quality_status: str | None = None
        self._quality_step: str | None = None
        self._quality: object | None = None
        self._quality_error: str | None = None
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._history: list[dict] = []
        self._status = QUEUED
        self._error: str | None = None
        self._stopped_by: str | None = None
        self._result: object | None = None  # whatever `train_fn` returned
        self._started: float | None = None
        self._ended: float | None = None
        self._gone_since: float | None = None
        self._submitted = False
        self._thread: threading.Thread | None = None

    # ---- control ---------------------------------------------------------------------------------
    def start(self) -> "TrainingJob":
        """Queue the job: it runs at once when a slot is free, else when one frees up (see `snapshot`).
        DataError when the run is too large or the queue is full."""
        if self._submitted:
            raise RuntimeError("this job was already started; make a new TrainingJob to train again")
        check_training_size(self.dataset, self.epochs, self._queue.limits)
        self._queue.submit(self)
        self._submitted = True
        return self

    def stop(self) -> None:
        """Ask training to stop at its next check; the best model so far is kept (a waiting job is cancelled)."""
        self._stop.set()
        self._queue.cancel(self, "stopped before it started")

    def join(self, timeout: float | None = None) -> JobSnapshot:
        self._finished.wait(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot()

    # ---- used by the queue -------------------------------------------------------------------------
    def _launch(self) -> None:
        with self._lock:
            self._status, self._started = RUNNING, time.perf_counter()
        self._thread = threading.Thread(target=self._run, name=f"attnrec-train-{self.name}", daemon=True)
        self._thread.start()

    def _stop_because(self, reason: str) -> None:
        with self._lock:
            if self._stopped_by is None:
                self._stopped_by = reason
        self._stop.set()

    def _finish_cancelled(self, reason: str) -> None:
        with self._lock:
            self._status, self._stopped_by = CANCELLED, self._stopped_by or reason
            self._ended = self._started = time.perf_counter()
        self._finished.set()

    def _elapsed(self) -> float:
        with self._lock:
            return time.perf_counter() - self._started if self._started is not None else 0.0

    def _session_gone_for(self) -> float:
        """Seconds since the job's session was first seen gone (0 while it is alive or unknown)."""
        if self._alive is None:
            return 0.0
        try:
            alive = bool(self._alive())
        except Exception:  # a probe that fails says nothing about the session
            alive = True
        now = time.perf_counter()
        if alive:
            self._gone_since = None
            return 0.0
        self._gone_since = self._gone_since if self._gone_since is not None else now
        return now - self._gone_since

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    # ---- reading -----------------------------------------------------------------------------------
    def snapshot(self) -> JobSnapshot:
        position = self._queue.position(self) if self._status == QUEUED else None
        with self._lock:
            epoch = int(self._history[-1].get("epoch", len(self._history))) if self._history else 0
            done = self._status in FINISHED
            fraction = 1.0 if done else (min(epoch / self.epochs, 1.0) if self.epochs else 0.0)
            end = self._ended if self._ended is not None else time.perf_counter()
            elapsed = end - self._started if self._started is not None else 0.0
            return JobSnapshot(
                status=self._status,
                epoch=epoch,
                epochs=self.epochs,
                history=tuple(dict(h) for h in self._history),
                fraction=fraction,
                elapsed_s=elapsed,
                error=self._error,
                result=self._result,
                queue_position=position,
                stopped_by=self._stopped_by,
                quality_status=self._quality_status,
                quality_step=self._quality_step,
                quality=self._quality,
                quality_error=self._quality_error,
            )

    # ---- the thread ----------------------------------------------------------------------------------
    def _on_epoch(self, epoch: int, metrics: dict) -> None:
        row = {"epoch": int(epoch)}
        row.update({k: _plain(v) for k, v in (metrics or {}).items() if k != "epoch"})
        with self._lock:
            self._history.append(row)

    def _run(self) -> None:
        try:
            self._train()
        finally:
            self._finished.set()
            self._queue._finished(self)  # frees the slot for the next waiting job

    def _train(self) -> None:
        train_fn = self._train_fn
        try:
            if train_fn is None:
                from attnrec.training import train

                train_fn = train
            result = train_fn(self.dataset, self.config, progress=False, callback=self._on_epoch, stop_event=self._stop)
        except Exception as err:  # the page shows the message; the thread must not die silently
            with self._lock:
                self._status, self._ended = FAILED, time.perf_counter()
                self._error = str(err) if isinstance(err, DataError) else f"{type(err).__name__}: {err}"
                self._traceback = traceback.format_exc()
            return
        with self._lock:
            self._result = result
            self._status = STOPPED if self._stop.is_set() else DONE
            self._ended = time.perf_counter()
            if self._quality_fn is None or result is None:
                return
            self._quality_status = RUNNING
        self._evaluate(result)

    def _quality_progress(self, step: str) -> None:
        with self._lock:
            self._quality_step = step

    def _evaluate(self, model) -> None:
        quality_fn = self._quality_fn
        assert quality_fn is not None  # _train calls this only with one
        try:
            quality = quality_fn(model, progress=self._quality_progress)
        except Exception as err:  # the model stays usable; the page says the table could not be made
            with self._lock:
                self._quality_status = FAILED
                self._quality_error = str(err) if isinstance(err, DataError) else f"{type(err).__name__}: {err}"
            return
        with self._lock:
            self._quality, self._quality_status, self._quality_step = quality, DONE, None


def _plain(value):
    """Numbers as floats (tensors and numpy scalars included) so snapshots hold no live tensors."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    return value

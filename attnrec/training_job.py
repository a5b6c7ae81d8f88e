"""Training in the background, so a browser page can show progress and offer a stop button.

A `TrainingJob` runs the engine's `train` in a daemon thread. The page keeps the job in its session
state and, on every rerun, reads `snapshot()` — a frozen copy of progress taken under a lock, so a rerun
never sees a half-written update. `stop()` sets the Event that `train` checks between batches/epochs;
training then ends early and still returns the best model so far. No Streamlit in here.
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["TrainingJob", "JobSnapshot"]

# The states a job moves through: queued → running → done | stopped | failed.
RUNNING, DONE, STOPPED, FAILED = "running", "done", "stopped", "failed"


@dataclass(frozen=True)
class JobSnapshot:
    """What a page needs to draw the job: status, epochs so far, their metrics, the result or error."""

    status: str
    epoch: int
    epochs: int
    history: tuple[dict, ...]
    fraction: float                 # 0..1 for a progress bar
    elapsed_s: float
    error: str | None = None
    result: object | None = field(default=None, repr=False)   # whatever `train` returned

    @property
    def finished(self) -> bool:
        return self.status in (DONE, STOPPED, FAILED)


class TrainingJob:
    """One training run in a thread: `start()`, poll `snapshot()`, optionally `stop()`, `join()`.

    `train_fn(dataset, config, progress=False, callback=..., stop_event=...)` defaults to
    `attnrec.training.train`; tests pass a small stand-in with the same keywords.
    """

    def __init__(self, dataset, config, *, epochs: int | None = None, train_fn: Callable | None = None,
                 name: str = "model"):
        self.dataset, self.config, self.name = dataset, config, name
        self.epochs = int(epochs if epochs is not None else getattr(config, "epochs", 0) or 0)
        self._train_fn = train_fn
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._history: list[dict] = []
        self._status = "queued"
        self._error: str | None = None
        self._result = None
        self._started = self._ended = None
        self._thread: threading.Thread | None = None

    # ---- control ---------------------------------------------------------------------------------
    def start(self) -> "TrainingJob":
        if self._thread is not None:
            raise RuntimeError("this job was already started; make a new TrainingJob to train again")
        with self._lock:
            self._status, self._started = RUNNING, time.perf_counter()
        self._thread = threading.Thread(target=self._run, name=f"attnrec-train-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to stop at its next check; the best model so far is kept."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> JobSnapshot:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    # ---- reading -----------------------------------------------------------------------------------
    def snapshot(self) -> JobSnapshot:
        with self._lock:
            epoch = int(self._history[-1].get("epoch", len(self._history))) if self._history else 0
            done = self._status in (DONE, STOPPED, FAILED)
            fraction = 1.0 if done else (min(epoch / self.epochs, 1.0) if self.epochs else 0.0)
            end = self._ended if self._ended is not None else time.perf_counter()
            elapsed = end - self._started if self._started is not None else 0.0
            return JobSnapshot(status=self._status, epoch=epoch, epochs=self.epochs,
                               history=tuple(dict(h) for h in self._history), fraction=fraction,
                               elapsed_s=elapsed, error=self._error, result=self._result)

    # ---- the thread ----------------------------------------------------------------------------------
    def _on_epoch(self, epoch: int, metrics: dict) -> None:
        row = {"epoch": int(epoch)}
        row.update({k: _plain(v) for k, v in (metrics or {}).items() if k != "epoch"})
        with self._lock:
            self._history.append(row)

    def _run(self) -> None:
        train_fn = self._train_fn
        try:
            if train_fn is None:
                from attnrec.training import train as train_fn
            result = train_fn(self.dataset, self.config, progress=False, callback=self._on_epoch,
                              stop_event=self._stop)
        except Exception as err:  # the page shows the message; the thread must not die silently
            with self._lock:
                self._status, self._ended = FAILED, time.perf_counter()
                self._error = f"{type(err).__name__}: {err}"
                self._traceback = traceback.format_exc()
            return
        with self._lock:
            self._result = result
            self._status = STOPPED if self._stop.is_set() else DONE
            self._ended = time.perf_counter()


def _plain(value):
    """Numbers as floats (tensors and numpy scalars included) so snapshots hold no live tensors."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    return value

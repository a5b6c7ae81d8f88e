"""Pick the torch device a model runs on — explicitly, with no silent fallback.

Asking for a device this machine lacks is an error that says what is available, because a page or a
CLI run that quietly drops from CUDA to CPU hides the very thing the user asked about.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where a device is looked at: the CLI parses its arguments without it
    import torch

__all__ = [
    "available_devices",
    "resolve_device",
    "DEVICE_CHOICES",
    "single_cpu_thread",
    "THREADS_ENV",
    "configured_threads",
    "apply_threads",
]

THREADS_ENV = "ATTNREC_THREADS"

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
_LABELS = {"cuda": "CUDA", "mps": "MPS (Apple GPU)", "cpu": "CPU"}


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Device kinds usable here, best first; always ends with "cpu"."""
    import torch

    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    return found + ["cpu"]


def resolve_device(requested: str | torch.device = "auto") -> torch.device:
    """ "auto" → the best available device; "cpu" | "cuda" | "cuda:N" | "mps" → that device or ValueError."""
    import torch

    if isinstance(requested, torch.device):
        requested = str(requested)
    name = str(requested).strip().lower()
    available = available_devices()
    if name == "auto":
        return torch.device(available[0])
    kind, _, index = name.partition(":")
    if kind not in DEVICE_CHOICES[1:]:
        raise ValueError(f"unknown device '{requested}'; choose one of: {', '.join(DEVICE_CHOICES)}")
    if kind not in available:
        raise ValueError(
            f"{_LABELS[kind]} was requested but this machine has no {_LABELS[kind]} device; "
            f"available: {', '.join(available)}"
        )
    if index:
        if kind != "cuda" or not index.isdigit():
            raise ValueError(f"bad device '{requested}'; only CUDA takes an index, like 'cuda:0'")
        count = torch.cuda.device_count()
        if int(index) >= count:
            raise ValueError(f"device '{requested}' does not exist; this machine has {count} CUDA device(s)")
    return torch.device(name)


def configured_threads() -> int:
    """The torch intra-op threads attnrec uses for its (small) CPU work: $ATTNREC_THREADS, else 1.

    The one place this is decided. The models here are tiny (batches of a few hundred rows, d ≤ 64):
    splitting each op across threads costs more than it saves, and on a busy machine it was 10× slower
    (measured: BPR-MF, 30 epochs on restaurants, 2.8 s with 2 threads vs 0.23 s with 1; `attnrec evaluate`
    9.4×). Set ATTNREC_THREADS=4 (say) for big catalogs on an idle machine.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return 1
    try:
        count = int(raw)
    except ValueError:
        raise ValueError(f"{THREADS_ENV} must be a whole number ≥ 1, got {raw!r}") from None
    if count < 1:
        raise ValueError(f"{THREADS_ENV} must be a whole number ≥ 1, got {raw!r}")
    return count


def apply_threads() -> int:
    """Set torch's thread count to `configured_threads()` for this process (the CLI and the app call it once)."""
    import torch

    count = configured_threads()
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count


@contextlib.contextmanager
def single_cpu_thread(device: torch.device | str = "cpu") -> Iterator[None]:
    """Run small CPU work on `configured_threads()` intra-op threads (1 unless $ATTNREC_THREADS says
    otherwise), then restore the previous count. Library calls (training, baselines) use it, so a caller's
    own torch setting is left as it was."""
    import torch

    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    count = configured_threads()
    if count != before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)

"""Run a chunked job on the chosen engine, then combine its parts into the output file.

"local": this process, chunk after chunk (`chunks.run_local`). "ray": Ray Data on a local Ray instance or a
cluster (`ray_engine.run_ray`; needs `pip install -e .[scale]`). Both call the job's one chunk function on the
same chunks and end with the same `chunks.combine`, so the output file has the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from attnrec.model import Recommender
    from attnrec.scale.chunks import ChunkJob

__all__ = ["ENGINES", "JOB_ERRORS", "run_job", "add_engine_arguments", "engine_device"]

# What a job's CLI reports in one line (exit 2) instead of a traceback: bad input (CheckpointError and DataError are
# ValueErrors), a missing file, an unknown id, Ray not installed, a cluster that cannot be reached.
JOB_ERRORS = (ValueError, FileNotFoundError, KeyError, ImportError, ConnectionError)

ENGINES = ("local", "ray")


def run_job(
    job: ChunkJob,
    model: Recommender,
    *,
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    on_chunk_done: Callable[[int], None] | None = None,
) -> Path:
    """Compute the job's unfinished chunks on `engine`, then combine. Returns the output path.

    address / workers: the Ray engine's cluster (None: a local Ray started here, or the one this process is
    already connected to) and actor count (None: one per CPU of the cluster). on_chunk_done(i) is called
    once chunk i is on disk and recorded (tests use it to simulate an interruption)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "local" and (address is not None or workers is not None):
        raise ValueError("--address and --workers apply to --engine ray")
    # Imported here: `add_engine_arguments` is what the commands' parsers need, and it needs none of pandas and
    # pyarrow (a command's --help answers at once).
    from attnrec.scale.chunks import Manifest, combine, run_local

    manifest = Manifest(job)
    if engine == "ray":
        from attnrec.scale.ray_engine import run_ray

        run_ray(job, manifest, address=address, workers=workers, progress=progress, on_chunk_done=on_chunk_done)
    else:
        run_local(job, model, manifest, progress=progress, on_chunk_done=on_chunk_done)
    return combine(job)


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """--engine / --address / --workers, the same on every command that runs a chunked job."""
    group = parser.add_argument_group("engine (where the chunks run)")
    group.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: this process; ray: Ray Data actors, the model loaded once per worker "
        '(pip install -e ".[scale]"); the output is the same bytes',
    )
    group.add_argument(
        "--address", default=None, help="ray: the Ray cluster to use (default: start a local Ray on this machine)"
    )
    group.add_argument("--workers", type=int, default=None, help="ray: actors, one CPU each (default: every CPU)")


def engine_device(args: argparse.Namespace) -> str:
    """The device to load the driver's model on: --device, except that the Ray engine's workers are CPU
    actors, so --engine ray takes only --device cpu (or auto, which means cpu there)."""
    device = str(getattr(args, "device", "cpu"))
    if args.engine == "ray":
        if device not in ("cpu", "auto"):
            raise ValueError(f"--engine ray runs on CPU workers; --device {device} applies to --engine local")
        return "cpu"
    if args.address is not None or args.workers is not None:
        raise ValueError("--address and --workers apply to --engine ray")
    return device

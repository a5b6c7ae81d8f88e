"""Progress bars for the long steps (training, validation, baselines, evaluation), one rule everywhere.

`progress`: True shows a bar, False hides it, None (the CLI's default) shows it only when stderr is a
terminal, so logs and pipes stay clean. Bars write to stderr, so `--json` output on stdout stays parseable.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

__all__ = ["progress_bar", "wanted"]


def wanted(progress: bool | None) -> bool:
    """Whether a bar is shown for this `progress` setting (None: when stderr is a terminal)."""
    if progress is None:
        try:
            return bool(sys.stderr.isatty())
        except (AttributeError, ValueError):  # a closed or replaced stderr
            return False
    return bool(progress)


def progress_bar(
    iterable: Iterable | None = None,
    *,
    desc: str,
    progress: bool | None,
    total: int | None = None,
    leave: bool = False,
    **kwargs: Any,
) -> tqdm:
    """tqdm over `iterable` (or a manual bar with `total`), disabled unless `wanted(progress)`."""
    return tqdm(iterable, desc=desc, total=total, disable=not wanted(progress), leave=leave, file=sys.stderr, **kwargs)

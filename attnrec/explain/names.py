"""The explain package's names and limits that commands and pages need before any explaining is done: the
attribution levels, the baselines (what "absent" means; `model_targets` says what each one is at each level), and
the exact-Shapley group limit. Nothing here imports torch, so a command's --help answers at once."""

from __future__ import annotations

__all__ = ["LEVELS", "BASELINES", "BASELINE_LABELS", "MAX_GROUPS"]

LEVELS = ("fields", "dimensions")
BASELINES = ("zeros", "mean", "unknown")
# What each baseline is called on the pages' switches.
BASELINE_LABELS = {"zeros": "zeros", "mean": "dataset mean", "unknown": "“unknown” category (all fields missing)"}
# Exact Shapley enumerates all 2^n coalitions of n groups: past this many, the reference is sampled.
MAX_GROUPS = 16

"""Explanation speed: batched Captum IG and exact Shapley vs a per-pair loop over Captum.

    python benchmarks/explain.py [--pairs 10000] [--shapley-pairs 1000] [--loop-sample 200]

Targets (2 CPU cores): IG, 50 steps, 10,000 pairs ≤ 3 s and ≥ 10× the loop; exact Shapley,
12 groups, 1,000 pairs ≤ 2 s. The loop is timed on a sample of pairs and extrapolated.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from captum.attr import IntegratedGradients

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from attnrec.explain import explain
from attnrec.explain.target import AttendScore, dimension_target


def median_of(repeats, fn):
    """Median wall seconds of `repeats` runs; the range is printed beside each result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    median_of.spread = f"median of {repeats}, range {min(times):.2f}–{max(times):.2f} s"
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--shapley-pairs", type=int, default=1_000)
    parser.add_argument("--loop-sample", type=int, default=200)
    parser.add_argument("--d", type=int, default=12)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    score = AttendScore(
        0.3 * torch.randn(args.heads, args.d, args.d, generator=g),
        0.3 * torch.randn(args.heads, args.d, args.d, generator=g),
    )
    x, y = torch.randn(args.pairs, args.d, generator=g), torch.randn(args.pairs, args.d, generator=g)
    print(
        f"os.cpu_count() = {os.cpu_count()}, torch threads = {torch.get_num_threads()}, "
        f"d = {args.d}, heads = {args.heads}"
    )

    target = dimension_target(score, x, y)
    explain(target.subset(slice(0, 100)), "ig")  # warm-up
    batched = median_of(args.repeats, lambda: explain(target, "ig", {"n_steps": 50}))

    ig = IntegratedGradients(score)
    zero = torch.zeros(1, args.d)
    sample = args.loop_sample

    def loop():
        for b in range(sample):
            ig.attribute((x[b : b + 1], y[b : b + 1]), baselines=(zero, zero), n_steps=50)

    batched_spread = median_of.spread
    per_pair = median_of(1, loop) / sample
    loop_total = per_pair * args.pairs
    print(
        f"IG (50 steps), {args.pairs} pairs: batched {batched:.2f} s ({args.pairs / batched:,.0f} pairs/s); "
        f"per-pair Captum loop ≈ {loop_total:.1f} s ({1 / per_pair:,.0f} pairs/s, timed on {sample}); "
        f"speed-up {loop_total / batched:.0f}× ({batched_spread})"
    )

    shap_target = target.subset(slice(0, args.shapley_pairs))
    explain(shap_target.subset(slice(0, 10)), "shapley_exact")
    exact = median_of(args.repeats, lambda: explain(shap_target, "shapley_exact"))
    print(
        f"exact Shapley ({args.d} groups, {2**args.d} coalitions), {args.shapley_pairs} pairs: {exact:.2f} s "
        f"({args.shapley_pairs / exact:,.0f} pairs/s; {median_of.spread})"
    )


if __name__ == "__main__":
    main()

"""Throughput of scoring one user against a catalog: `attention_scores` for 10^4, 10^5, 10^6 items.

    python benchmarks/attend.py                     # d=32, H=4, tied and untied, the default chunk size
    python benchmarks/attend.py --chunk-sizes 2048 8192 32768   # also sweep chunk sizes
    python benchmarks/attend.py --check             # first check the fast path against attend() on 10^4 items
    python benchmarks/attend.py --sizes 10000000 --repeats 3     # 10^7 items: memory stays bounded (chunks)

Each size is timed --repeats times (after a warm-up); reported: the median CPU time and its range, and the
median wall time. CPU time is what the scoring costs; on a shared machine wall time also counts waiting
for a core. Beside each, the *floor* measured in the same run on the same data: the two operations no
scorer can skip — the logits matmul (N, d) @ (d, H·d per side) and one exp over them — in the same chunks, and
"of floor" = floor CPU / scoring CPU (100 % = scoring costs no more than matmul + exp). Goal ≥ 50 %.
The peak extra memory of the scoring (tracemalloc does not see torch; this is the growth of the process's
peak RSS) is reported for the largest size. Threads: ATTNREC_THREADS (default 1), or --threads.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from attnrec.attention import attend, attention_scores


def make_case(n_items: int, d: int, heads: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(d, generator=generator)
    items = torch.randn(n_items, d, generator=generator)
    # Scaled like trained weights: logits of order 1, so softmax is neither flat nor one-hot.
    w_u = torch.randn(heads, d, d, generator=generator) / d**0.5
    w_v = torch.randn(heads, d, d, generator=generator) / d**0.5
    return x, items, w_u, w_v


def timings(fn, repeats: int) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds) of each of `repeats` runs, after one warm-up run."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def floor_fn(x, items, w_u, w_v, chunk_size: int):
    """The matmul + exp every scorer must do, in the same chunks as the scorer (results discarded)."""
    stacked = w_u if w_v is None else torch.cat([w_u, w_v])
    w_all = (stacked * x).reshape(-1, items.shape[1]).T.contiguous()
    out = torch.empty(min(chunk_size, items.shape[0]), w_all.shape[1])

    def run():
        with torch.no_grad():
            for start in range(0, items.shape[0], chunk_size):
                y = items[start : start + chunk_size]
                e = torch.mm(y, w_all, out=out[: y.shape[0]])
                e.exp_()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**4, 10**5, 10**6])
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument(
        "--chunk-sizes",
        type=int,
        nargs="+",
        default=[None],
        help="chunk sizes to try (default: attention_scores' own default)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: ATTNREC_THREADS, else 1)")
    parser.add_argument("--check", action="store_true", help="check against attend() before timing")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    else:
        from attnrec.device import apply_threads

        apply_threads()

    print(
        f"cores: {os.cpu_count()}  torch threads: {torch.get_num_threads()}  torch {torch.__version__}  "
        f"d={args.d} H={args.heads} float32, {args.repeats} runs each, load {os.getloadavg()[0]:.2f}"
    )
    if args.check:
        x, items, w_u, w_v = make_case(10**4, args.d, args.heads)
        for tied in (True, False):
            wv = None if tied else w_v
            error = (attention_scores(x, items, w_u, wv) - attend(x, items, w_u, wv).s).abs().max().item()
            print(f"check ({'tied' if tied else 'untied'}): max |fast − attend| = {error:.2e}")
            assert error < 1e-4, "attention_scores disagrees with attend"

    header = (
        f"{'items':>10} {'mode':>7} {'chunk':>7} {'CPU s median (range)':>24} {'wall s':>7} "
        f"{'floor CPU s':>11} {'of floor':>8} {'items/s':>12}"
    )
    print(header)
    print("-" * len(header))
    fractions = []
    for n_items in args.sizes:
        x, items, w_u, w_v = make_case(n_items, args.d, args.heads)
        for tied in (True, False):
            for chunk in args.chunk_sizes:
                kwargs = {} if chunk is None else {"chunk_size": chunk}
                used_chunk = chunk or inspect.signature(attention_scores).parameters["chunk_size"].default
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                walls, cpus = timings(
                    functools.partial(attention_scores, x, items, w_u, None if tied else w_v, **kwargs), args.repeats
                )
                grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
                _, floor_cpus = timings(floor_fn(x, items, w_u, None if tied else w_v, used_chunk), args.repeats)
                cpu, floor = statistics.median(cpus), statistics.median(floor_cpus)
                fractions.append(floor / cpu)
                print(
                    f"{n_items:>10,} {'tied' if tied else 'untied':>7} {used_chunk:>7} "
                    f"{cpu:>9.3f} ({min(cpus):.3f}–{max(cpus):.3f}) {statistics.median(walls):>7.3f} "
                    f"{floor:>11.3f} {floor / cpu:>8.0%} {n_items / cpu:>12,.0f}"
                    + (f"  peak RSS +{grown:.0f} MiB" if grown > 1 else "")
                )
    print(
        f"catalog scoring at {statistics.median(fractions):.0%} of the matmul + exp floor (median over the rows; "
        f"goal ≥ 50 %)"
    )


if __name__ == "__main__":
    main()

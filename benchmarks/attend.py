"""Throughput of scoring one user against a catalog: `attention_scores` for 10^4, 10^5, 10^6 items.

    python benchmarks/attend.py                     # d=32, H=4, tied and untied, the default chunk size
    python benchmarks/attend.py --chunk-sizes 2048 8192 32768   # also sweep chunk sizes
    python benchmarks/attend.py --check             # first check the fast path against attend() on 10^4 items

Reports the best of --repeats wall-clock runs (other processes on a shared machine only ever slow a run
down) and the CPU seconds of that run. Target: 10^6 items in ≤ 0.5 s on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from attnrec.attention import attend, attention_scores

TARGET_SECONDS = 0.5


def make_case(n_items: int, d: int, heads: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(d, generator=generator)
    items = torch.randn(n_items, d, generator=generator)
    # Scaled like trained weights: logits of order 1, so softmax is neither flat nor one-hot.
    w_u = torch.randn(heads, d, d, generator=generator) / d ** 0.5
    w_v = torch.randn(heads, d, d, generator=generator) / d ** 0.5
    return x, items, w_u, w_v


def best_run(fn, repeats: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the fastest of `repeats` runs, after one warm-up run."""
    fn()
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**4, 10**5, 10**6])
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--chunk-sizes", type=int, nargs="+", default=[None],
                        help="chunk sizes to try (default: attention_scores' own default)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--check", action="store_true", help="check against attend() before timing")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"cores: {os.cpu_count()}  torch threads: {torch.get_num_threads()}  torch {torch.__version__}  "
          f"d={args.d} H={args.heads} float32, best of {args.repeats}")
    if args.check:
        x, items, w_u, w_v = make_case(10**4, args.d, args.heads)
        for tied in (True, False):
            wv = None if tied else w_v
            error = (attention_scores(x, items, w_u, wv) - attend(x, items, w_u, wv).s).abs().max().item()
            print(f"check ({'tied' if tied else 'untied'}): max |fast − attend| = {error:.2e}")
            assert error < 1e-4, "attention_scores disagrees with attend"

    header = f"{'items':>9} {'mode':>7} {'chunk':>7} {'wall s':>8} {'cpu s':>7} {'items/s':>12}"
    print(header)
    print("-" * len(header))
    for n_items in args.sizes:
        x, items, w_u, w_v = make_case(n_items, args.d, args.heads)
        for tied in (True, False):
            for chunk in args.chunk_sizes:
                kwargs = {} if chunk is None else {"chunk_size": chunk}
                wall, cpu = best_run(lambda: attention_scores(x, items, w_u, None if tied else w_v, **kwargs),
                                     args.repeats)
                mark = "" if n_items < 10**6 else ("  ok" if wall <= TARGET_SECONDS else f"  > {TARGET_SECONDS} s")
                print(f"{n_items:>9,} {'tied' if tied else 'untied':>7} {chunk or 'default':>7} {wall:>8.3f} "
                      f"{cpu:>7.3f} {n_items / wall:>12,.0f}{mark}")


if __name__ == "__main__":
    main()

"""Throughput of scoring one user against a catalog: `attention_scores` for 10^4, 10^5, 10^6 items.

    python benchmarks/attend.py                     # d=32, H=4, tied and untied, the default chunk size
    python benchmarks/attend.py --chunk-sizes 2048 8192 32768   # also sweep chunk sizes
    python benchmarks/attend.py --check             # first check the fast path against attend() on 10^4 items
    python benchmarks/attend.py --sizes 10000000 --repeats 3     # 10^7 items: memory stays bounded (chunks)

Each size is timed --repeats times (after a warm-up), each round timing the floor and then the scorers, so
a change in the machine's load moves both sides of a round's ratio alike. Reported: the median CPU time and
its range, the median wall time, and "of floor", the median of the rounds' floor CPU / scoring CPU (100 % =
scoring costs no more than matmul + exp; goal ≥ 50 %). CPU time is what the scoring costs; on a shared
machine wall time also counts waiting for a core. The *floor*, measured in the same run on the same data, is
the two operations no scorer can skip — the logits matmul (N, d) @ (d, H·d per side) and one exp over them —
in the same chunks, timed on both layouts and the faster taken.
Two catalog layouts are scored (--layouts): item-last, a (d, N) tensor seen through .T — the layout
`Recommender` keeps its encoded catalog in, so the app's and CLI's scoring is this row — and row-major (N, d),
a tensor a library caller builds.
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
from collections import defaultdict
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


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of fn."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def floor_fn(x, items, w_u, w_v, chunk_size: int, layout: str):
    """The matmul + exp every scorer must do, in the same chunks as the scorer (results discarded): item-first,
    (chunk, d) @ (d, H·d per side), on a row-major catalog; item-last, (H·d per side, d) @ (d, chunk) slices."""
    stacked = w_u if w_v is None else torch.cat([w_u, w_v])
    w_logits = (stacked * x).reshape(-1, items.shape[1])
    n = items.shape[0]
    if layout == "row-major":
        w_all = w_logits.T.contiguous()
        out = torch.empty(min(chunk_size, n), w_all.shape[1])
    else:
        columns, w_all = items.t(), w_logits.contiguous()
        out = torch.empty(w_all.shape[0], min(chunk_size, n))

    def run():
        with torch.no_grad():
            for start in range(0, n, chunk_size):
                if layout == "row-major":
                    y = items[start : start + chunk_size]
                    e = torch.mm(y, w_all, out=out[: y.shape[0]])
                else:
                    y_t = columns[:, start : start + chunk_size]
                    e = torch.mm(w_all, y_t, out=out[:, : y_t.shape[1]])
                e.exp_()

    return run


def laid_out(items: torch.Tensor, layout: str) -> torch.Tensor:
    """Row-major (N, d), or item-last: a (d, N) tensor seen through .T, the layout `Recommender` keeps."""
    return items if layout == "row-major" else items.t().contiguous().t()


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
    parser.add_argument(
        "--layouts",
        nargs="+",
        choices=["item-last", "row-major"],
        default=["item-last", "row-major"],
        help="catalog layouts to score (item-last is the one the app's model keeps)",
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
            reference = attend(x, items, w_u, wv).s
            for layout in args.layouts:
                error = (attention_scores(x, laid_out(items, layout), w_u, wv) - reference).abs().max().item()
                print(f"check ({'tied' if tied else 'untied'}, {layout}): max |fast − attend| = {error:.2e}")
                assert error < 1e-4, "attention_scores disagrees with attend"

    header = (
        f"{'items':>10} {'mode':>7} {'layout':>9} {'chunk':>7} {'CPU s median (range)':>24} {'wall s':>7} "
        f"{'floor CPU s':>11} {'of floor':>8} {'items/s':>12}"
    )
    print(header)
    print("-" * len(header))
    fractions: dict[str, list[float]] = {layout: [] for layout in args.layouts}
    for n_items in args.sizes:
        x, row_major, w_u, w_v = make_case(n_items, args.d, args.heads)
        # Both layouts are built once: the floor is timed on each, whichever layouts are scored.
        both = {"row-major": row_major, "item-last": laid_out(row_major, "item-last")}
        catalogs = {layout: both[layout] for layout in args.layouts}
        for tied in (True, False):
            wv = None if tied else w_v
            for chunk in args.chunk_sizes:
                kwargs = {} if chunk is None else {"chunk_size": chunk}
                used_chunk = chunk or inspect.signature(attention_scores).parameters["chunk_size"].default
                floors = [floor_fn(x, items, w_u, wv, used_chunk, layout) for layout, items in both.items()]
                for floor_run in floors:
                    floor_run()  # warm-up
                scorers, grown = {}, {}
                for layout, items in catalogs.items():
                    scorers[layout] = functools.partial(attention_scores, x, items, w_u, wv, **kwargs)
                    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                    scorers[layout]()  # warm-up; its buffers are the peak memory
                    grown[layout] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
                # Interleaved: each round times the floor (the faster layout's: the stricter bar) and then every
                # scorer, so a change in the machine's load moves both sides of a round's ratio alike.
                floor_cpus, walls, cpus, ratios = [], defaultdict(list), defaultdict(list), defaultdict(list)
                for _ in range(args.repeats):
                    floor_cpus.append(min(timed(floor_run)[1] for floor_run in floors))
                    for layout, scorer in scorers.items():
                        wall, cpu = timed(scorer)
                        walls[layout].append(wall)
                        cpus[layout].append(cpu)
                        ratios[layout].append(floor_cpus[-1] / cpu)
                floor = statistics.median(floor_cpus)
                for layout in catalogs:
                    cpu, ratio = statistics.median(cpus[layout]), statistics.median(ratios[layout])
                    fractions[layout].append(ratio)
                    print(
                        f"{n_items:>10,} {'tied' if tied else 'untied':>7} {layout:>9} {used_chunk:>7} "
                        f"{cpu:>9.3f} ({min(cpus[layout]):.3f}–{max(cpus[layout]):.3f}) "
                        f"{statistics.median(walls[layout]):>7.3f} {floor:>11.3f} {ratio:>8.0%} {n_items / cpu:>12,.0f}"
                        + (f"  peak RSS +{grown[layout]:.0f} MiB" if grown[layout] > 1 else "")
                    )
    for layout, values in fractions.items():
        print(
            f"catalog scoring ({layout}{', the model’s layout' if layout == 'item-last' else ''}) at "
            f"{statistics.median(values):.0%} of the matmul + exp floor (median over the rows; goal ≥ 50 %)"
        )


if __name__ == "__main__":
    main()

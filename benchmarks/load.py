"""Load: many sessions rerunning Explore at once on one shared (st.cache_resource) model.

    python benchmarks/load.py [--sessions 20] [--reruns 6] [--method ig]

Each session is its own Streamlit AppTest (its own session state and URL), all in one process, so
they share the cached dataset and model exactly as browser sessions served by one `streamlit run`
do. All sessions start together; each reruns Explore `--reruns` times, alternating a new pair (a
link asking for another user/item: cache miss, a fresh explanation) and a plain rerun (cache hit).
Reports p50 / p95 rerun wall time, errors, and whether any session showed another session's pair.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from attnrec.app.load_sessions import default_pairs, run_load  # noqa: E402


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--reruns", type=int, default=6)
    parser.add_argument("--method", default="ig")
    args = parser.parse_args(argv)

    pairs, expected = default_pairs()
    # Warm the process-wide caches once (dataset, model), as a running server would have them.
    warm = run_load(1, 0, args.method, pairs, expected)
    if warm[0].errors:
        print("warm-up failed:", warm[0].errors[:3])
        return 1
    tick = time.perf_counter()
    results = run_load(args.sessions, args.reruns, args.method, pairs, expected)
    wall = time.perf_counter() - tick
    times = [t * 1000 for r in results for t in r.rerun_seconds]
    errors = [e for r in results for e in r.errors]
    mixups = [m for r in results for m in r.mixups]
    print(
        f"{args.sessions} concurrent Explore sessions × {args.reruns} reruns ({args.method}), "
        f"{len(times)} reruns in {wall:.1f} s"
    )
    if times:
        print(
            f"rerun wall time: p50 {statistics.median(times):.0f} ms, p95 {percentile(times, 95):.0f} ms, "
            f"max {max(times):.0f} ms  (all sessions compete for the same CPU cores)"
        )
    print(f"errors: {len(errors)}   sessions shown another session's pair or score: {len(mixups)}")
    for line in (errors + mixups)[:10]:
        print("  ", line)
    return 1 if errors or mixups else 0


if __name__ == "__main__":
    sys.exit(main())

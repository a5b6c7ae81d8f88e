"""Batch explain throughput, single process vs a local Ray: pairs/s for IG and exact Shapley at the fields level.

    python benchmarks/ray_throughput.py [--ig-pairs 20000] [--shapley-pairs 4000] [--workers 2] [--repeats 3]

The model: an aligned attention model (untrained, seeded: speed does not depend on the weights) over a generated
synthetic dataset with 6 genres, so the fields level has 12 groups (exact Shapley: 4,096 coalitions per pair),
saved as a checkpoint in a temporary folder (the Ray workers load it from there). The same `explain_pairs`
job (chunks of --chunk-size pairs, IG at its default 50 steps) runs on the local engine (this process, one
torch thread) and on the Ray engine (`ray.init(num_cpus=--workers)`, one actor per CPU, started once here;
each run pays its actor pool's start-up, printed separately as the run time of a one-chunk job). Each
configuration is timed --repeats times; the median and the range are printed, with the load average
before and after (the machine may be shared). The outputs of the two engines are checked to be byte-identical.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from attnrec.data import Featurizer, load_dataset  # noqa: E402
from attnrec.data.synthetic import generate, write  # noqa: E402
from attnrec.device import apply_threads  # noqa: E402
from attnrec.explain.batch import explain_pairs  # noqa: E402
from attnrec.model import Recommender  # noqa: E402


def timed(repeats: int, run) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ig-pairs", type=int, default=20_000)
    parser.add_argument("--shapley-pairs", type=int, default=4_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    apply_threads()  # one torch thread, as the CLI and each Ray actor
    import ray

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="attnrec-ray-bench-"))
    write(generate(seed=0, n_users=1000, n_items=500, n_dims=6, n_driving=3), work / "data")
    dataset = load_dataset(str(work / "data"))
    torch.manual_seed(0)
    model = Recommender.from_featurizer(Featurizer.fit(dataset, "aligned"), dataset, heads=2)
    checkpoint = work / "model"
    model.save(checkpoint)
    model = Recommender.load(checkpoint, "cpu")
    rng = np.random.default_rng(0)
    n = max(args.ig_pairs, args.shapley_pairs)
    pairs = pd.DataFrame(
        {
            "user_id": rng.choice(np.asarray(model.user_ids), n),
            "item_id": rng.choice(np.asarray(model.item_ids), n),
        }
    )
    print(
        f"os.cpu_count() = {os.cpu_count()}, torch threads = {torch.get_num_threads()}, ray {ray.__version__}, "
        f"{args.workers} workers, chunk {args.chunk_size} pairs, load average before "
        f"{' '.join(f'{x:.2f}' for x in load_before)}",
        flush=True,
    )
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    try:

        def run(engine: str, key: str, count: int, name: str) -> Path:
            extra = {"engine": "ray", "checkpoint": checkpoint, "workers": args.workers} if engine == "ray" else {}
            return explain_pairs(
                model, pairs.iloc[:count], [key], work / name, chunk_size=args.chunk_size, progress=False, **extra
            )

        startup, startup_times = timed(args.repeats, lambda: run("ray", "ig", 1, "startup.parquet"))
        print(
            f"Ray engine, a one-pair job (actor pool start-up + model load): {startup:.2f} s "
            f"(median of {args.repeats}, range {min(startup_times):.2f}–{max(startup_times):.2f} s)",
            flush=True,
        )
        for key, label, count in (
            ("ig", "IG (50 steps)", args.ig_pairs),
            ("shapley_exact", "exact Shapley (12 groups)", args.shapley_pairs),
        ):
            outputs = {}
            for engine in ("local", "ray"):
                name = f"{key}-{engine}.parquet"
                seconds, times = timed(args.repeats, functools.partial(run, engine, key, count, name))
                outputs[engine] = (work / name).read_bytes()
                rates = sorted(count / t for t in times)
                net = f"; {count / (seconds - startup):,.0f} pairs/s net of the start-up" if engine == "ray" else ""
                print(
                    f"{label}, {count} pairs, {engine:>5}: {count / seconds:,.0f} pairs/s "
                    f"(median of {args.repeats}: {seconds:.2f} s; "
                    f"range {rates[0]:,.0f}–{rates[-1]:,.0f} pairs/s{net}); "
                    f"load average now {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
            print(f"  same bytes on both engines: {outputs['local'] == outputs['ray']}", flush=True)
    finally:
        ray.shutdown()
    print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

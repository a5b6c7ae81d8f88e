"""Train a grid of attention variants on one leave-one-out split and report accuracy beside attention quality.

    python benchmarks/attention_sweep.py --grid grid.json --seeds 0,1,2 --workers 2 --out sweep.jsonl

`grid.json` is a list of {"name", "data", "train": {TrainConfig fields}}; every (variant, seed) trains on the
split (split seed 0) with one torch thread, is evaluated with full ranking (HR@10, NDCG@10, AUC) and scored by
`attnrec.quality.attention_quality` on the held-out positives (at most 400). BPR-MF on the same split is added
per seed unless --no-baselines. One JSON line per run; a summary table (mean ± sd over seeds) at the end.
This is how the variants in docs/metrics.md ("Attention worth reading") were chosen; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _one(job: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    from attnrec.data import load_dataset
    from attnrec.evaluation import evaluate, leave_one_out
    from attnrec.quality import attention_quality, planted_precision

    dataset = load_dataset(job["data"])
    split = leave_one_out(dataset, seed=0)
    started = time.perf_counter()
    row = {"name": job["name"], "data": job["data"], "seed": job["seed"]}
    try:
        if job["name"] == "BPR-MF":
            from attnrec.baselines import BPRMF

            row.update(evaluate(BPRMF(split.train, seed=job["seed"]), split))
        else:
            from attnrec.training import TrainConfig, train

            model = train(split.train, TrainConfig(seed=job["seed"], device="cpu", **job["train"]), progress=False)
            row.update(evaluate(model, split))
            held = split.held_out.sample(min(400, len(split.held_out)), random_state=0)
            quality = attention_quality(model, held["user_id"].tolist(), held["item_id"].tolist())
            row.update(quality.summary())
            row["best_epoch"] = model.config["training"]["best_epoch"]
            planted = getattr(dataset, "planted", None)
            if planted:
                names = model.unit_names()[: quality.attention.shape[1]]
                row["planted_p@4_attention"] = planted_precision(
                    quality.attention, names, planted["driving_dimensions"]["names"]
                )
    except Exception as error:  # a variant that fails is reported, not fatal to the sweep
        row["error"] = f"{type(error).__name__}: {error}"
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", required=True)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 0))
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--baselines-for", help="comma-separated datasets that get BPR-MF rows (default: all)")
    args = parser.parse_args(argv)
    grid = json.loads(Path(args.grid).read_text())
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [{**variant, "seed": seed} for variant in grid for seed in seeds]
    if not args.no_baselines:
        wanted = set(args.baselines_for.split(",")) if args.baselines_for else {v["data"] for v in grid}
        jobs += [
            {"name": "BPR-MF", "data": data, "train": {}, "seed": seed} for data in sorted(wanted) for seed in seeds
        ]
    # Longest first (entmax and synthetic runs), so the pool does not end on one straggler.
    jobs.sort(key=lambda j: (j["data"] != "synthetic", j["train"].get("attention", "softmax") == "softmax"))
    rows = []
    with get_context("spawn").Pool(args.workers) as pool, open(args.out, "w") as out:
        for row in pool.imap_unordered(_one, jobs):
            rows.append(row)
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(json.dumps(row), flush=True)
    print_summary(rows)
    return 0


def print_summary(rows: list[dict]) -> None:
    keys = [
        "hr@10",
        "ndcg@10",
        "auc",
        "entropy_median",
        "entropy_dimensions_median",
        "head_difference",
        "tau_median",
        "erase_top3_attention_vs_contribution",
        "erase_top3_random_vs_contribution",
        "planted_p@4_attention",
    ]
    names = dict.fromkeys((r["data"], r["name"]) for r in rows)
    print("| data | variant | " + " | ".join(keys) + " | runs |")
    for data, name in names:
        group = [r for r in rows if r["data"] == data and r["name"] == name and "error" not in r]
        cells = []
        for key in keys:
            values = [r[key] for r in group if r.get(key) is not None and np.isfinite(r[key])]
            cells.append(f"{np.mean(values):.3f} ± {np.std(values):.3f}" if values else "—")
        print(f"| {data} | {name} | " + " | ".join(cells) + f" | {len(group)} |")


if __name__ == "__main__":
    raise SystemExit(main())

"""Training time per epoch and end to end for each shipped model's recipe (read from its config.json).

python benchmarks/train.py [--device cpu] [--epochs N] [--models synthetic ...]
python benchmarks/train.py --models synthetic --validation both --seeds 0 1 2 --hr

N caps the epochs, to time a short run. The per-epoch validation AUC ranks the whole catalog for each validation
user; training scores it on a fixed sample of `attnrec.training.VALIDATION_AUC_USERS` users. `--validation all`
scores every validation user instead (what training did before the sample), `both` runs the two alternately, so
each recipe's seconds per epoch and, with `--hr`, its leave-one-out HR@10 (full ranking, the model's own split)
can be compared on the same machine. Medians over the epochs; with several seeds, mean ± sd over the seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from attnrec import training  # noqa: E402
from attnrec.data import load_dataset  # noqa: E402
from attnrec.evaluation import evaluate, leave_one_out  # noqa: E402
from attnrec.training import TrainConfig, train  # noqa: E402

MODELS = Path(__file__).resolve().parents[1] / "sample_data" / "models"
SAMPLE = training.VALIDATION_AUC_USERS


def run(config_file: Path, args, validation: str, seed: int | None) -> dict:
    stored = json.loads(config_file.read_text())
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    recipe = {k: v for k, v in stored["training"].items() if k in fields}
    recipe["device"] = args.device
    if args.epochs:
        recipe["epochs"] = args.epochs
    if seed is not None:
        recipe["seed"] = seed
    split = leave_one_out(
        load_dataset(stored["dataset"]["reference"], schema=stored["dataset"].get("schema")),
        seed=stored["dataset"].get("split", {}).get("seed", 0),
    )
    training.VALIDATION_AUC_USERS = SAMPLE if validation == "sample" else sys.maxsize
    try:
        start = time.perf_counter()
        model = train(split.train, TrainConfig(**recipe), progress=False)
        total = time.perf_counter() - start
    finally:
        training.VALIDATION_AUC_USERS = SAMPLE
    info = model.config["training"]
    return {
        "positives": int((split.train.interactions["label"] == 1).sum()),
        "epochs": info["epochs_run"],
        "per_epoch": statistics.median(h["seconds"] for h in info["history"]),
        "total": total,
        "hr": evaluate(model, split)["hr@10"] if args.hr else float("nan"),
    }


def spread(values: list[float], digits: int) -> str:
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--models", nargs="*", default=None, help="shipped model folders (default: all)")
    parser.add_argument("--validation", choices=["sample", "all", "both"], default="sample")
    parser.add_argument("--seeds", type=int, nargs="*", default=None, help="training seeds (default: the recipe's)")
    parser.add_argument("--hr", action="store_true", help="also evaluate leave-one-out HR@10")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    files = sorted(MODELS.glob("*/config.json"))
    if args.models:
        files = [f for f in files if f.parent.name in args.models]
    modes = ["sample", "all"] if args.validation == "both" else [args.validation]
    seeds = args.seeds or [None]
    print(
        f"{'model':<22} {'validation':<10} {'seed':>4} {'positives':>9} {'epochs':>6} "
        f"{'s/epoch':>8} {'total s':>8} {'HR@10':>6}"
    )
    results: dict[tuple[str, str], list[dict]] = {}
    for config_file in files:
        for seed in seeds:
            for mode in modes:  # alternately, so both see the same machine
                r = run(config_file, args, mode, seed)
                results.setdefault((config_file.parent.name, mode), []).append(r)
                print(
                    f"{config_file.parent.name:<22} {mode:<10} {'' if seed is None else seed:>4} {r['positives']:>9} "
                    f"{r['epochs']:>6} {r['per_epoch']:>8.3f} {r['total']:>8.1f} {r['hr']:>6.3f}",
                    flush=True,
                )
    if len(seeds) > 1 or len(modes) > 1:
        print(f"\nover {len(seeds)} seed(s); validation sample = {SAMPLE} users")
        for (name, mode), rs in results.items():
            per_epoch = [r["per_epoch"] for r in rs]
            line = (
                f"{name:<22} {mode:<10} s/epoch {spread(per_epoch, 3)}  total s {spread([r['total'] for r in rs], 1)}"
            )
            if args.hr:
                line += f"  HR@10 {spread([r['hr'] for r in rs], 3)}"
            print(line)


if __name__ == "__main__":
    main()

"""Training time per epoch and end to end for each shipped model's recipe (read from its config.json).

python benchmarks/train.py [--device cpu] [--epochs N]   (N caps the epochs, to time a short run)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from attnrec.data import load_dataset
from attnrec.evaluation import leave_one_out
from attnrec.training import TrainConfig, train

MODELS = Path(__file__).resolve().parents[1] / "sample_data" / "models"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    print(f"{'model':<22} {'positives':>9} {'epochs':>6} {'s/epoch':>8} {'total s':>8}")
    for config_file in sorted(MODELS.glob("*/config.json")):
        stored = json.loads(config_file.read_text())
        recipe = {k: v for k, v in stored["training"].items() if k in fields}
        recipe["device"] = args.device
        if args.epochs:
            recipe["epochs"] = args.epochs
        split = leave_one_out(
            load_dataset(stored["dataset"]["reference"], schema=stored["dataset"].get("schema")),
            seed=stored["dataset"].get("split", {}).get("seed", 0),
        )
        start = time.perf_counter()
        model = train(split.train, TrainConfig(**recipe), progress=False)
        total = time.perf_counter() - start
        info = model.config["training"]
        per_epoch = statistics.median(h["seconds"] for h in info["history"])
        print(
            f"{config_file.parent.name:<22} {int((split.train.interactions['label'] == 1).sum()):>9} "
            f"{info['epochs_run']:>6} {per_epoch:>8.3f} {total:>8.1f}"
        )


if __name__ == "__main__":
    main()

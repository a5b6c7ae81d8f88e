"""How long `Recommender.top_k` takes over a catalog: the shipped models, then synthetic catalogs of
growing size (random weights; speed does not depend on what the weights are).

    python benchmarks/topk.py [--device cpu] [--repeats 20] [--threads N]

Two columns: a user whose scores are not kept (the catalog is scored: the model's kept scores are dropped before
each call), and the same user again (`Recommender.scores_for_user` keeps the last users' scores, so Explore's next
item for the same user, or a second page asking, costs a copy and the top-k).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import numpy as np
import pandas as pd
import torch

from attnrec.data.types import Dataset, FieldGroup, SideEncoding
from attnrec.model import Recommender

MODELS = Path(__file__).resolve().parents[1] / "sample_data" / "models"


class _DenseFeaturizer:
    """Numeric columns copied through: enough to build a catalog of any size for timing."""

    mode, use_ids, dimension_names = "latent", False, None

    def __init__(self, width):
        self.names = [f"f{i}" for i in range(width)]

    def columns(self, side):
        return self.names

    def encode(self, side, table):
        return SideEncoding(
            [str(i) for i in table.index],
            table.to_numpy(np.float32),
            self.names,
            [FieldGroup("features", "numeric", 0, len(self.names))],
        )


def _time(fn, repeats):
    fn()  # warm-up: first call encodes the catalog and fills caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    print(f"{'catalog':<28} {'items':>8} {'d':>4} {'H':>3} {'top_k(10) ms':>13} {'same user ms':>13}")

    def row(name, model, user, repeats):
        def scored():
            model._user_scores.clear()  # as for a user not asked about lately
            model.top_k(user, 10)

        ms, kept = _time(scored, repeats), _time(lambda: model.top_k(user, 10), repeats)
        print(f"{name:<28} {len(model.item_ids):>8} {model.d:>4} {model.heads:>3} {ms:>13.2f} {kept:>13.2f}")

    for folder in sorted(MODELS.glob("*/config.json")):
        model = Recommender.load(folder.parent, device=args.device)
        row(folder.parent.name, model, model.user_ids[0], args.repeats)
    rng = np.random.default_rng(0)
    for n_items, d, heads in [(10_000, 32, 2), (100_000, 32, 2), (100_000, 64, 4)]:
        width = 50
        users = pd.DataFrame(rng.normal(size=(10, width)).astype(np.float32), index=[f"u{i}" for i in range(10)])
        items = pd.DataFrame(
            rng.normal(size=(n_items, width)).astype(np.float32), index=[f"i{i}" for i in range(n_items)]
        )
        data = Dataset("bench", users, items, pd.DataFrame(columns=["user_id", "item_id", "label"]), {})
        model = Recommender.from_featurizer(_DenseFeaturizer(width), data, d=d, heads=heads).copy_to(args.device)
        row("random (synthetic catalog)", model, "u0", max(3, args.repeats // 4))


if __name__ == "__main__":
    main()

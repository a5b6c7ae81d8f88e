"""Is each shipped model both accurate and worth reading? Accuracy beside attention quality, per checkpoint.

    python benchmarks/attention_quality.py                       # every folder in sample_data/models, 3 seeds
    python benchmarks/attention_quality.py --models sample_data/models/synthetic --seeds 0 --json out.json

For each checkpoint, on the leave-one-out split it records (split seed from its config):
- HR@10, NDCG@10, AUC with full ranking: the shipped file is seed 0; seeds 1, 2 … retrain with the training
  settings stored in its config.json (same split); BPR-MF on the same split with the same seeds — mean ± sd;
- attention quality of the shipped file on the held-out positives (attnrec.quality): normalised entropy per
  head (over attention units; per dimension too), how much the heads differ, median Kendall τ(attention,
  |exact contribution|), and top-3 erasure ratios (attention / random / |X·Y| order, each ÷ top-3 by
  |contribution|);
- on data with a planted truth (synthetic): precision@4 of the driving genres for attention, and for IG and
  exact Shapley with the model's default baseline (attnrec.explain.model_targets.default_baseline).
Nothing here is asserted; docs/metrics.md quotes its output. One torch thread (see README, Speed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BOOKKEEPING = {
    "epochs_run",
    "best_epoch",
    "initial_val_loss",
    "best_val_loss",
    "initial_val_auc",
    "best_val_auc",
    "stopped_by",
    "seconds",
    "calibration",
    "history",
}


def _mean_sd(values):
    values = [v for v in values if v is not None and np.isfinite(v)]
    return (float(np.mean(values)), float(np.std(values))) if values else (float("nan"), float("nan"))


def planted_precisions(model, dataset, pairs, planted: dict) -> dict:
    """P@4 of the driving genres for attention, IG and exact Shapley (dimension level, default baseline)."""
    from attnrec.explain import explain
    from attnrec.explain.agreement import dimension_importance
    from attnrec.explain.model_targets import default_baseline, targets_for
    from attnrec.quality import attention_quality, planted_precision

    driving = planted["driving_dimensions"]["names"]
    users, items = pairs["user_id"].tolist(), pairs["item_id"].tolist()
    quality = attention_quality(model, users, items)
    out = {"attention": planted_precision(quality.attention, model.unit_names()[: quality.attention.shape[1]], driving)}
    baseline = default_baseline(model)
    target = targets_for(model, model.user_rows(users), model.item_rows(items), "dimensions", baseline)
    for key in ("ig", "shapley_exact"):
        if key == "shapley_exact" and len(target.groups) > 16:
            continue
        importance = dimension_importance(explain(target, key))
        out[key] = planted_precision(importance, list(model.dimension_names), driving)
    out["baseline"] = baseline
    return out


def measure(folder: Path, seeds: list[int], n_pairs: int) -> dict:
    from attnrec.baselines import BPRMF
    from attnrec.checkpoint import read_config
    from attnrec.cli import _load_data
    from attnrec.evaluation import evaluate, leave_one_out
    from attnrec.model import Recommender
    from attnrec.quality import attention_quality
    from attnrec.training import TrainConfig, train

    config = read_config(folder)
    stored = config.get("dataset") or {}
    dataset, _ = _load_data(stored["reference"], stored.get("schema"))
    split = leave_one_out(dataset, seed=int((stored.get("split") or {}).get("seed", 0)))
    model = Recommender.load(folder, device="cpu", dataset=split.train)
    runs = {"ours": [evaluate(model, split)], "BPR-MF": []}
    settings = {k: v for k, v in config["training"].items() if k not in BOOKKEEPING}
    for seed in seeds:
        if seed != settings.get("seed", 0):
            again = train(split.train, TrainConfig(**{**settings, "seed": seed, "device": "cpu"}), progress=False)
            runs["ours"].append(evaluate(again, split))
        runs["BPR-MF"].append(evaluate(BPRMF(split.train, seed=seed), split))
    held = split.held_out.sample(min(n_pairs, len(split.held_out)), random_state=0)
    quality = attention_quality(model, held["user_id"].tolist(), held["item_id"].tolist())
    row = {
        "model": folder.name,
        "variant": model.variant,
        "dataset": dataset.name,
        "users": len(split.held_out),
        "seeds": len(runs["ours"]),
        "quality": quality.summary(),
    }
    for name, results in runs.items():
        for metric in ("hr@10", "ndcg@10", "auc"):
            row[f"{name} {metric}"] = _mean_sd([r[metric] for r in results])
    if getattr(dataset, "planted", None):
        row["planted_p@4"] = planted_precisions(model, dataset, held, dataset.planted)
    return row


def print_table(rows: list[dict]) -> None:
    print(
        "| model | HR@10 | NDCG@10 | BPR-MF HR@10 | BPR-MF NDCG@10 | entropy per head | heads differ | "
        "τ(attn, |contrib|) | erase top-3: attention / random / |X·Y| | planted P@4 attention / IG / Shapley |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        q = r["quality"]
        fmt = lambda pair: f"{pair[0]:.3f} ± {pair[1]:.3f}"  # noqa: E731
        planted = r.get("planted_p@4")
        planted_text = (
            " / ".join(f"{planted[k]:.2f}" if k in planted else "—" for k in ("attention", "ig", "shapley_exact"))
            + f" ({planted['baseline']})"
            if planted
            else "—"
        )
        print(
            f"| {r['model']} | {fmt(r['ours hr@10'])} | {fmt(r['ours ndcg@10'])} | {fmt(r['BPR-MF hr@10'])} | "
            f"{fmt(r['BPR-MF ndcg@10'])} | {', '.join(f'{e:.2f}' for e in q['entropy_per_head'])} "
            f"(per dim {q['entropy_dimensions_median']:.2f}) | {q['head_difference']:.2f} | "
            f"{q['tau_median']:+.2f} | {q['erase_top3_attention_vs_contribution']:.2f} / "
            f"{q['erase_top3_random_vs_contribution']:.2f} / {q['erase_top3_product_vs_contribution']:.2f} | "
            f"{planted_text} |"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        nargs="*",
        default=sorted(str(p) for p in (ROOT / "sample_data" / "models").iterdir() if (p / "config.json").exists()),
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--pairs", type=int, default=400, help="held-out pairs scored for attention quality")
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for folder in args.models:
        started = time.perf_counter()
        rows.append(measure(Path(folder), seeds, args.pairs))
        print(f"{Path(folder).name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

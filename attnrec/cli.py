"""Command line: `python -m attnrec train | evaluate | explain | score | app`.

train    fits a model on the leave-one-out training split (so `evaluate` is honest) and saves it, with its
         held-out quality against popularity and BPR-MF beside it (quality.json: Model health reads it).
evaluate re-creates the same split and prints HR@10 / NDCG@10 / AUC for the checkpoint, item popularity
         and BPR-MF, all ranked by the same code.
explain  is parsed here (attnrec.command_parsers) and run by attnrec.explain.batch.run; score (top K for many
         users) by attnrec.scoring.run. Both are chunked and resumable, and take --engine local|ray (attnrec.scale).
app      serves the Streamlit app with its libraries imported first (attnrec.app.serve); its arguments are
         `streamlit run`'s, then `--` and the app's own (e.g. `attnrec app -- --workspace DIR`).
Bad input (missing files, unknown device or mode) prints one clear line and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main", "build_parser", "metrics_table"]

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: usage + one line, exit 2, no traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from attnrec.device import DEVICE_CHOICES
    from attnrec.training_config import TrainConfig  # torch-free, as is attnrec.device until a device is used

    defaults = TrainConfig()
    parser = _Parser(prog="attnrec", description="Train, evaluate and explain the attention recommender.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train on the leave-one-out training split and save a checkpoint")
    t.add_argument("--data", required=True, help="built-in name (restaurants, synthetic) or a data folder")
    t.add_argument("--schema", help="schema.json for an own-data folder (default: DIR/schema.json)")
    t.add_argument("--mode", choices=["aligned", "latent"], required=True)
    t.add_argument("--out", required=True, help="checkpoint folder to write")
    t.add_argument("--epochs", type=int, default=defaults.epochs)
    t.add_argument("--d", type=int, default=defaults.d, help="latent dimensions (aligned: set by the data)")
    t.add_argument("--heads", type=int, default=defaults.heads)
    t.add_argument("--tied", action="store_true", help="one W for both sides (the document's literal W_a)")
    t.add_argument("--temperature", type=float, default=defaults.temperature)
    t.add_argument("--hidden", type=int, default=defaults.hidden, help="latent: residual MLP width (0 = none)")
    t.add_argument("--use-ids", action="store_true", help="latent: add one-hot user/item ids")
    t.add_argument(
        "--features",
        choices=["all", "ids"],
        default=defaults.features,
        help="latent: all side fields, or ids only (needs --use-ids)",
    )
    t.add_argument(
        "--popularity",
        action="store_true",
        help="aligned: add the 'popular place' dimension (from training positives only)",
    )
    t.add_argument(
        "--fixed-scale",
        action="store_true",
        help="bpr: keep a of σ(a·S+b) at d²/H while training (refit on validation at the end)",
    )
    t.add_argument(
        "--no-observed-negatives",
        action="store_true",
        help="train on sampled negatives only (label-0 rows still count as seen in evaluation)",
    )
    t.add_argument("--l2", type=float, default=defaults.l2, help="L2 on the batch's X and Y, as a loss term")
    t.add_argument("--loss", choices=["bce", "bpr"], default=defaults.loss)
    t.add_argument("--negatives", type=int, default=defaults.negatives)
    t.add_argument("--batch-size", type=int, default=defaults.batch_size)
    t.add_argument("--lr", type=float, default=defaults.lr)
    t.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    t.add_argument("--patience", type=int, default=defaults.patience)
    t.add_argument("--monitor", choices=["val_auc", "val_loss", "last"], default=defaults.monitor)
    t.add_argument("--val-fraction", type=float, default=defaults.val_fraction)
    t.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    v = t.add_argument_group("attention worth reading (defaults: the design document's softmax model)")
    v.add_argument(
        "--user-profile",
        choices=["columns", "history"],
        default=defaults.user_profile,
        help="aligned: user side from paired columns, or the mean over the user's training positives",
    )
    v.add_argument(
        "--attention",
        choices=["softmax", "sparsemax", "entmax15"],
        default=defaults.attention,
        help="the normaliser of the attention logits",
    )
    v.add_argument("--presence-mask", action="store_true", help="a dimension with X_i·Y_i = 0 gets no attention")
    v.add_argument("--null-slot", action="store_true", help="a 'nothing' dimension attention may choose")
    v.add_argument(
        "--latent-dims",
        type=int,
        default=defaults.latent_dims,
        help="aligned: learned taste dimensions from ids, after the named ones",
    )
    v.add_argument("--taste-block", action="store_true", help="one attention logit for the whole taste block")
    v.add_argument("--prune", action="store_true", help="aligned: named dimensions can be switched off exactly")
    v.add_argument(
        "--encoder-offset",
        action="store_true",
        help="aligned: per-dimension offsets (off by default: a named dimension never becomes a constant)",
    )
    v.add_argument(
        "--anneal-from",
        type=float,
        default=defaults.anneal_from,
        help="temperature to start from, falling geometrically to --temperature",
    )
    v.add_argument("--anneal-epochs", type=int, default=defaults.anneal_epochs)
    v.add_argument("--entropy-weight", type=float, default=defaults.entropy_weight)
    v.add_argument("--entropy-target", type=float, default=defaults.entropy_target)
    v.add_argument("--diversity-weight", type=float, default=defaults.diversity_weight)
    t.add_argument("--seed", type=int, default=defaults.seed, help="training seed")
    t.add_argument("--split-seed", type=int, default=0, help="seed of the leave-one-out hold-out choice")
    t.add_argument(
        "--protocol",
        choices=["attnrec", "common"],
        default="attnrec",
        help="candidates of the recorded metrics (attnrec.evaluation.PROTOCOLS); the hold-out is the same",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bars (default: shown when stderr is a terminal)")
    t.add_argument(
        "--no-quality",
        action="store_true",
        help="do not write quality.json (held-out metrics of the model, popularity and BPR-MF, which Model health "
        "shows at once); it trains BPR-MF, about as long as training on large data",
    )

    e = sub.add_parser("evaluate", help="leave-one-out metrics for a checkpoint and the baselines")
    e.add_argument("--checkpoint", required=True, help="folder with model.safetensors + config.json")
    e.add_argument("--data", help="dataset (default: the one named in the checkpoint)")
    e.add_argument("--schema")
    e.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.add_argument("--no-baselines", action="store_true")
    e.add_argument(
        "--protocol",
        choices=["attnrec", "common"],
        help="attnrec: rank against items never interacted with (any label); common: against all "
        "items not among the user's training positives (default: the checkpoint's)",
    )
    e.add_argument("--quiet", action="store_true", help="no progress bars (default: shown when stderr is a terminal)")

    sub.add_parser("explain", help="batch explanations (attnrec.explain.batch); see `explain --help`", add_help=False)
    sub.add_parser("score", help="top K items for many users (attnrec.scoring); see `score --help`", add_help=False)
    sub.add_parser("app", help="serve the app, libraries imported before the first visitor (attnrec.app.serve)")
    return parser


def _load_data(data: str, schema: str | None):
    from attnrec.data import BUILT_IN, load_dataset

    if data not in BUILT_IN and not Path(data).is_dir():
        raise FileNotFoundError(f"data folder '{data}' not found (built-ins: {', '.join(BUILT_IN)})")
    if schema is not None and not Path(schema).is_file():
        raise FileNotFoundError(f"schema file '{schema}' not found")
    import warnings

    from attnrec.data import DataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # said once, below, in the CLI's own words
        dataset = load_dataset(data, schema=schema)
    for note in dataset.notes:
        print(f"attnrec: warning: {dataset.name}: {note}", file=sys.stderr)
    reference = data if data in BUILT_IN and not Path(data).is_dir() else str(Path(data).resolve())
    ref = {"name": dataset.name, "reference": reference}
    if schema is not None:
        ref["schema"] = str(Path(schema).resolve())
    return dataset, ref


def _train(args) -> int:
    from attnrec.evaluation import evaluate, leave_one_out
    from attnrec.training import TrainConfig, train

    dataset, ref = _load_data(args.data, args.schema)
    config = TrainConfig(
        mode=args.mode,
        d=args.d,
        heads=args.heads,
        tied=args.tied,
        temperature=args.temperature,
        hidden=args.hidden,
        use_ids=args.use_ids,
        features=args.features,
        popularity=args.popularity,
        l2=args.l2,
        learn_scale=not args.fixed_scale,
        observed_negatives=not args.no_observed_negatives,
        loss=args.loss,
        negatives=args.negatives,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        patience=args.patience,
        monitor=args.monitor,
        seed=args.seed,
        device=args.device,
        val_fraction=args.val_fraction,
        user_profile=args.user_profile,
        attention=args.attention,
        presence_mask=args.presence_mask,
        null_slot=args.null_slot,
        latent_dims=args.latent_dims,
        taste_block=args.taste_block,
        prune=args.prune,
        encoder_offset=args.encoder_offset,
        anneal_from=args.anneal_from,
        anneal_epochs=args.anneal_epochs,
        entropy_weight=args.entropy_weight,
        entropy_target=args.entropy_target,
        diversity_weight=args.diversity_weight,
    )
    config.check()
    split = leave_one_out(dataset, seed=args.split_seed, protocol=args.protocol)
    progress = False if args.quiet else None
    model = train(split.train, config, progress=progress)
    metrics = evaluate(model, split, progress=progress, desc="evaluate ours")
    model.config["dataset"] = {**ref, "split": split.describe()}
    model.config["metrics"] = {**metrics, "protocol": split.protocol}
    model.save(args.out)
    info = model.config["training"]
    print(
        f"trained {args.mode} on {dataset.name}: {info['epochs_run']} epochs (best {info['best_epoch']}, "
        f"{info['stopped_by']}), {info['seconds']:.1f} s on {info['device']}"
    )
    print(metrics_table({"ours": metrics}))
    print(f"saved {Path(args.out) / 'model.safetensors'} and config.json")
    if not args.no_quality:
        from attnrec import quality_store

        announce = None if args.quiet else (lambda step: print(f"held-out quality: {step}…", flush=True))
        try:
            table, path = quality_store.write_for_checkpoint(args.out, progress=announce)
        except (OSError, ValueError, KeyError) as err:  # the checkpoint is saved: say what is missing, succeed
            print(
                f"attnrec train: quality.json not written ({err}); Model health computes it on request", file=sys.stderr
            )
            return 0
        shown = table.to_string(index=False, float_format=lambda v: f"{v:.3f}")
        print(f"held-out quality against the baselines (Model health's table):\n{shown}")
        print(f"saved {path}")
    return 0


def metrics_table(rows: dict[str, dict]) -> str:
    """A plain-text table: one row per model, HR@10 / NDCG@10 / AUC / users."""
    lines = [f"{'model':<12} {'HR@10':>7} {'NDCG@10':>8} {'AUC':>7} {'users':>6}"]
    for name, m in rows.items():
        lines.append(f"{name:<12} {m['hr@10']:>7.3f} {m['ndcg@10']:>8.3f} {m['auc']:>7.3f} {m['users']:>6d}")
    return "\n".join(lines)


def _evaluate(args) -> int:
    from attnrec.baselines import BPRMF, Popularity
    from attnrec.checkpoint import read_config
    from attnrec.evaluation import evaluate, leave_one_out, protocol_of
    from attnrec.model import Recommender

    folder = Path(args.checkpoint)
    if not folder.is_dir():
        raise FileNotFoundError(f"checkpoint folder '{folder}' not found")
    config = read_config(folder)
    stored = config.get("dataset") or {}
    data = args.data or stored.get("reference")
    if not data:
        raise ValueError("the checkpoint names no dataset; pass --data")
    dataset, _ = _load_data(data, args.schema if args.schema else (None if args.data else stored.get("schema")))
    split_info = stored.get("split") or {}
    protocol = args.protocol or protocol_of(split_info)
    split = leave_one_out(dataset, seed=int(split_info.get("seed", 0)), protocol=protocol)
    progress = False if args.quiet else None
    if not split_info:
        print(
            "warning: this checkpoint does not record a leave-one-out split, so it may have seen the "
            "held-out items; its numbers can be optimistic",
            file=sys.stderr,
        )
    model = Recommender.load(folder, device=args.device, dataset=split.train)
    rows = {"ours": evaluate(model, split, progress=progress, desc="evaluate ours")}
    if not args.no_baselines:
        rows["popularity"] = evaluate(Popularity(split.train), split, progress=progress, desc="evaluate popularity")
        rows["BPR-MF"] = evaluate(
            BPRMF(split.train, progress=progress), split, progress=progress, desc="evaluate BPR-MF"
        )
    if args.json:
        print(json.dumps(rows, indent=2))  # each row names its protocol
    else:
        described = split.describe()
        print(
            f"{dataset.name}: leave-one-out ({split.by} hold-out), {len(split.full.items)} items, "
            f"model {config['mode']} d={config['d']} heads={config['heads']}"
        )
        print(f"protocol {split.protocol}: {described['candidates']}; held out: {described['tie_rule']}")
        print(metrics_table(rows))
    return 0


def _explain(args) -> int:
    try:
        from attnrec.explain.batch import run
    except ImportError as err:
        print(f"attnrec explain is not available in this installation ({err})", file=sys.stderr)
        return EXIT_BAD_INPUT
    return int(run(args) or 0)


def _score(args) -> int:
    from attnrec.scoring import run

    return int(run(args) or 0)


def _parse(argv: list[str]):
    """The parsed arguments of any command but `app` (whose arguments are `streamlit run`'s); none of these parsers
    imports torch or pandas, so --help and a bad option exit here at once."""
    command = argv[0] if argv else None
    if command == "app":
        return None
    if command in ("explain", "score"):
        from attnrec.command_parsers import explain_parser, score_parser

        return (explain_parser() if command == "explain" else score_parser()).parse_args(argv[1:])
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the command in `argv` (default: sys.argv[1:]); returns the exit code. Arguments are parsed before torch
    is imported, so `--help` and a mistyped option answer at once."""
    from attnrec.device import apply_threads

    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else None
    args = _parse(argv)
    try:
        apply_threads()  # one torch thread unless ATTNREC_THREADS says otherwise (attnrec.device)
    except ValueError as err:
        print(f"attnrec: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if command == "explain":
        return _explain(args)
    if command == "score":
        return _score(args)
    if command == "app":
        from attnrec.app.serve import main as serve

        return serve(argv[1:])
    assert args is not None  # train or evaluate, parsed above
    from attnrec.checkpoint import CheckpointError
    from attnrec.data.types import DataError

    try:
        return _train(args) if args.command == "train" else _evaluate(args)
    except (DataError, CheckpointError, FileNotFoundError, ValueError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"attnrec {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT

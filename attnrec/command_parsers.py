"""The argument parsers of `attnrec explain` and `attnrec score`, apart from the commands' code: they import
neither torch nor pandas, so `--help` and a mistyped option answer at once (`attnrec.cli` parses first, then
imports the command). `attnrec.explain.batch.cli_main` and `attnrec.scoring.cli_main` parse with the same ones."""

from __future__ import annotations

import argparse

from attnrec.explain.names import BASELINES, LEVELS
from attnrec.explain.registry import METHODS
from attnrec.scale.engine import add_engine_arguments

__all__ = ["explain_parser", "score_parser"]


def explain_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attnrec explain", description="Explain (user, item) pairs of a checkpoint to a Parquet file."
    )
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder (config.json + model.safetensors)")
    parser.add_argument("--pairs", required=True, help="CSV or Parquet with columns user_id, item_id")
    parser.add_argument("--methods", default="ig", help=f"comma-separated, from: {', '.join(METHODS)}")
    parser.add_argument("--out", required=True, help="output Parquet file")
    parser.add_argument("--level", choices=LEVELS, default="fields")
    parser.add_argument(
        "--baseline",
        choices=BASELINES,
        default=None,
        help="default: the model's own, as on every page (mean for aligned models, zeros for latent)",
    )
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda | mps")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="METHOD.NAME=VALUE",
        help="method parameter, e.g. ig.n_steps=32 (repeatable)",
    )
    add_engine_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def score_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attnrec score", description="The top K catalog items for many users of a checkpoint, to Parquet."
    )
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder (config.json + model.safetensors)")
    parser.add_argument(
        "--users", required=True, help="CSV or Parquet with a user_id column, or 'all' for every catalog user"
    )
    parser.add_argument("--k", type=int, default=10, help="items per user (default 10)")
    parser.add_argument("--out", required=True, help="output Parquet file (user_id, rank, item_id, score)")
    parser.add_argument(
        "--exclude-seen", action="store_true", help="skip items the user already interacted with (any label)"
    )
    parser.add_argument("--chunk-size", type=int, default=256, help="users per chunk (the unit of resuming)")
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda | mps (--engine local)")
    add_engine_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser

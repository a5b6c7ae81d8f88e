"""Catalog scale: generate, load, train, top-K and Explore's click latency at 10^5–10^6 users × 10^5 items.

    python benchmarks/scale.py [--size 100000x100000x1000000] [--size 1000000x100000x20000000] [--epochs 1]
                               [--clicks 10] [--topk-users 20] [--no-browser] [--train-seconds S]

Each --size is USERS x ITEMS x POSITIVES. For each, in a temporary folder (nothing is kept):
- generate: `python -m attnrec.data.synthetic --users … --positives …` (Parquet), its seconds and peak RSS;
- train (a fresh process): the tables read with the table limits raised (a benchmark's data, not an upload),
  `load_own_dataset`, then `train` (latent, d=16, batch 1024, --epochs) — seconds, training positives per
  second (the epoch, its validation included, and the whole `train` call) and the process's peak RSS after
  loading and after training;
- top-K: `model.top_k(user, 10)` for --topk-users random users (median and quartiles);
- click latency: when the interactions fit the app's table limit (attnrec.limits: table_rows), the dataset and
  model are saved to a temporary workspace, `streamlit run app.py` serves it and Chromium clicks rows of
  Explore's user and item pickers (benchmarks/browser_click.py's machinery), --clicks new pairs.
Prints medians with spread and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "scale"


def peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quartiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    middle = statistics.median(values)
    return f"median {middle:.1f}  quartiles {q[0]:.1f}–{q[2]:.1f}  range {min(values):.1f}–{max(values):.1f}"


def generate(folder: Path, users: int, items: int, positives: int) -> None:
    """Phase 1, in this (child) process: the generator's own command line."""
    started = time.perf_counter()
    from attnrec.data.synthetic import write_large

    write_large(folder, users, items, positives)
    print(json.dumps({"generate_s": time.perf_counter() - started, "generate_peak_mb": peak_mb()}))


def train_phase(folder: Path, workspace: Path | None, epochs: int, topk_users: int, seconds: float) -> None:
    """Phase 2, in a fresh (child) process: load, train, top-K; save to `workspace` for the app when given.
    `seconds` > 0 stops training that long after its first step (the epoch's pairs are all built by then, so
    the peak RSS is the epoch's); throughput is the training pairs the loss saw / 5, per second of the loop."""
    import dataclasses
    import threading

    import numpy as np

    import attnrec.training as training
    from attnrec.data.io import read_table
    from attnrec.data.own import load_own_dataset
    from attnrec.limits import LIMITS
    from attnrec.training import TrainConfig, train

    out: dict = {}
    started = time.perf_counter()
    wide = dataclasses.replace(
        LIMITS, table_rows=10**9, table_cells=10**10, parquet_bytes=2**40, parquet_decoded_bytes=2**40
    )
    tables = {role: read_table(folder / f"{role}.parquet", limits=wide) for role in ("users", "items", "interactions")}
    dataset = load_own_dataset(
        tables["users"], tables["items"], tables["interactions"], folder / "schema.json", name=NAME
    )
    del tables
    out.update(load_s=time.perf_counter() - started, load_peak_mb=peak_mb())
    epochs_seen: list[dict] = []
    pairs = {"seen": 0, "first": 0.0, "last": 0.0}
    loss = training._loss

    def counted(model, config, batch):  # the pairs training steps see (not validation: no grad there)
        if model.training:
            if not pairs["first"]:  # the clock starts at the first step (loading and set-up are done)
                pairs["first"] = time.perf_counter()
                if seconds > 0:
                    threading.Timer(seconds, stop.set).start()
            pairs["seen"] += len(batch[0])
            pairs["last"] = time.perf_counter()
        return loss(model, config, batch)

    training._loss = counted
    stop = threading.Event()
    started = time.perf_counter()
    config = TrainConfig(mode="latent", d=16, epochs=epochs, batch_size=1024, device="cpu", monitor="last")
    model = train(dataset, config, progress=False, callback=lambda epoch, m: epochs_seen.append(m), stop_event=stop)
    train_s = time.perf_counter() - started
    n_train = int(round(len(dataset.positives) * (1 - config.val_fraction)))
    out.update(
        train_s=train_s,
        train_positives=n_train,
        epochs_run=len(epochs_seen),
        steps_positives=pairs["seen"] / 5,
        positives_per_s_steps=pairs["seen"] / 5 / max(pairs["last"] - pairs["first"], 1e-9),
        val_auc=epochs_seen[-1]["val_auc"] if epochs_seen else float("nan"),
        train_peak_mb=peak_mb(),
    )
    if epochs_seen:
        epoch_s = statistics.median(m["seconds"] for m in epochs_seen)
        out.update(epoch_s=epoch_s, positives_per_s_epoch=n_train / epoch_s)
    from attnrec.device import apply_threads

    apply_threads()  # as the app does (1 thread unless $ATTNREC_THREADS); train() restored torch's default
    rng = np.random.default_rng(0)
    users = [model.user_ids[r] for r in rng.choice(len(model.user_ids), topk_users, replace=False)]
    model.top_k(users[0], 10)  # the catalog's Y is encoded once, on the first call
    times = []
    for user in users:
        tick = time.perf_counter()
        model.top_k(user, 10)
        times.append((time.perf_counter() - tick) * 1000)
    out.update(topk_ms=times, topk_peak_mb=peak_mb())
    if workspace is not None:
        from attnrec.workspace import Workspace

        place = Workspace(workspace)
        place.save_dataset(dataset)
        place.save_model(model, f"{NAME}-latent")
    print(json.dumps(out))


def child(args: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ATTNREC_THREADS": os.environ.get("ATTNREC_THREADS", "1")}
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def clicks_phase(workspace: Path, n_clicks: int) -> tuple[list, int]:
    """Explore in Chromium against the saved model: (rows as browser_click.click_latencies gives them, missed)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import browser_click as bc

    from attnrec.data import load_dataset
    from attnrec.model import Recommender

    dataset = load_dataset(workspace / "datasets" / NAME)
    model = Recommender.load(workspace / "models" / f"{NAME}-latent", device="cpu", dataset=dataset)
    positives = dataset.positives
    default_pair = (str(positives["user_id"].iloc[0]), str(positives["item_id"].iloc[0]))
    rows = 8  # the first rows of each picker (plan_clicks scrolls to them)
    user_ids = [str(u) for u in dataset.users.index[:rows]]
    item_ids = [str(i) for i in dataset.items.index[:rows]]
    clicks = bc.plan_clicks(user_ids, item_ids, default_pair, n_clicks, bc.attention_looks(model), rows=rows)
    os.environ["ATTNREC_WORKSPACE"] = str(workspace)
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "server.log", "wb") as log:
        server, url = bc.serve(ROOT, sys.executable, log)
        try:
            return bc.click_latencies(f"{url}/?dataset={NAME}", clicks, server.pid, Path(tmp))
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", action="append", help="USERSxITEMSxPOSITIVES (repeatable)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--topk-users", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--train-seconds", type=float, default=0, help="stop training after this long (0: never)")
    args = parser.parse_args()
    from attnrec.limits import LIMITS

    for size in args.size or ["100000x100000x1000000"]:
        users, items, positives = (int(float(v)) for v in size.lower().split("x"))
        print(f"== {users:,} users × {items:,} items × {positives:,} positives", flush=True)
        with tempfile.TemporaryDirectory(prefix="attnrec-scale-") as tmp:
            data, workspace = Path(tmp) / "data", Path(tmp) / "workspace"
            gen = child(["_generate", str(data), str(users), str(items), str(positives)])
            print(f"generate      {gen['generate_s']:.1f} s, peak RSS {gen['generate_peak_mb']:.0f} MB", flush=True)
            app = not args.no_browser and positives <= LIMITS.table_rows
            tr = child(
                [
                    "_train",
                    str(data),
                    str(workspace) if app else "-",
                    str(args.epochs),
                    str(args.topk_users),
                    str(args.train_seconds),
                ]
            )
            print(f"load          {tr['load_s']:.1f} s, peak RSS {tr['load_peak_mb']:.0f} MB")
            print(
                f"train         {tr['train_s']:.1f} s, {tr['epochs_run']} full epoch(s) of {tr['train_positives']:,} "
                f"positives (each with 4 sampled negatives); training steps: {tr['positives_per_s_steps']:,.0f} "
                f"positives/s over {tr['steps_positives']:,.0f} positives; peak RSS {tr['train_peak_mb']:.0f} MB"
            )
            if "epoch_s" in tr:
                print(
                    f"              an epoch with its validation: {tr['epoch_s']:.1f} s → "
                    f"{tr['positives_per_s_epoch']:,.0f} positives/s; val AUC {tr['val_auc']:.3f}"
                )
            print(f"top-10 of {items:,} items (ms, {len(tr['topk_ms'])} users): {quartiles(tr['topk_ms'])}", flush=True)
            if app:
                rows, missed = clicks_phase(workspace, args.clicks)
                latency = [r[0] for r in rows]
                print(f"Explore click → both heatmaps (ms, {len(rows)} clicks, {missed} missed): {quartiles(latency)}")
                print(f"  server CPU per click (ms): {quartiles([r[1] for r in rows])}")
                print(f"  websocket KiB per click: {quartiles([r[4] for r in rows])}")
            elif not args.no_browser:
                print(f"click latency skipped: {positives:,} interactions exceed the app's {LIMITS.table_rows:,} rows")
        print(f"load average {os.getloadavg()[0]:.2f} / {os.getloadavg()[1]:.2f} (1 / 5 min), {os.cpu_count()} CPUs")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_generate":
        generate(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_train":
        workspace = None if sys.argv[3] == "-" else Path(sys.argv[3])
        train_phase(Path(sys.argv[2]), workspace, int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
    else:
        main()

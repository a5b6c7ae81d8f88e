"""How fast the Explore page answers: one rerun for a new pair, a cached rerun, and cold start.

    python benchmarks/explore.py [--reruns 40] [--device cpu] [--model-dir sample_data/models/restaurants-aligned]

1. compute: what a rerun for a new pair computes — trace, rank, Z breakdown, Integrated Gradients at
   50 steps, and the five figures — over --reruns different pairs (median, p95);
2. page rerun (AppTest): the whole Explore script after a row click picks a new pair (cache miss), and
   after a heatmap click on the same pair (cache hit);
3. cold start: a fresh Python process from its first line to Explore's first complete render
   (imports, dataset and model loading, first explanation) — AppTest, so no browser time is included.

Uses the first shipped checkpoint (sample_data/models) or --model-dir; without one, a restaurants model
with random weights, saved to a temporary folder (speed does not depend on the weights' values).
Targets on 2 CPU cores: median rerun ≤ 100 ms, cold start ≤ 3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

RERUN_TARGET_MS, COLD_TARGET_S = 100.0, 3.0


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(name, samples):
    """samples: (wall s, CPU s) pairs. CPU time is what the rerun costs; wall time also counts waiting
    for a core, which on a shared machine can be most of it."""
    wall = [w * 1000 for w, _ in samples]
    cpu = [c * 1000 for _, c in samples]
    print(
        f"{name:<46} wall median {statistics.median(wall):7.1f} ms, p95 {percentile(wall, 95):7.1f} ms | "
        f"CPU median {statistics.median(cpu):6.1f} ms, p95 {percentile(cpu, 95):6.1f} ms  (n={len(samples)})"
    )
    return statistics.median(wall), statistics.median(cpu)


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def checkpoint_folder(explicit: str | None) -> tuple[Path, bool]:
    """(folder, shipped?) — a shipped checkpoint, or a random-weight restaurants model saved to a temp dir."""
    if explicit:
        return Path(explicit), True
    shipped = sorted(p for p in (ROOT / "sample_data" / "models").glob("*") if (p / "config.json").exists())
    if shipped:
        return shipped[0], True
    from attnrec.data import Featurizer, load_dataset
    from attnrec.model import Recommender

    dataset = load_dataset("restaurants")
    model = Recommender.from_featurizer(Featurizer.fit(dataset, "aligned"), dataset, heads=2)
    folder = Path(tempfile.mkdtemp(prefix="attnrec-bench-")) / "restaurants-aligned-random"
    model.save(folder)
    return folder, False


def bench_compute(model, pairs, device):
    """Per new pair: the explanation (trace, rank, breakdown, IG at 50 steps), then the five figures."""
    from attnrec.figures import attention_heatmap, contribution_waterfall, z_bars
    from attnrec.figures.pair import side_attribution_bars
    from attnrec.pair_explanation import explain_pair

    names = list(model.dimension_names)

    def figures(ex):
        t = ex.pair.trace
        attention_heatmap(t.a_u[0].cpu().numpy(), names, "A_U", side="user")
        attention_heatmap(t.a_v[0].cpu().numpy(), names, "A_V", side="item")
        z_bars(t.z_u[0].cpu().numpy(), t.z_v[0].cpu().numpy(), names)
        contribution_waterfall(t.contributions[0].cpu().numpy(), names, ex.pair.s)
        side_attribution_bars(ex.table, "IG")

    figures(explain_pair(model, *pairs[0], "ig", {"n_steps": 50}))  # warm-up: first Captum call, lazy imports
    explained, drawn = [], []
    for user_id, item_id in pairs:
        box = {}
        explained.append(
            timed(
                lambda box=box, user_id=user_id, item_id=item_id: box.setdefault(
                    "ex", explain_pair(model, user_id, item_id, "ig", {"n_steps": 50})
                )
            )
        )
        drawn.append(timed(lambda box=box: figures(box["ex"])))
    result = summary(f"explain a new pair: S, rank, Z, IG-50 ({device})", explained)
    summary("build its 5 figures (Plotly)", drawn)
    return result


def bench_page(folder: Path, dataset, reruns: int, device: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app_pages" / "explore.py"), default_timeout=120)
    at.query_params["model"] = folder.name
    at.query_params["device"] = device
    at.run()
    if at.exception:
        raise RuntimeError(f"Explore failed: {at.exception}")
    miss, hit = [], []
    n_users = len(dataset.users)
    for k in range(reruns):
        user = str(dataset.users.index[(k * 7 + 1) % n_users])
        at.session_state["explore_user_rows"] = {"pick": {"id": user, "nonce": f"bench-{k}"}}
        miss.append(timed(at.run))
        at.session_state["explore_heat_user"] = {
            "selection": {"points": [{"customdata": [0, k % 3]}], "point_indices": [], "box": [], "lasso": []}
        }
        hit.append(timed(at.run))
        if at.exception:
            raise RuntimeError(f"Explore failed: {at.exception}")
    result = summary("page rerun, new pair (AppTest)", miss)
    summary("page rerun, same pair: heatmap click (AppTest)", hit)
    return result


COLD_SCRIPT = textwrap.dedent("""
    import time
    start = time.perf_counter()
    import sys
    sys.path.insert(0, {root!r})
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file({app!r}, default_timeout=120)
    at.query_params["model"] = {model!r}
    at.query_params["device"] = {device!r}
    at.run()
    assert not at.exception, at.exception
    assert any(m.label == "S (score)" for m in at.metric), "Explore did not render a score"
    print(time.perf_counter() - start)
""")


def bench_cold(folder: Path, device: str, repeats: int = 3):
    env = {**os.environ, "ATTNREC_MODELS_DIR": str(folder.parent)}
    script = COLD_SCRIPT.format(root=str(ROOT), app=str(ROOT / "app.py"), model=folder.name, device=device)
    times = []
    for _ in range(repeats):
        wall = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
        process = time.perf_counter() - wall
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        inside = float(out.stdout.strip().splitlines()[-1])
        times.append((inside, process))
    inside = [t[0] for t in times]
    median = statistics.median(inside)
    print(
        f"{'cold start → first Explore render':<44} median {median:6.2f} s, range {min(inside):.2f}–{max(inside):.2f}"
        f"   (interpreter start included: median {statistics.median(t[1] for t in times):.2f} s; "
        f"{repeats} fresh processes)"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reruns", type=int, default=40, help="pairs / reruns to time (≥ 30)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model-dir", default=None, help="a checkpoint folder (default: first shipped one)")
    parser.add_argument("--skip-page", action="store_true", help="only the compute and cold-start timings")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for the compute timing (the app uses 1: attnrec.app.session.use_one_torch_thread)",
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)

    from attnrec.device import resolve_device
    from attnrec.model import Recommender

    device = str(resolve_device(args.device))
    folder, shipped = checkpoint_folder(args.model_dir)
    os.environ["ATTNREC_MODELS_DIR"] = str(folder.parent)  # the page's sidebar lists this checkpoint
    print(
        f"model: {folder} ({'shipped' if shipped else 'random weights'}), device {device}, "
        f"torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs"
    )
    model = Recommender.load(folder, device=device)
    dataset = model.dataset
    print(
        f"catalog: {len(model.user_ids)} users × {len(model.item_ids)} items, d={model.d}, H={model.heads}, "
        f"{model.mode}"
    )
    positives = dataset.positives.drop_duplicates("user_id")
    pairs = list(zip(positives["user_id"].astype(str), positives["item_id"].astype(str)))[: max(30, args.reruns)]
    compute_wall, compute_cpu = bench_compute(model, pairs, device)
    page = None
    if not args.skip_page:
        page = bench_page(folder, dataset, max(30, args.reruns), args.device)
    cold = bench_cold(folder, args.device)
    print()
    print(
        f"target: median rerun ≤ {RERUN_TARGET_MS:.0f} ms → explanation {compute_wall:.1f} ms wall "
        f"({compute_cpu:.1f} ms CPU)"
        + (f"; whole page, new pair {page[0]:.1f} ms wall ({page[1]:.1f} ms CPU)" if page else "")
    )
    print(f"target: cold start ≤ {COLD_TARGET_S:.1f} s → {cold:.2f} s")


if __name__ == "__main__":
    main()

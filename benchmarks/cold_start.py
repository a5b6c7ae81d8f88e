"""Cold start in a real browser: a fresh server and a fresh Chromium, time until the first number is on screen.

    python benchmarks/cold_start.py [--repeats 3] [--root /tmp/before] [--page health] [--launch streamlit]

Each round starts fresh servers on this machine — the app (--root, default this checkout) served as the README
says (`attnrec app`: the app's libraries are imported before the server listens), the same app served by a plain
`streamlit run app.py` (which imports them only when the first browser connects), and a trivial page
(`st.metric("answer", 42)`, `streamlit run`) — and opens each in a new Chromium profile once its server answers.
Time counts from the start of navigation to the first `st.metric` value on screen (in the page's own clock,
performance.now()), so the browser's launch is not counted; the server's CPU seconds over the same span, and how
long the server took to answer at all, are reported too, and on Explore (the default page) the whole first view:
until both attention heatmaps are drawn. Rounds alternate the servers so all see the same machine
load. Goal: the app's median ≤ 1.5 × the trivial page's. With --page, the app is opened at that page (a deep
link, e.g. `health`). --launch streamlit serves the app only the plain way (a checkout older than `attnrec app`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import time  # noqa: E402

from browser_click import ROOT, SIGNATURES, cpu_seconds, serve  # noqa: E402

from attnrec.devserver import launch_chromium  # noqa: E402

TRIVIAL = 'import streamlit as st\n\nst.metric("answer", 42)\n'
FIRST_NUMBER = """() => {
  for (const el of document.querySelectorAll("[data-testid='stMetricValue']")) {
    if (/[0-9]/.test(el.innerText) && el.getBoundingClientRect().height > 0) return performance.now();
  }
  return 0;
}"""
# Explore's whole first view: both attention heatmaps drawn (the charts come last: their plotly.js is the largest
# download). Reported beside the first number, so that a faster number cannot hide a slower page.
WHOLE_VIEW = f"(() => {{ const s = ({SIGNATURES})(); return s.u && s.v ? performance.now() : 0; }})()"


def first_number(
    root: Path, script: str, python: str, tmp: Path, path: str = "", launch: str = "streamlit", whole: bool = False
) -> tuple[float, float, float, float]:
    """(seconds to the first number, server CPU seconds, seconds until the server answered, seconds until the whole
    first view is drawn) for one fresh server (`launch` as in `browser_click.serve`) + fresh browser. The whole
    view (`whole`, Explore only): both attention heatmaps drawn; NaN when not asked for."""
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    with open(tmp / f"{script}-{launch}.log", "wb") as log:
        server, url = serve(root, python, log, script=script, launch=launch)
    ready = time.perf_counter() - started
    try:
        with sync_playwright() as p:
            context = launch_chromium(p, tmp / f"profile-{script}-{launch}")
            page = context.pages[0] if context.pages else context.new_page()
            cpu = cpu_seconds([server.pid])
            page.goto(f"{url}/{path}", wait_until="commit", timeout=300_000)
            seen = page.wait_for_function(FIRST_NUMBER, polling="raf", timeout=300_000).json_value()
            cpu = cpu_seconds([server.pid]) - cpu
            drawn = float("nan")
            if whole:
                drawn = page.wait_for_function(WHOLE_VIEW, polling="raf", timeout=300_000).json_value() / 1000
            context.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return seen / 1000, cpu, ready, drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--root", default=str(ROOT), help="the checkout to serve (e.g. a `git worktree` of HEAD)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--page", default="", help="url path of the page to open (default: the default page)")
    parser.add_argument(
        "--launch",
        choices=["both", "streamlit"],
        default="both",
        help="serve the app as `attnrec app` and as `streamlit run app.py` (both), or only the latter",
    )
    args = parser.parse_args()
    root = Path(args.root).resolve()
    launches = ["attnrec", "streamlit"] if args.launch == "both" else ["streamlit"]
    explore = args.page.strip("/") in ("", "explore")
    apps: dict[str, list] = {launch: [] for launch in launches}
    trivial = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        (tmp / "trivial").mkdir()
        (tmp / "trivial" / "trivial.py").write_text(TRIVIAL)
        for round_ in range(args.repeats):
            (tmp / f"r{round_}").mkdir()
            for launch in launches:
                apps[launch].append(
                    first_number(root, "app.py", args.python, tmp / f"r{round_}", args.page, launch, whole=explore)
                )
            trivial.append(first_number(tmp / "trivial", "trivial.py", args.python, tmp / f"r{round_}"))
            print(
                f"round {round_ + 1}: "
                + ", ".join(
                    f"app ({launch}) {runs[-1][0]:.2f} s (server CPU {runs[-1][1]:.2f} s)"
                    for launch, runs in apps.items()
                )
                + f", trivial page {trivial[-1][0]:.2f} s (server CPU {trivial[-1][1]:.2f} s)",
                file=sys.stderr,
                flush=True,
            )
    import os

    print(
        f"root {root}, page '/{args.page}', {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {args.repeats} rounds"
    )
    named = [(f"app ({launch}): first number", runs) for launch, runs in apps.items()]
    for name, runs in named + [("trivial page: first number", trivial)]:
        wall, cpu, ready = ([r[k] for r in runs] for k in range(3))
        print(
            f"{name:<34} median {statistics.median(wall):6.2f} s  range {min(wall):.2f}–{max(wall):.2f}  | "
            f"server CPU median {statistics.median(cpu):.2f} s | server answered after {statistics.median(ready):.1f} s"
        )
    for name, runs in named if explore else []:
        drawn = [r[3] for r in runs]
        print(
            f"{name[:-14] + ': whole view':<34} median {statistics.median(drawn):6.2f} s  range "
            f"{min(drawn):.2f}–{max(drawn):.2f}  (both attention heatmaps drawn)"
        )
    for name, runs in named:
        ratio = statistics.median(r[0] for r in runs) / statistics.median(r[0] for r in trivial)
        ratios = sorted(a[0] / t[0] for a, t in zip(runs, trivial))
        print(f"ratio {name[:-14]} / trivial: {ratio:.2f}× (per round {ratios[0]:.2f}–{ratios[-1]:.2f}×); goal ≤ 1.5×")


if __name__ == "__main__":
    main()

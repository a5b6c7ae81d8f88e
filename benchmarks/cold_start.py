"""Cold start in a real browser: a fresh server and a fresh Chromium, time until the first number is on screen.

    python benchmarks/cold_start.py [--repeats 3] [--root /tmp/before] [--page health]

Each round starts two fresh `streamlit run` servers on this machine — the app (--root, default this checkout) and
a trivial page (`st.metric("answer", 42)`) — and opens each in a new Chromium profile. Time counts from the start
of navigation to the first `st.metric` value on screen (in the page's own clock, performance.now()), so the
browser's launch is not counted; the server's CPU seconds over the same span are reported too. Rounds alternate
app and trivial page so both see the same machine load. Goal: the app's median ≤ 1.5 × the trivial page's.
With --page, the app is opened at that page (a deep link, e.g. `health`) instead of the default page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_click import ROOT, cpu_seconds, serve  # noqa: E402

from attnrec.devserver import launch_chromium  # noqa: E402

TRIVIAL = 'import streamlit as st\n\nst.metric("answer", 42)\n'
FIRST_NUMBER = """() => {
  for (const el of document.querySelectorAll("[data-testid='stMetricValue']")) {
    if (/[0-9]/.test(el.innerText) && el.getBoundingClientRect().height > 0) return performance.now();
  }
  return 0;
}"""


def first_number(root: Path, script: str, python: str, tmp: Path, path: str = "") -> tuple[float, float]:
    """(seconds to the first number, server CPU seconds) for one fresh server + fresh browser."""
    from playwright.sync_api import sync_playwright

    with open(tmp / f"{script}.log", "wb") as log:
        server, url = serve(root, python, log, script=script)
    try:
        with sync_playwright() as p:
            context = launch_chromium(p, tmp / f"profile-{script}")
            page = context.pages[0] if context.pages else context.new_page()
            cpu = cpu_seconds([server.pid])
            page.goto(f"{url}/{path}", wait_until="commit", timeout=300_000)
            seen = page.wait_for_function(FIRST_NUMBER, polling="raf", timeout=300_000).json_value()
            cpu = cpu_seconds([server.pid]) - cpu
            context.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return seen / 1000, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--root", default=str(ROOT), help="the checkout to serve (e.g. a `git worktree` of HEAD)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--page", default="", help="url path of the page to open (default: the default page)")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    app, trivial = [], []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        (tmp / "trivial").mkdir()
        (tmp / "trivial" / "trivial.py").write_text(TRIVIAL)
        for round_ in range(args.repeats):
            (tmp / f"r{round_}").mkdir()
            app.append(first_number(root, "app.py", args.python, tmp / f"r{round_}", args.page))
            trivial.append(first_number(tmp / "trivial", "trivial.py", args.python, tmp / f"r{round_}"))
            print(
                f"round {round_ + 1}: app {app[-1][0]:.2f} s (server CPU {app[-1][1]:.2f} s), "
                f"trivial page {trivial[-1][0]:.2f} s (server CPU {trivial[-1][1]:.2f} s)",
                file=sys.stderr,
                flush=True,
            )
    import os

    print(
        f"root {root}, page '/{args.page}', {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {args.repeats} rounds"
    )
    for name, runs in (("app: first number", app), ("trivial page: first number", trivial)):
        wall = [w for w, _ in runs]
        cpu = [c for _, c in runs]
        print(
            f"{name:<28} median {statistics.median(wall):6.2f} s  range {min(wall):.2f}–{max(wall):.2f}  | "
            f"server CPU median {statistics.median(cpu):.2f} s"
        )
    ratio = statistics.median(w for w, _ in app) / statistics.median(w for w, _ in trivial)
    ratios = sorted(a[0] / t[0] for a, t in zip(app, trivial))
    print(f"ratio app / trivial: {ratio:.2f}× (per round {ratios[0]:.2f}–{ratios[-1]:.2f}×); goal ≤ 1.5×")


if __name__ == "__main__":
    main()

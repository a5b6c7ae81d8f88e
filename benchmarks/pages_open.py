"""Every page, opened by its link in a new tab of a browser that has the app open: time until it is all drawn.

    python benchmarks/pages_open.py [--rounds 3] [--root /tmp/before] [--python /path/to/python]

Serves the app from --root as the README says (`attnrec app`), opens it once in Chromium (Playwright) so the
server and the browser are warm (imports, the shipped dataset and model loaded, the browser's cache holding the
app's scripts), then for each round opens every page by its link (/, /walkthrough, …) in a new tab. Per
page it reports the time from the start of navigation (the page's own clock) until the page's script run is
over, every chart on it has drawn and two more frames have passed, and the server's CPU seconds over the same
span: medians and ranges over the rounds. Model health's cold open (fresh server, fresh browser) is
`benchmarks/health_cold.py`; Explore's is `benchmarks/cold_start.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_click import ROOT, cpu_seconds, serve  # noqa: E402

from attnrec.devserver import CHARTS_DRAWN, SCRIPT_IDLE, TWO_FRAMES, launch_chromium  # noqa: E402

# Page → its link's path. Explore is the default page: Streamlit serves it at the root ("/explore" is not a page
# there: it shows "Page not found", then the default page).
PAGES = {
    "explore": "",
    "walkthrough": "walkthrough",
    "compare": "compare",
    "attributions": "attributions",
    "recommend": "recommend",
    "health": "health",
    "insights": "insights",
    "data": "data",
}


def open_pages(url: str, server_pid: int, rounds: int, profile: Path) -> dict[str, list[tuple[float, float]]]:
    from playwright.sync_api import sync_playwright

    seen: dict[str, list[tuple[float, float]]] = {page: [] for page in PAGES}
    with sync_playwright() as p:
        context = launch_chromium(p, profile)
        warm = context.new_page()
        warm.goto(url)
        warm.evaluate(TWO_FRAMES)
        warm.wait_for_function(SCRIPT_IDLE, timeout=300_000)
        warm.close()
        for round_ in range(rounds):
            for name in PAGES:
                tab = context.new_page()
                cpu = cpu_seconds([server_pid])
                tab.goto(f"{url}/{PAGES[name]}", wait_until="commit", timeout=300_000)
                tab.wait_for_selector("h1", timeout=300_000)
                tab.evaluate(TWO_FRAMES)
                tab.wait_for_function(SCRIPT_IDLE, timeout=300_000)
                tab.wait_for_function(CHARTS_DRAWN, timeout=300_000)
                drawn = tab.evaluate(f"async () => {{ await ({TWO_FRAMES})(); return performance.now(); }}")
                if tab.locator("[data-testid='stException']").count() or tab.get_by_text("Page not found").count():
                    raise RuntimeError(f"/{PAGES[name]} shows an error")
                seen[name].append((drawn / 1000, cpu_seconds([server_pid]) - cpu))
                print(f"round {round_ + 1}: /{name} {seen[name][-1][0]:.2f} s", file=sys.stderr, flush=True)
                tab.close()
        context.close()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", default=str(ROOT), help="the checkout to serve (e.g. a `git worktree` of HEAD)")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    root = Path(args.root).resolve()
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "server.log", "wb") as log:
        server, url = serve(root, args.python, log)
        try:
            seen = open_pages(url, server.pid, args.rounds, Path(folder) / "profile")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"root {root}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {args.rounds} rounds")
    for name, runs in seen.items():
        wall, cpu = [w for w, _ in runs], [c for _, c in runs]
        print(
            f"/{name:<13} drawn after median {statistics.median(wall):5.2f} s (range {min(wall):.2f}–{max(wall):.2f})"
            f" | server CPU median {statistics.median(cpu):.2f} s"
        )


if __name__ == "__main__":
    main()

"""Attributions page in a real browser: pick a new user in its User box, time until the page shows that pair.

    python benchmarks/attributions_pair.py [--pairs 10] [--root /tmp/before] [--launch streamlit]

Serves the app from --root as the README says (`attnrec app`; --launch streamlit for a plain `streamlit run`),
opens the Attributions page in Chromium (Playwright) and waits until it is drawn, then picks --pairs users not
seen before in the page's User box (typed, then Enter), each a new pair for every method, so nothing is a cache
hit. Per pick it reports, in the page's own clock, the time from the Enter key until the page's run is over,
every chart has drawn and two more frames have passed (what a person waits for before the page holds the new
pair's attributions of the default methods: at the field level, Integrated Gradients and the three it is compared
with), and the server's CPU seconds over the same span. Medians, p95 and range; goal (issue 11): a new pair
≤ 1 s for the default methods.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_click import ROOT, cpu_seconds, describe, serve  # noqa: E402

from attnrec.devserver import CHARTS_DRAWN, SCRIPT_IDLE, TWO_FRAMES, launch_chromium  # noqa: E402

# The page's clock at the last Enter key press.
ENTER_CLOCK = """window.addEventListener("keydown", (e) => {
  if (e.key === "Enter") window.attnrecEnter = performance.now(); }, true);"""
DRAWN = f"async () => {{ await ({TWO_FRAMES})(); return performance.now() - window.attnrecEnter; }}"


def user_ids(root: Path) -> list[str]:
    sys.path.insert(0, str(root))
    from attnrec.data import load_dataset

    users = load_dataset("restaurants").users
    return [str(u) for u in users.index]


def pick_latencies(url: str, users: list[str], server_pid: int, profile: Path) -> list[tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    seen = []
    with sync_playwright() as p:
        context = launch_chromium(p, profile)
        page = context.new_page()
        page.add_init_script(ENTER_CLOCK)
        page.goto(f"{url}/attributions?user={users[0]}", timeout=300_000)
        page.wait_for_selector("h1", timeout=300_000)
        page.evaluate(TWO_FRAMES)
        page.wait_for_function(SCRIPT_IDLE, timeout=300_000)
        page.wait_for_function(CHARTS_DRAWN, timeout=300_000)
        box = page.locator("[data-testid='stSelectbox']").filter(has_text="User").first
        for user in users[1:]:
            box.click()
            page.keyboard.type(user)
            page.get_by_role("option", name=user, exact=True).wait_for(timeout=30_000)  # the list is filtered
            cpu = cpu_seconds([server_pid])
            page.keyboard.press("Enter")
            page.wait_for_function(
                f"() => new URLSearchParams(location.search).get('user') === '{user}'", timeout=120_000
            )
            page.evaluate(TWO_FRAMES)
            page.wait_for_function(SCRIPT_IDLE, timeout=120_000)
            page.wait_for_function(CHARTS_DRAWN, timeout=120_000)
            waited = page.evaluate(DRAWN)
            if page.locator("[data-testid='stException']").count():
                raise RuntimeError(f"the page shows an error after picking {user}")
            seen.append((waited, (cpu_seconds([server_pid]) - cpu) * 1000))
            print(f"{user}: {waited:.0f} ms", file=sys.stderr, flush=True)
        context.close()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--root", default=str(ROOT), help="the checkout to serve (e.g. a `git worktree` of HEAD)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--launch", choices=["attnrec", "streamlit"], default="attnrec")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    users = user_ids(root)[: args.pairs + 1]
    with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "server.log", "wb") as log:
        server, url = serve(root, args.python, log, launch=args.launch)
        try:
            seen = pick_latencies(url, users, server.pid, Path(folder) / "profile")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"root {root}, launch {args.launch}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(describe("pick a user → the page drawn", [w for w, _ in seen]))
    print(describe("server CPU per pick", [c for _, c in seen]))
    print(f"goal: median ≤ 1000 ms → {statistics.median(w for w, _ in seen):.0f} ms")


if __name__ == "__main__":
    main()

"""Model health, cold: a fresh server and a fresh Chromium open /health; time until the page is usable.

    python benchmarks/health_cold.py [--repeats 3] [--root /tmp/before]

"Usable" = the whole page has rendered once: its last control before the file upload, the "Run sanity checks"
button, is on screen (it comes after the held-out table, the head charts, the most-wrong pairs and the trust
section, in every version of the page), and at least one chart has drawn. Time counts from the start of
navigation (performance.now() of the page); the server is fresh each round (imports, dataset and model loading
count). The server's CPU seconds over the same span are reported too. Goal: ≤ 5 s.
The quality cache folder is a new empty one each round (ATTNREC_CACHE_DIR), so a table computed in an earlier
round is not reused; a table shipped beside a checkpoint (quality.json) is.
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

from attnrec.devserver import launch_chromium  # noqa: E402

USABLE = """() => {
  const button = Array.from(document.querySelectorAll("button")).find(b => b.innerText.includes("Run sanity checks"));
  const chart = document.querySelector(".js-plotly-plot .main-svg");
  return button && chart && button.getBoundingClientRect().height > 0 ? performance.now() : 0;
}"""


def usable(root: Path, python: str, tmp: Path, launch: str = "attnrec") -> tuple[float, float]:
    from playwright.sync_api import sync_playwright

    os.environ["ATTNREC_CACHE_DIR"] = str(tmp / "cache")
    with open(tmp / "server.log", "wb") as log:
        server, url = serve(root, python, log, launch=launch)
    try:
        with sync_playwright() as p:
            context = launch_chromium(p, tmp / "profile")
            page = context.pages[0] if context.pages else context.new_page()
            cpu = cpu_seconds([server.pid])
            page.goto(f"{url}/health", wait_until="commit", timeout=600_000)
            seen = page.wait_for_function(USABLE, polling="raf", timeout=600_000).json_value()
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
    parser.add_argument(
        "--launch",
        choices=["attnrec", "streamlit"],
        default="attnrec",
        help="serve the app as the README says (`attnrec app`) or by a plain `streamlit run app.py`",
    )
    args = parser.parse_args()
    root = Path(args.root).resolve()
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.repeats):
            tmp = Path(folder) / f"r{round_}"
            tmp.mkdir()
            runs.append(usable(root, args.python, tmp, args.launch))
            print(
                f"round {round_ + 1}: usable after {runs[-1][0]:.1f} s (server CPU {runs[-1][1]:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    wall, cpu = [w for w, _ in runs], [c for _, c in runs]
    print(
        f"root {root}, launch {args.launch}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
        f"{args.repeats} fresh servers"
    )
    print(
        f"Model health usable (cold): median {statistics.median(wall):.1f} s, range {min(wall):.1f}–{max(wall):.1f} s"
        f" | server CPU median {statistics.median(cpu):.1f} s; goal ≤ 5 s"
    )


if __name__ == "__main__":
    main()

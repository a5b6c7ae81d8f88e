"""The app in a real browser, for the browser tests, the browser benchmarks and the screenshot command.

`serve_app(log_path)` runs the app as the README says (`attnrec app`: `streamlit run app.py` after the app's
libraries are imported) as a fresh server on a free loopback port and yields its URL; `server_command` is that
command line, also for other scripts (`streamlit run` alone) and for checkouts older than `attnrec app`;
`launch_chromium(playwright, profile)` starts Debian's Chromium (/usr/bin/chromium, never `playwright install`)
with the flags this machine needs. No Streamlit import here: the server is a subprocess.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # playwright is a dev dependency: the browser tests and benchmarks use it
    from playwright.sync_api import BrowserContext, Playwright

__all__ = [
    "ROOT",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "STARTUP_SECONDS",
    "free_port",
    "healthy",
    "server_command",
    "serve_app",
    "launch_chromium",
]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def server_command(python: str, script: str, port: int, launch: str = "attnrec", *options: str) -> list[str]:
    """The command line of a headless server of `script` on 127.0.0.1:`port`. `launch`: "attnrec" serves app.py
    as the README says (`python -m attnrec app`, the libraries imported before the server listens), "streamlit"
    is a plain `streamlit run <script>` (any script other than app.py is always served that way)."""
    flags = ["--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port), *options]
    if launch not in ("attnrec", "streamlit"):
        raise ValueError(f"launch must be 'attnrec' or 'streamlit', got {launch!r}")
    if launch == "attnrec" and script == "app.py":
        return [python, "-m", "attnrec", "app", *flags]
    return [python, "-m", "streamlit", "run", script, *flags]


@contextlib.contextmanager
def serve_app(
    log_path: Path,
    port: int | None = None,
    script: str = "app.py",
    python: str | None = None,
    root: Path = ROOT,
    launch: str = "attnrec",
    **env_overrides: str,
) -> Iterator[str]:
    """A fresh server of `script` (`server_command`) on a free loopback port (or `port`); yields its base URL.
    `env_overrides` are added to the server's environment (e.g. ATTNREC_WORKSPACE)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **env_overrides}
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            server_command(python or sys.executable, script, port, launch),
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy; log:\n{Path(log_path).read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def launch_chromium(
    playwright: Playwright, profile: str | Path, width: int = 1280, height: int = 800
) -> BrowserContext:
    """A persistent headless Chromium context with a `width`×`height` viewport."""
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": width, "height": height},
    )


# The app's script-run state (Streamlit sets it on the stApp element: a widget change makes it "rerunRequested"
# at once, then "running", then "notRunning"), and no status widget on screen.
SCRIPT_IDLE = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    return app !== null && app.dataset.testScriptState === "notRunning"
        && !document.querySelector("[data-testid='stStatusWidget']");
}"""
# Resolves after two animation frames: what was laid out (charts re-sized, a rerun's elements) has been drawn.
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# Every chart drawn: st.plotly_chart's and attnrec's in-place ones (Streamlit components; a component that is one of
# attnrec's row pickers counts once its table is drawn, rows or none).
CHARTS_DRAWN = """() => [...document.querySelectorAll("[data-testid='stPlotlyChart'], .stBidiComponent")]
    .every((chart) => chart.querySelector('.js-plotly-plot .main-svg, .attnrec-rows'))"""


def wait_until_idle(page, timeout: int = 120_000) -> None:
    """Wait until the script run an action started is over (the frames first, so the action's rerun request
    has reached the page's state)."""
    page.evaluate(TWO_FRAMES)
    page.wait_for_function(SCRIPT_IDLE, timeout=timeout)

"""Real-browser fixtures: the app served by `streamlit run` and Debian's Chromium driven by Playwright.

Any test under tests/browser can take `app_url` (the running app), `page` (a 1280×800 tab),
`open_page(page, "Title")` (go to a page through the menu) and `screenshots` (the folder screenshots go to:
a temporary one, so a test run never rewrites tracked files; `ATTNREC_SCREENSHOTS=docs/screenshots
python -m pytest tests/browser` refreshes the README's pictures).
Skips cleanly when /usr/bin/chromium is absent, except under CI=true, where that is a failure.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_SECONDS = 90


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serve_app(log_path: Path, port: int | None = None, **env_overrides: str):
    """`streamlit run app.py` on a free loopback port (or `port`), as a fresh server; yields its base URL.
    `env_overrides` are added to the server's environment (e.g. ATTNREC_WORKSPACE)."""
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **env_overrides}
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy; log:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def require_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install Debian's chromium (see .ci/run)")
        pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """The folder screenshots are saved to: $ATTNREC_SCREENSHOTS (relative to the checkout) when set, else a
    temporary folder of this run."""
    chosen = os.environ.get("ATTNREC_SCREENSHOTS")
    folder = ROOT / chosen if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def app_workspace(tmp_path_factory) -> Path:
    """The workspace folder (saved datasets and models) of the served app."""
    return tmp_path_factory.mktemp("app-workspace")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, app_workspace):
    """The app served for the whole test session; yields its base URL, stops it afterwards."""
    require_chromium()
    with serve_app(tmp_path_factory.mktemp("streamlit") / "server.log", ATTNREC_WORKSPACE=str(app_workspace)) as url:
        yield url


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory, app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 800})
        try:
            yield context
        finally:
            context.close()


def open_app_page(tab, app_url: str, title: str) -> None:
    """Open the app at its root, then click `title` in the sidebar menu.

    Not a deep link on purpose: with a pages/ folder, Streamlit runs a deep-linked page on its own (its
    "pages directory" mode, without app.py) until some session has run app.py's st.navigation once.
    """
    tab.goto(app_url)
    nav = tab.locator("[data-testid='stSidebarNav']")
    nav.wait_for()
    nav.get_by_text(title, exact=True).click()
    tab.wait_for_url(lambda url: url.rstrip("/") != app_url.rstrip("/"))


@pytest.fixture
def open_page(app_url):
    """`open_page(tab, "Walkthrough")`: the app's root, then that page through the menu."""
    return lambda tab, title: open_app_page(tab, app_url, title)


@pytest.fixture
def page(browser_context):
    """A fresh 1280×800 tab; closed after the test."""
    tab = browser_context.new_page()
    tab.set_default_timeout(60_000)
    try:
        yield tab
    finally:
        tab.close()

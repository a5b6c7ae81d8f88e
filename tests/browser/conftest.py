"""Real-browser fixtures: the app served by `streamlit run` and Debian's Chromium driven by Playwright.

Any test under tests/browser can take `app_url` (the running app), `page` (a 1280×800 tab),
`open_page(page, "Title")` (go to a page through the menu) and `screenshots` (a temporary folder for the
pictures tests take: a test run never rewrites tracked files; `python scripts/screenshots.py` refreshes the
README's pictures).
Skips cleanly when /usr/bin/chromium is absent, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from attnrec.devserver import CHROMIUM, CHROMIUM_ARGS, ROOT, launch_chromium, serve_app  # noqa: F401 (re-exported)


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)  # `-m "not slow"`, the fast loop, leaves them out


def require_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install Debian's chromium (see .ci/run)")
        pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """A temporary folder for the pictures tests take (a test run never writes inside the checkout; the README's
    pictures are refreshed by `python scripts/screenshots.py`)."""
    return tmp_path_factory.mktemp("screenshots")


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
def playwright():
    """Playwright, once per test session (its sync API runs one instance per thread)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory, app_url, playwright):
    context = launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield context
    finally:
        context.close()


def open_app_page(tab, app_url: str, title: str) -> None:
    """Open the app at its root, then click `title` in the sidebar menu, as a person would (deep links are
    tested on their own in test_every_page_browser)."""
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

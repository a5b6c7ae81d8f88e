"""Helpers the browser tests share: waiting for Streamlit to finish a run, full-page screenshots, reading
metrics and the URL. Every wait is for a condition, never a fixed time."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

# The app's script-run state (Streamlit sets it on the stApp element: a widget change makes it "rerunRequested"
# at once, then "running", then "notRunning"), and no status widget on screen.
IDLE = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    return app !== null && app.dataset.testScriptState === "notRunning"
        && !document.querySelector("[data-testid='stStatusWidget']");
}"""
# Resolves after two animation frames: what was laid out (charts re-sized, a rerun's elements) has been drawn.
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def wait_until_idle(page, timeout: int = 120_000) -> None:
    """Wait until the script run an action started is over (the frames first, so the action's rerun request
    has reached the page's state)."""
    page.evaluate(TWO_FRAMES)
    page.wait_for_function(IDLE, timeout=timeout)


def drawn(page) -> None:
    """Wait until what the last run laid out has been drawn (charts draw on the frames after the run)."""
    page.evaluate(TWO_FRAMES)


def save_full_page(page, path: Path) -> None:
    """Streamlit scrolls inside its main element, so grow the window to that element's height first."""
    height = page.evaluate("document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size({"width": 1280, "height": max(800, int(height))})
    drawn(page)  # charts re-layout to the new size on the next frames
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def metric(page, label: str) -> str:
    """The value of the st.metric whose label contains `label`."""
    box = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return box.locator("[data-testid='stMetricValue']").inner_text().strip()


def url_params(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}

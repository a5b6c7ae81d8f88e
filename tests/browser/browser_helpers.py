"""Helpers the browser tests share: waiting for Streamlit to finish a run, full-page screenshots, reading
metrics and the URL. Every wait is for a condition, never a fixed time."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

from attnrec.devserver import TWO_FRAMES, wait_until_idle  # noqa: F401 (the tests' one wait for a run)


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

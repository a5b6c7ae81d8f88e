"""Screenshots of every page at 1280×800 and 1920×1080, for docs/screenshots/ (the README's pictures).

    python scripts/screenshots.py                 # docs/screenshots/<page>.png (1280) and <page>-1920.png
    python scripts/screenshots.py --out /tmp/shots --widths 1280 --pages explore health

Not part of the test suite (tests never rewrite tracked files): run it after a change to the pages, then open
the pictures and look at them as a user would — nothing cut off, the answer above the fold.
Each picture is what the window shows when the page has finished running (the part above the fold); pass
--full for the whole page as well (<page>-<width>-full.png).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from attnrec.devserver import CHARTS_DRAWN, ROOT, TWO_FRAMES, launch_chromium, serve_app, wait_until_idle

SIZES = {1280: 800, 1920: 1080}
NO_PLACEHOLDERS = "() => !document.querySelector(\"[data-testid='stSkeleton']\")"


def menu_titles() -> list[tuple[str, str]]:
    """(menu title, url path) of every page, in menu order, read from app.py."""
    text = (ROOT / "app.py").read_text()
    return re.findall(r'st\.Page\("[^"]+", title="([^"]+)", url_path="([^"]+)"', text)


def full_page(page, path: Path, width: int, height: int) -> None:
    """Streamlit scrolls inside its main element: grow the window to that element's height for the picture."""
    tall = page.evaluate("document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size({"width": width, "height": max(height, int(tall))})
    page.evaluate(TWO_FRAMES)  # charts re-layout to the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": height})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--widths", type=int, nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--pages", nargs="+", help="only these pages (their url paths: explore, health, …)")
    parser.add_argument("--full", action="store_true", help="also the whole page, not only the first screen")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as scratch,
        serve_app(Path(scratch) / "server.log") as url,
        sync_playwright() as p,
    ):
        for width in args.widths:
            height = SIZES[width]
            context = launch_chromium(p, Path(scratch) / f"profile-{width}", width, height)
            tab = context.new_page()
            tab.set_default_timeout(420_000)
            for title, path in menu_titles():
                if args.pages and path not in args.pages:
                    continue
                tab.goto(url)
                nav = tab.locator("[data-testid='stSidebarNav']")
                nav.wait_for()
                nav.get_by_text(title, exact=True).click()
                wait_until_idle(tab, timeout=420_000)
                # The page's own elements, not the placeholders a fresh page shows before its first run
                tab.wait_for_function(NO_PLACEHOLDERS, timeout=420_000)
                wait_until_idle(tab, timeout=420_000)
                tab.wait_for_function(CHARTS_DRAWN, timeout=420_000)  # every chart on the page drawn
                tab.evaluate(TWO_FRAMES)
                shot = out / (f"{path}.png" if width == 1280 else f"{path}-{width}.png")  # the README shows 1280
                tab.screenshot(path=str(shot))
                print(shot)
                if args.full:
                    full_page(tab, out / f"{path}-{width}-full.png", width, height)
            context.close()


if __name__ == "__main__":
    main()

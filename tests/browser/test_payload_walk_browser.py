"""Every page in Chromium with a dataset whose ids, item names and category values are Markdown / HTML payloads
(`![x](http://evil.invalid/…)`, `<img src=…>`, `<a href=…>`, `<b>…</b>`, `**bold**`, `=HYPERLINK(…)`).

The dataset is uploaded and kept on the Data page and a model is trained on it, as a user would; then each
page is opened from the menu. No request may leave the app's own server, and no element may be created
from a payload (no image or link to the payload host, no bold/strong made of a data value).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_injection import payload_frames  # noqa: E402  (the same payloads as the AppTest corpus)

from test_data_browser import set_text, upload_tables, wait_until_idle  # noqa: E402

PAGES = {"Explore": "Explore one user–item pair", "Walkthrough": "Walkthrough: how the score S is built",
         "Compare": "Compare two pairs", "Attributions": "Attributions", "Recommend": "Recommend",
         "Model health": "Model health", "Data": "Your data"}
FROM_PAYLOAD = ("img[src*='evil.invalid'], a[href*='evil.invalid'], [*|href*='evil.invalid'], "
                "[style*='evil.invalid'], strong:text-is('bold'), b:text-is('jazz'), strong:text-is('n')")


def csv_payload(name: str, frame) -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": frame.to_csv(index=False).encode("utf-8")}


def test_payload_dataset_on_every_page_makes_no_outside_request(page, open_page, app_url):
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((app_url, "data:", "blob:", "about:")) else None)
    users, items, interactions, _ = payload_frames()
    open_page(page, "Data")
    page.get_by_text("Your data", exact=True).wait_for()
    upload_tables(page, csv_payload("users.csv", users), csv_payload("items.csv", items),
                  csv_payload("interactions.csv", interactions))
    page.get_by_text("2 · Map columns to roles").wait_for()
    set_text(page, "Dataset name", "payloads")
    page.get_by_role("button", name="Validate and keep this dataset").click()
    page.get_by_text("Kept dataset 'payloads'").wait_for()
    page.get_by_label("Epochs").fill("2")
    page.get_by_label("d (latent dimensions)").fill("4")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Model 'payloads model' finished").wait_for(timeout=180_000)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.locator("[data-testid='stSelectbox']").filter(has_text="Dataset").click()
    page.get_by_role("option", name="payloads (loaded this session)").click()
    wait_until_idle(page)
    for title, heading in PAGES.items():
        page.locator("[data-testid='stSidebarNav']").get_by_text(title, exact=True).click()
        page.get_by_role("heading", name=heading).first.wait_for(timeout=180_000)
        wait_until_idle(page)
        page.wait_for_timeout(1500)  # charts draw after the script run
        assert page.locator("[data-testid='stException']").count() == 0, title
        made = page.locator(FROM_PAYLOAD)
        assert made.count() == 0, (title, [made.nth(i).evaluate("e => e.outerHTML") for i in range(made.count())])
    assert outside == [], outside

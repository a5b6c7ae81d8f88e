"""The Data page in Chromium: the restaurant files uploaded as if they were the user's own, mapped,
trained on, explored; and a column named like an HTML tag shown as text with no script run."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from urllib.parse import urlparse

from browser_helpers import drawn, metric, save_full_page, url_params, wait_until_idle

ROOT = Path(__file__).resolve().parents[2]
RESTAURANTS = ROOT / "sample_data" / "restaurants"
CHART = ".js-plotly-plot"  # every Plotly chart: st.plotly_chart's and attnrec's in-place ones
XSS = "<img src=x onerror=alert(1)>"


def uploader(page, label_start: str):
    return (
        page.locator("[data-testid='stFileUploader']").filter(has_text=label_start).locator("input[type='file']").first
    )


def upload_tables(page, users: dict, items: dict, interactions: dict) -> None:
    for label, payload in (("Users (", users), ("Items (", items), ("Interactions (", interactions)):
        uploader(page, label).set_input_files(files=[payload])
        # The upload reached the server once its uploader shows the file's chip; only then is the page's run the one it
        # started (the script state alone reads "not running" until the upload ends, and a next file set during
        # that upload's rerun could be lost).
        box = page.locator("[data-testid='stFileUploader']").filter(has_text=label).first
        box.locator("[data-testid='stFileChip']").first.wait_for()
        wait_until_idle(page)


def file_payload(path: Path) -> dict:
    return {"name": path.name, "mimeType": "text/csv", "buffer": path.read_bytes()}


def selected(page, label_start: str) -> str:
    """The value a selectbox shows (Streamlit keeps it in the combobox input's value)."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label_start).first
    return box.locator("input").first.input_value()


def set_text(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_until_idle(page)


def test_upload_map_train_and_explore_own_data(page, open_page, tmp_path, screenshots, app_workspace):
    open_page(page, "Data")
    page.get_by_text("Your data", exact=True).wait_for()
    upload_tables(
        page,
        file_payload(RESTAURANTS / "userprofile.csv"),
        file_payload(RESTAURANTS / "geoplaces2.csv"),
        file_payload(RESTAURANTS / "rating_final.csv"),
    )
    page.get_by_text("2 · Map columns to roles").wait_for()
    # The suggested mapping: ids by name, rating as the label with threshold 1 (ratings are 0..2).
    assert selected(page, "User id column") == "userID" and selected(page, "Item id column") == "placeID"
    assert page.get_by_label("Positive when the value is ≥", exact=True).input_value() == "1.00"
    set_text(page, "Dataset name", "my restaurants")
    page.get_by_role("button", name="Validate and keep this dataset").click()
    page.get_by_text("Kept dataset 'my restaurants': 138 users, 130 items, 1161 interactions").wait_for()

    with page.expect_download() as schema_download:
        page.get_by_role("button", name="Download schema.json (for the CLI)").click()
    schema = json.loads(Path(schema_download.value.path()).read_text())
    assert schema["user_id"] == "userID" and schema["item_id"] == "placeID"

    # Train a small model in the background: progress, then the model is registered.
    page.get_by_label("Epochs").fill("3")
    page.get_by_label("d (latent dimensions)").fill("8")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Model 'my restaurants model' finished").wait_for(timeout=180_000)
    # Then the job evaluates it against the baselines (for Model health) and the page shows the table.
    page.get_by_text("Held-out quality (leave-one-out").wait_for(timeout=180_000)
    assert page.locator("[data-testid='stException']").count() == 0
    save_full_page(page, screenshots / "data.png")
    # Model health, opened from there, shows this model and that table without computing it.
    page.get_by_role("button", name="Open it in Model health").click()
    page.get_by_text("Held-out ranking quality").wait_for()
    wait_until_idle(page)
    assert url_params(page)["model"] == "my restaurants model"
    assert page.get_by_role("button", name="Recompute").count() == 1  # the table is there, not "Compute…"
    assert page.locator("[data-testid='stException']").count() == 0
    page.locator("[data-testid='stSidebarNav']").get_by_text("Data", exact=True).click()
    page.get_by_role("button", name="Prepare the checkpoint download").wait_for()

    page.get_by_role("button", name="Prepare the checkpoint download").click()
    with page.expect_download() as checkpoint_download:
        page.get_by_role("button", name="Download checkpoint (.zip: model.safetensors + config.json)").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(checkpoint_download.value.path()).read_bytes()))
    assert sorted(archive.namelist()) == ["config.json", "model.safetensors"]

    # Explore the new model: pick the dataset in the sidebar, open Explore from the menu.
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.locator("[data-testid='stSelectbox']").filter(has_text="Dataset").click()
    page.get_by_role("option", name="my restaurants", exact=True).click()  # saved in the workspace
    wait_until_idle(page)
    page.locator("[data-testid='stSidebarNav']").get_by_text("Explore", exact=True).click()
    page.get_by_text("Explore one user–item pair").wait_for()
    page.wait_for_function(f'document.querySelectorAll("{CHART}").length >= 2')
    wait_until_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    query = url_params(page)
    assert query["dataset"] == "my restaurants" and query["model"] == "my restaurants model"
    shown = float(metric(page, "S (score)"))

    # The same S, recomputed here from the downloaded checkpoint and schema on the same files.
    from attnrec.checkpoint_upload import load_uploaded_checkpoint
    from attnrec.data.own import load_own_dataset

    dataset = load_own_dataset(
        RESTAURANTS / "userprofile.csv",
        RESTAURANTS / "geoplaces2.csv",
        RESTAURANTS / "rating_final.csv",
        schema,
        name="my restaurants",
    )
    model = load_uploaded_checkpoint(
        ("model.safetensors", archive.read("model.safetensors")), ("config.json", archive.read("config.json")), dataset
    )
    expected = float(model.score(query["user"], query["item"])["s"].iloc[0])
    assert abs(shown - expected) < 6e-5, (shown, expected)

    # Your work survives a reload (a new browser session) ...
    link = page.url
    page.reload()
    page.get_by_text("Explore one user–item pair").wait_for()
    page.wait_for_function(f'document.querySelectorAll("{CHART}").length >= 2')
    wait_until_idle(page)
    assert page.locator("[data-testid='stAlertContentWarning']").filter(has_text="not available").count() == 0
    assert float(metric(page, "S (score)")) == shown
    # ... and a server restart: a new server process on the same workspace opens the same link.
    from conftest import serve_app

    with serve_app(tmp_path / "restarted.log", ATTNREC_WORKSPACE=str(app_workspace)) as restarted:
        fresh = page.context.new_page()
        try:
            fresh.goto(restarted + "/explore?" + urlparse(link).query)  # the link is the server's first request
            fresh.get_by_text("Explore one user–item pair").wait_for(timeout=120_000)
            fresh.wait_for_function(f'document.querySelectorAll("{CHART}").length >= 2', timeout=120_000)
            wait_until_idle(fresh)
            assert fresh.locator("[data-testid='stException']").count() == 0
            assert fresh.locator("[data-testid='stAlertContentWarning']").filter(has_text="not available").count() == 0
            assert float(metric(fresh, "S (score)")) == shown
        finally:
            fresh.close()


def test_column_named_like_html_is_shown_as_text_and_runs_nothing(page, open_page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_page(page, "Data")
    page.get_by_text("Your data", exact=True).wait_for()
    users = {"name": "users.csv", "mimeType": "text/csv", "buffer": b"uid,age\nu1,30\nu2,40\nu3,50\n"}
    items = {"name": "items.csv", "mimeType": "text/csv", "buffer": b"iid,price\ni1,1\ni2,2\ni3,3\n"}
    # The rating column's name is the payload; one cell is text so the error message names the column too.
    ratings = f"uid,iid,{XSS}\nu1,i1,5\nu2,i2,4\nu3,i3,oops\n".encode()
    upload_tables(page, users, items, {"name": f"{XSS}.csv", "mimeType": "text/csv", "buffer": ratings})
    page.get_by_text("2 · Map columns to roles").wait_for()
    assert selected(page, "Label or rating column") == XSS
    assert page.get_by_text(f"{XSS}.csv", exact=False).count() >= 1  # the preview's file name
    set_text(page, "Dataset name", "xss check")
    page.get_by_role("button", name="Validate and keep this dataset").click()
    error = page.locator("[data-testid='stAlertContentError']").filter(has_text="oops")
    error.wait_for()
    assert f"column '{XSS}'" in error.inner_text()
    # Any injected image would have loaded (or failed, firing its onerror) before every image is complete.
    page.wait_for_function("Array.from(document.images).every(image => image.complete)")
    drawn(page)
    assert dialogs == []
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.body.innerHTML.includes('<img src=\"x\"')") is False
    assert page.locator("[data-testid='stException']").count() == 0


def test_link_parameters_cannot_inject_markdown(page, open_page):
    open_page(page, "Explore")
    page.get_by_text("Explore one user–item pair").wait_for()
    base = page.url.split("?")[0]
    page.goto(f"{base}?dataset=restaurants&user=![pixel](http://127.0.0.1:9/track.png)")
    warning = page.locator("[data-testid='stAlertContentWarning']").first
    warning.wait_for()
    # shown as the text it is (a zero-width space after "http:" keeps GFM from autolinking it)
    assert "![pixel](http://127.0.0.1:9/track.png)" in warning.inner_text().replace("\u200b", "")
    sources = page.locator("img").evaluate_all("elements => elements.map(e => e.src)")
    assert not [s for s in sources if "127.0.0.1:9" in s], sources

"""The Data page does its whole-table suggestions once per upload: a rerun on unchanged uploads reuses them, a
new upload computes them again."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import attnrec.data.mapping as mapping

ROOT = Path(__file__).resolve().parents[1]
RESTAURANTS = ROOT / "sample_data" / "restaurants"
FILES = {"users": "userprofile.csv", "items": "geoplaces2.csv", "interactions": "rating_final.csv"}
SCANS = ("suggest_roles", "suggest_id_column", "suggest_threshold", "positive_share")


@pytest.fixture
def calls(monkeypatch):
    """How often each whole-table suggestion runs (the page imports them from attnrec.data.mapping on every run)."""
    counted = dict.fromkeys(SCANS, 0)
    for name in SCANS:
        real = getattr(mapping, name)

        def wrapper(*args, _real=real, _name=name, **kwargs):
            counted[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(mapping, name, wrapper)
    return counted


def test_reruns_on_unchanged_uploads_reuse_the_suggestions(calls):
    at = AppTest.from_file(str(ROOT / "app_pages" / "data.py"), default_timeout=120).run()
    for role, name in FILES.items():
        at.file_uploader(key=f"data_upload_{role}").set_value((name, (RESTAURANTS / name).read_bytes(), "text/csv"))
    at.run()
    assert not at.exception
    first = dict(calls)
    assert first["suggest_roles"] == 2 and first["suggest_id_column"] == 2  # users and items
    assert first["suggest_threshold"] == 1 and first["positive_share"] == 1
    at.run()
    at.run()
    assert calls == first
    # a new interactions upload (the same bytes again count as a new file) suggests its threshold afresh
    name = FILES["interactions"]
    at.file_uploader(key="data_upload_interactions").set_value(
        (name, (RESTAURANTS / name).read_bytes() + b"\n", "text/csv")
    )
    at.run()
    assert calls["suggest_threshold"] == first["suggest_threshold"] + 1
    assert calls["suggest_roles"] == first["suggest_roles"]  # users and items unchanged

"""attnrec.kept_results: Model health's slow sections kept on disk per model and settings, as JSON."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attnrec import kept_results


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTNREC_CACHE_DIR", str(tmp_path))
    return tmp_path


def frames():
    mixed = pd.DataFrame(
        {
            "method": ["Integrated Gradients", "Saliency", "<b>x</b>"],
            "tau": [0.1 + 0.2, np.nan, -1 / 3],  # bits that a rounding writer would lose
            "pairs": np.array([3, 4, 5], dtype="int64"),
            "flagged": [True, False, True],
            "note": ["a", None, "c"],
        }
    )
    curves = pd.DataFrame({"fraction": np.linspace(0, 1, 5), "deletion": np.random.default_rng(0).random(5)})
    named = pd.DataFrame({"x": [1.5, 2.5]}, index=["u1", "u2"])
    return {"card": mixed, "curves": curves, "named": named, "empty": pd.DataFrame()}


SETTINGS = {"pairs": 40, "level": "dimensions", "methods": ["ig", "saliency"]}


def test_kept_frames_and_values_come_back_equal():
    values = {"k": 3, "headline": "Attention agrees", "reference": "shapley_exact"}
    path = kept_results.keep("trust", "abc123", SETTINGS, frames(), values)
    assert path is not None and path.name.startswith("trust-abc123-") and path.suffix == ".json"
    back, back_values = kept_results.kept("trust", "abc123", dict(reversed(list(SETTINGS.items()))))
    assert back_values == values
    for name, frame in frames().items():
        pd.testing.assert_frame_equal(back[name], frame, check_exact=True)


def test_other_models_settings_kinds_and_broken_files_count_as_absent(cache):
    path = kept_results.keep("trust", "abc123", SETTINGS, frames(), {})
    assert kept_results.kept("trust", "other", SETTINGS) is None
    assert kept_results.kept("trust", "abc123", {**SETTINGS, "pairs": 41}) is None
    assert kept_results.kept("sanity", "abc123", SETTINGS) is None
    path.write_text(path.read_text()[:50])  # cut short
    assert kept_results.kept("trust", "abc123", SETTINGS) is None
    path.write_text('{"format": 99}')
    assert kept_results.kept("trust", "abc123", SETTINGS) is None


def test_a_folder_that_cannot_be_written_keeps_nothing(cache, monkeypatch):
    blocker = cache / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ATTNREC_CACHE_DIR", str(blocker))
    assert kept_results.keep("trust", "abc123", SETTINGS, frames(), {}) is None
    assert kept_results.kept("trust", "abc123", SETTINGS) is None


def test_a_result_kept_by_other_code_counts_as_absent(monkeypatch):
    kept_results.keep("trust", "abc123", SETTINGS, frames(), {"k": 3})
    assert kept_results.kept("trust", "abc123", SETTINGS) is not None
    monkeypatch.setattr(kept_results, "code_version", lambda: "an earlier attnrec")
    assert kept_results.kept("trust", "abc123", SETTINGS) is None


def test_the_code_version_follows_the_computing_code_and_not_the_app_layer(tmp_path, monkeypatch):
    package = tmp_path / "attnrec"
    (package / "app").mkdir(parents=True)
    (package / "trust.py").write_text("A = 1\n")
    (package / "app" / "page.py").write_text("B = 1\n")
    monkeypatch.setattr(kept_results, "PACKAGE", package)

    def version():
        kept_results.code_version.cache_clear()
        return kept_results.code_version()

    try:
        first = version()
        (package / "app" / "page.py").write_text("B = 2\n")
        assert version() == first
        (package / "trust.py").write_text("A = 2\n")
        assert version() != first
    finally:
        kept_results.code_version.cache_clear()  # the next call hashes the real package again

"""attnrec.app.plotly_view: Explore's in-place charts borrow the plotly.js that Streamlit's frontend serves."""

from pathlib import Path

import streamlit as st

from attnrec.app import plotly_view

STATIC = Path(st.__file__).parent / "static" / "static" / "js"


def test_this_streamlit_serves_one_plotly_chunk_that_sets_window_plotly():
    """The contract plotly_view.js relies on: one PlotlyChart chunk, which sets window.Plotly when it loads (the
    chunk's plotly.js bundle ends with `window.Plotly = …`). A Streamlit upgrade that breaks it fails here; the page
    itself then falls back to st.plotly_chart (tests/test_page_explore.py)."""
    chunk = plotly_view.plotly_chunk()
    assert chunk is not None and chunk.startswith("PlotlyChart.") and chunk.endswith(".js")
    assert "window.Plotly=" in (STATIC / chunk).read_text(encoding="utf-8")


def test_no_chunk_an_ambiguous_one_or_one_without_window_plotly_is_none(tmp_path):
    folders = [tmp_path / name for name in ("none", "one", "two", "other")]
    for folder in folders:
        folder.mkdir()
    (folders[1] / "PlotlyChart.a.js").write_text("x=1;return window.Plotly=e,e")
    (folders[2] / "PlotlyChart.a.js").write_text("return window.Plotly=e,e")
    (folders[2] / "PlotlyChart.b.js").write_text("return window.Plotly=e,e")
    (folders[3] / "PlotlyChart.a.js").write_text("export default Plotly")
    assert [plotly_view.plotly_chunk(folder) for folder in folders] == [None, "PlotlyChart.a.js", None, None]


def test_the_component_script_loads_the_chunk_and_redraws_with_plotly_react():
    script = Path(plotly_view.__file__).with_name("plotly_view.js").read_text(encoding="utf-8")
    assert "export default function" in script
    assert "Plotly.react(" in script and "Plotly.newPlot(" not in script
    assert "innerHTML" not in script  # the figure's text reaches the page only through Plotly

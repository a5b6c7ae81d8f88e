"""attnrec: the Streamlit app. Only navigation lives here; each page is a script in app_pages/.

The folder is not called pages/: with a pages/ folder Streamlit would serve a deep link on a fresh server by
running that page alone, outside this navigation.

`streamlit run app.py -- --workspace DIR` keeps datasets and models in DIR (default: workspace/ beside this
file, or $ATTNREC_WORKSPACE); models trained with the CLI into DIR/models/<name> are listed with their data.
"""

import argparse
import os
import sys

import streamlit as st

_parser = argparse.ArgumentParser(prog="streamlit run app.py --", add_help=False)
_parser.add_argument("--workspace", help="folder for saved datasets and models")
_options, _ = _parser.parse_known_args(sys.argv[1:])
if _options.workspace:
    os.environ["ATTNREC_WORKSPACE"] = _options.workspace


st.set_page_config(page_title="attnrec — why this recommendation?", layout="wide")

# The app's own CSS (a constant: no data is ever written into it). Less empty space above each page's title, so
# the answer fits the first screen at 1280×800; and Explore's A_U / A_V pair sits side by side only on a window
# wide enough for both to keep every column label (1600 px and up), one above the other below that.
APP_CSS = """
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
@media (max-width: 1599px) {
  .st-key-explore_side_by_side [data-testid="stHorizontalBlock"] { flex-direction: column; }
  .st-key-explore_side_by_side [data-testid="stColumn"] { width: 100% !important; flex: 1 1 100% !important; }
}
"""
st.html(f"<style>{APP_CSS}</style>")

# Every page of the app, in menu order; the default is the landing page.
PAGES = [
    st.Page("app_pages/explore.py", title="Explore", url_path="explore", default=True),
    st.Page("app_pages/walkthrough.py", title="Walkthrough", url_path="walkthrough"),
    st.Page("app_pages/compare.py", title="Compare", url_path="compare"),
    st.Page("app_pages/attributions.py", title="Attributions", url_path="attributions"),
    st.Page("app_pages/recommend.py", title="Recommend", url_path="recommend"),
    st.Page("app_pages/health.py", title="Model health", url_path="health"),
    st.Page("app_pages/insights.py", title="Dataset-wide view", url_path="insights"),
    st.Page("app_pages/data.py", title="Data", url_path="data"),
]

current = st.navigation(PAGES)
current.run()

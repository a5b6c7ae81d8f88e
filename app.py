"""attnrec: the Streamlit app. Only navigation lives here; each page is a script in pages/.

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

from attnrec import ui  # noqa: E402

st.set_page_config(page_title="attnrec — why this recommendation?", layout="wide")

# Every page of the app, in menu order; the default is the landing page.
PAGES = [
    st.Page("pages/explore.py", title="Explore", url_path="explore", default=True),
    st.Page("pages/walkthrough.py", title="Walkthrough", url_path="walkthrough"),
    st.Page("pages/compare.py", title="Compare", url_path="compare"),
    st.Page("pages/attributions.py", title="Attributions", url_path="attributions"),
    st.Page("pages/recommend.py", title="Recommend", url_path="recommend"),
    st.Page("pages/health.py", title="Model health", url_path="health"),
    st.Page("pages/insights.py", title="Dataset-wide view", url_path="insights"),
    st.Page("pages/data.py", title="Data", url_path="data"),
]

ui.mark_navigation()
current = st.navigation(PAGES)
# The default page's url_path reads "" once it is the default; a link to /explore names it "explore".
link = ui.pending_link({page.url_path or "explore": page for page in PAGES})
if link:  # a deep link that first ran without the app (fresh server): reopen it here
    st.switch_page(link[0], query_params=link[1])
current.run()

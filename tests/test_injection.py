"""Data values are data: ids, names and category values that look like Markdown, HTML or spreadsheet formulas
reach the screen as text and the downloads as defused cells (part of the bad-input corpus).

A dataset whose ids, item names and category values are payloads is trained and put into a session; every
dashboard page runs on it. Every element Streamlit renders as Markdown (titles, captions, messages, status
labels, text) must show the payload only in its escaped form, and every CSV download must pass through the
formula-safe writer.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "![x](http://evil.invalid/u.png)"
TAG = "<img src=http://evil.invalid/i.png>"
FORMULA = '=HYPERLINK("http://evil.invalid","click")'
LINK = '<a href="http://evil.invalid">click</a>'
DOTTED = "u-1.a_b"
USER_IDS = [IMAGE, TAG, DOTTED, "u4", "u5", "u6"]
ITEM_IDS = [FORMULA, LINK, "i-3.c_d", "i4", "i5", "i6"]
GENRES = ["![g](http://evil.invalid/g.png)", "<b>jazz</b>", "**bold**"]
# What live Markdown / HTML would act on: an unescaped link/image target or tag opener.
RAW_MARKERS = (re.compile(r"\]\(http"), re.compile(r"(?<!\\)<(img|a |b>)"))


def payload_frames():
    users = pd.DataFrame({"uid": USER_IDS, "genre": [GENRES[i % 3] for i in range(6)]})
    items = pd.DataFrame(
        {
            "iid": ITEM_IDS,
            "name": [LINK, FORMULA, IMAGE, TAG, "**n**", "plain"],
            "genre": [GENRES[(i + 1) % 3] for i in range(6)],
        }
    )
    rows = [(USER_IDS[u], ITEM_IDS[(u + k) % 6], 5 if k < 2 else 1) for u in range(6) for k in range(4)]
    interactions = pd.DataFrame(rows, columns=["uid", "iid", "rating"])
    schema = {
        "user_id": "uid",
        "item_id": "iid",
        "label": {"column": "rating", "threshold": 4},
        "item_name": "name",
        "user_features": {"genre": {"kind": "categorical"}},
        "item_features": {"genre": {"kind": "categorical"}},
    }
    return users, items, interactions, schema


@pytest.fixture(scope="module")
def payload_model():
    from attnrec.data import load_own_dataset
    from attnrec.training import TrainConfig, train

    users, items, interactions, schema = payload_frames()
    dataset = load_own_dataset(users, items, interactions, schema, name="payloads")
    return train(dataset, TrainConfig(d=4, heads=2, epochs=2, device="cpu", val_fraction=0.3), progress=False)


def page(name: str, model, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=300)
    at.session_state["user_datasets"] = {"payloads": model.dataset}
    at.session_state["user_models"] = {"payload model": model}
    at.query_params["dataset"] = "payloads"
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def rendered_markdown(at: AppTest) -> list[str]:
    """The text of every element Streamlit renders as Markdown, status and expander labels included."""
    texts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success"):
        texts += [str(e.value) for e in getattr(at, kind)]
    return texts + block_labels(at)


def block_labels(at: AppTest) -> list[str]:
    """Labels of expanders and st.status boxes (rendered as Markdown)."""
    labels, stack = [], [at._tree]
    while stack:
        node = stack.pop()
        if getattr(node, "label", None) is not None and type(node).__name__ in ("Expander", "Status"):
            labels.append(str(node.label))
        stack.extend(getattr(node, "children", {}).values())
    return labels


def assert_no_live_markup(at: AppTest) -> None:
    assert not at.exception, at.exception
    for text in rendered_markdown(at):
        for marker in RAW_MARKERS:
            assert not marker.search(text), f"live markup {marker.pattern!r} in: {text}"


def csv_download(at: AppTest, key: str) -> pd.DataFrame:
    import gc

    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    button = next(b for b in at.get("download_button") if b.proto.id.endswith(key) or key in b.proto.id)
    file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
    for storage in (o for o in gc.get_objects() if isinstance(o, MemoryMediaFileStorage)):
        if file_id in storage._files_by_id:
            return pd.read_csv(io.BytesIO(storage._files_by_id[file_id].content), dtype=str, keep_default_na=False)
    raise AssertionError(f"no stored file for {button.proto.url}")


def assert_formula_safe(frame: pd.DataFrame) -> None:
    cells = [str(c) for c in frame.columns] + [str(v) for v in frame.to_numpy().ravel()]
    assert not [c for c in cells if c.startswith(("=", "+", "@")) or (c.startswith("-") and not c[1:2].isdigit())]


def test_recommend_escapes_ids_and_names_and_defuses_its_csv(payload_model):
    at = page("recommend", payload_model, user=IMAGE)
    assert_no_live_markup(at)
    assert any("Top" in s.value and r"\!\[x\]\(http" in s.value for s in at.subheader), [s.value for s in at.subheader]
    frame = csv_download(at, "recommend_csv")
    assert_formula_safe(frame)
    assert ("'" + FORMULA) in frame.to_numpy().ravel().tolist() or FORMULA not in frame.to_numpy().ravel().tolist()
    # a what-if edit names the edited field as text
    key = next(k for k in at.session_state if str(k).startswith("whatif_editor_"))
    at.session_state[key] = {"edited_rows": {0: {"value": GENRES[1]}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert_no_live_markup(at)


def test_attributions_escapes_its_labels_and_defuses_its_csv(payload_model):
    at = page("attributions", payload_model, user=TAG, item=FORMULA)
    assert_no_live_markup(at)
    labels = block_labels(at)
    assert any(r"for user \<img src=http\:" in label for label in labels), labels
    assert_formula_safe(csv_download(at, "attributions_csv"))


def test_health_pair_list_is_text(payload_model):
    at = page("health", payload_model)
    assert_no_live_markup(at)


@pytest.mark.parametrize("name", ["explore", "compare", "walkthrough"])
def test_other_pages_show_payloads_as_text(payload_model, name):
    at = page(name, payload_model, user=DOTTED, item="i-3.c_d")
    assert_no_live_markup(at)
    if name == "explore":
        shown = " ".join(m.value for m in at.markdown)
        assert "`u-1.a_b`" in shown and "\\" not in shown.split("`u-1.a_b`")[0][-5:]  # no literal backslashes
        assert "`i-3.c_d`" in shown


def test_markdown_code_and_plotly_text():
    from attnrec.safety import escape_markdown, markdown_code, plotly_text

    # bare URLs, www. and e-mail addresses would still be autolinked by GitHub-flavoured Markdown
    assert escape_markdown("see http://evil.invalid/x") == "see http\\:\u200b//evil\\.invalid/x"
    assert escape_markdown("www.evil.invalid") == "www\u200b\\.evil\\.invalid"
    assert escape_markdown("me@evil.invalid") == "me@\u200bevil\\.invalid"

    assert markdown_code("u-1.a_b") == "`u-1.a_b`"
    assert markdown_code("a`b") == "``a`b``" and markdown_code("`x") == "`` `x ``"
    assert plotly_text('<a href="x">y</a> & <b>') == '&lt;a href="x"&gt;y&lt;/a&gt; &amp; &lt;b&gt;'


def test_config_hides_error_details_from_the_browser():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "type"

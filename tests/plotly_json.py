"""Reading Plotly figure JSON in tests: Plotly 7 packs numeric arrays as base64 {dtype, bdata, shape}."""

import base64
import json

import numpy as np

from attnrec.app import plotly_view


def decode_array(value) -> np.ndarray:
    """A figure's array field as numpy, whether Plotly wrote it as a list or as a base64 typed array."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(value)


def chart_specs(at) -> list[dict]:
    """The figures on an AppTest page in page order, whether drawn by `st.plotly_chart` or by attnrec's in-place
    chart (`attnrec.app.plotly_view`, a Streamlit v2 component that carries the figure's JSON in its data)."""
    out = []
    for node in at._tree:
        if node.type == "plotly_chart":
            out.append(json.loads(node.proto.spec))
        elif node.type == "bidi_component" and node.proto.component_name == plotly_view.COMPONENT:
            out.append(json.loads(json.loads(node.proto.json)["figure"]))
    return out


def chart_data(at, key: str) -> dict:
    """The data attnrec's in-place chart under `key` was drawn with: {figure, chunk, view, clickable}."""
    for node in at._tree:
        if node.type == "bidi_component" and node.proto.id.endswith(f"-{key}"):
            return json.loads(node.proto.json)
    raise KeyError(key)


def click_cell(at, key: str, customdata) -> None:
    """Set the in-place chart `key`'s state as a click on the point with `customdata` in the figure on screen
    does in the browser (plotly_view.js); run `at` afterwards."""
    at.session_state[key] = {"click": {"view": chart_data(at, key)["view"], "points": [list(customdata)]}}

"""Reading and clicking attnrec's row pickers (`attnrec.app.row_picker`) in AppTest."""

import itertools
import json

import pandas as pd

from attnrec.app import row_picker

_NONCES = itertools.count(1)


def picker_data(at, key: str) -> dict:
    """The data the picker under `key` (e.g. "explore_user_rows") was drawn with, its table parsed."""
    for node in at._tree:
        if node.type == "bidi_component" and node.proto.component_name == row_picker.COMPONENT:
            if node.proto.id.endswith(f"-{key}"):
                data = json.loads(node.proto.json)
                return {**data, "table": json.loads(data["table"])}
    raise KeyError(key)


def picker_rows(at, key: str) -> pd.DataFrame:
    """The rows the picker under `key` offers, as text, indexed by id."""
    table = picker_data(at, key)["table"]
    frame = pd.DataFrame(table["rows"], columns=table["columns"])
    return frame.set_index(table["columns"][0])


def click_row(at, key: str, row_id: str) -> None:
    """Set the picker's state as a click on the row of `row_id` does in the browser (row_picker.js); run `at`
    afterwards."""
    at.session_state[key] = {"pick": {"id": str(row_id), "nonce": f"test-{next(_NONCES)}"}}

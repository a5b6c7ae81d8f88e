"""Reading Plotly figure JSON in tests: Plotly 7 packs numeric arrays as base64 {dtype, bdata, shape}."""

import base64

import numpy as np


def decode_array(value) -> np.ndarray:
    """A figure's array field as numpy, whether Plotly wrote it as a list or as a base64 typed array."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(value)

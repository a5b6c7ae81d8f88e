"""The Walkthrough's example in the URL: a compact, versioned, readable encoding, parsed strictly.

    ?wt=1&d=3&h=1&tau=1&tied=1&x=0.5,0.7,0.3&y=0.3,0.6,0.1&wu=1,2,3;4,5,6;7,8,9

`wt` is the encoding's version; a matrix is its rows joined by `;`, heads are joined by `|`; `wv` (W_V) is
written only when untied (tied means W_V = W_U). Numbers are written as the shortest text that reads back as
the same float, so a link reopens exactly the same inputs and the same S.

A large example (the readable link over MAX_READABLE_CHARS once URL-encoded: d = 40, H = 8 untied runs to
~160,000 characters, more than the server accepts in a request line) is written compactly instead: x, y, wu and
wv go, as the same readable text, zlib-compressed and base64url-encoded, into one parameter `z` (~35,000
characters at that size); wt, d, h, tau and tied stay readable.

`decode` either returns the whole state or raises `StateError` naming what is wrong: a link is never
half-applied. Sizes are bounded before anything is converted (d ≤ MAX_D, H ≤ MAX_HEADS, each number at most
MAX_NUMBER_CHARS characters), and every number must be finite with |v| ≤ the typed-value limit (attnrec.limits).
No Streamlit calls here: the page reads and writes st.query_params, this module only converts.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import numpy as np

from attnrec.limits import LIMITS
from attnrec.worked_example import ExampleInputs

__all__ = [
    "VERSION",
    "URL_KEYS",
    "cell_text",
    "parse_cell",
    "MAX_D",
    "MAX_HEADS",
    "MIN_TAU",
    "MAX_TAU",
    "MAX_NUMBER_CHARS",
    "StateError",
    "WalkthroughState",
    "encode",
    "decode",
    "has_state",
    "number_text",
]

VERSION = "1"
URL_KEYS = ("wt", "d", "h", "tau", "tied", "x", "y", "wu", "wv", "z")
PACKED_KEYS = ("x", "y", "wu", "wv")  # what `z` carries for a large example
MAX_D = 40  # dimensions the page offers
MAX_HEADS = 8  # heads the page offers
MIN_TAU, MAX_TAU = 0.01, 100.0  # the temperature's range on the page
MAX_NUMBER_CHARS = 32  # one number's text; longer is refused before it is parsed
MAX_READABLE_CHARS = 16_000  # a longer readable link (URL-encoded) is written compactly, as `z`
MAX_PACKED_CHARS = 200_000  # `z` as text; the largest example packs to ~35,000
MAX_UNPACKED_BYTES = 2 * MAX_HEADS * MAX_D * MAX_D * (MAX_NUMBER_CHARS + 1) + 4 * MAX_D * (MAX_NUMBER_CHARS + 1)
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class StateError(ValueError):
    """A Walkthrough link that cannot be used; the message says which parameter and why."""


@dataclass(frozen=True)
class WalkthroughState:
    """Everything that defines the Walkthrough's example: the inputs, τ, and whether W_V = W_U."""

    inputs: ExampleInputs
    tau: float
    tied: bool

    @classmethod
    def document(cls) -> "WalkthroughState":
        return cls(ExampleInputs.document(), 1.0, True)

    def same_as(self, other: "WalkthroughState") -> bool:
        """Bit-for-bit the same example (w_v compared only when untied: tied uses W_U for both)."""
        fields = ("x", "y", "w_u") + (() if self.tied else ("w_v",))
        return (
            self.tied == other.tied
            and self.tau == other.tau
            and all(np.array_equal(getattr(self.inputs, f), getattr(other.inputs, f)) for f in fields)
        )


def number_text(value: float) -> str:
    """Shortest text that reads back as the same float ("1" rather than "1.0")."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _matrix_text(matrix: np.ndarray) -> str:
    return ";".join(",".join(number_text(v) for v in row) for row in matrix)


def encode(state: WalkthroughState) -> dict[str, str | None]:
    """Query parameters for `state` (every key of URL_KEYS; None means 'absent'): readable, or with x, y, wu and
    wv packed into `z` when the readable link would be too long."""
    inputs = state.inputs
    params = {
        "wt": VERSION,
        "d": str(inputs.d),
        "h": str(inputs.heads),
        "tau": number_text(state.tau),
        "tied": "1" if state.tied else "0",
        "x": ",".join(number_text(v) for v in inputs.x),
        "y": ",".join(number_text(v) for v in inputs.y),
        "wu": "|".join(_matrix_text(m) for m in inputs.w_u),
        "wv": None if state.tied else "|".join(_matrix_text(m) for m in inputs.w_v),
        "z": None,
    }
    if len(urlencode({k: v for k, v in params.items() if v is not None})) <= MAX_READABLE_CHARS:
        return params
    packed = "&".join(f"{k}={params[k]}" for k in PACKED_KEYS if params[k] is not None)
    params["z"] = base64.urlsafe_b64encode(zlib.compress(packed.encode("ascii"), 9)).decode("ascii").rstrip("=")
    return params | {k: None for k in PACKED_KEYS}


def _unpack(text: str) -> dict[str, str]:
    """`z` back to its x, y, wu (and wv) texts; bounded before and while it is inflated."""
    text = text.strip()
    if len(text) > MAX_PACKED_CHARS:
        raise StateError(f"z (the packed example) is {len(text)} characters long (at most {MAX_PACKED_CHARS})")
    if not _BASE64URL.fullmatch(text):
        raise StateError("z (the packed example) is not base64url text")
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, MAX_UNPACKED_BYTES)
    except (binascii.Error, zlib.error, ValueError):
        raise StateError("z (the packed example) is damaged: it does not unpack") from None
    if inflater.unconsumed_tail:
        raise StateError("z (the packed example) unpacks to more than the largest example")
    if not inflater.eof:
        raise StateError("z (the packed example) is cut short: it does not unpack")
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise StateError("z (the packed example) does not hold x, y and wu") from None
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys) or not set(keys) <= set(PACKED_KEYS):
        raise StateError("z (the packed example) holds other things than x, y, wu and wv, once each")
    return dict(pairs)


def has_state(params: Mapping[str, str]) -> bool:
    """Whether the URL carries any Walkthrough parameter."""
    return any(key in params for key in URL_KEYS)


def _number(text: str, where: str) -> float:
    text = text.strip()
    if not text:
        raise StateError(f"{where} is empty")
    if len(text) > MAX_NUMBER_CHARS:
        raise StateError(f"{where} is {len(text)} characters long (at most {MAX_NUMBER_CHARS})")
    try:
        value = float(text)
    except ValueError:
        raise StateError(f"{where}: '{text}' is not a number") from None
    if not math.isfinite(value):
        raise StateError(f"{where}: '{text}' is not a finite number (NaN and ±inf are not allowed)")
    if abs(value) > LIMITS.typed_magnitude:
        raise StateError(f"{where}: '{text}' is too large; keep |value| ≤ {LIMITS.typed_magnitude:g}")
    return value


def _count(params: Mapping[str, str], key: str, what: str, top: int) -> int | None:
    if key not in params:
        return None
    text = str(params[key]).strip()
    if not text.isdigit() or len(text) > 3 or not 1 <= int(text) <= top:
        raise StateError(f"{key} ({what}) must be a whole number from 1 to {top}, not '{text[:MAX_NUMBER_CHARS]}'")
    return int(text)


def _split(text: str, separator: str, expected: int, where: str, unit: str) -> list[str]:
    # Count before splitting: an oversized value is refused without building a huge list.
    found = text.count(separator) + 1
    if found != expected:
        raise StateError(f"{where} has {found} {unit}{'s' if found != 1 else ''}, expected {expected}")
    return text.split(separator)


def _vector(params: Mapping[str, str], key: str, label: str, d: int) -> np.ndarray:
    parts = _split(str(params[key]), ",", d, f"{key} ({label})", "number")
    return np.array([_number(p, f"{key} ({label}), entry {i + 1}") for i, p in enumerate(parts)])


def _weights(params: Mapping[str, str], key: str, label: str, heads: int, d: int) -> np.ndarray:
    out = np.empty((heads, d, d))
    for h, head_text in enumerate(_split(str(params[key]), "|", heads, f"{key} ({label})", "head")):
        where = f"{key} ({label}), head {h + 1}"
        for i, row_text in enumerate(_split(head_text, ";", d, where, "row")):
            row_where = f"{where}, row {i + 1}"
            for j, cell in enumerate(_split(row_text, ",", d, row_where, "number")):
                out[h, i, j] = _number(cell, f"{row_where}, column {j + 1}")
    return out


def _shape(params: Mapping[str, str]) -> tuple[int, int]:
    """(d, H) from x and wu, checked against the bounds before anything is parsed."""
    x_text, w_text = str(params["x"]), str(params["wu"])
    d = x_text.count(",") + 1
    if d > MAX_D:
        raise StateError(f"x (user X) has {d} numbers; the Walkthrough allows at most d = {MAX_D}")
    heads = w_text.count("|") + 1
    if heads > MAX_HEADS:
        raise StateError(f"wu (W_U) has {heads} heads; the Walkthrough allows at most H = {MAX_HEADS}")
    # Longest legitimate text: every number at its longest plus its separator.
    longest = 2 * heads * d * d * (MAX_NUMBER_CHARS + 1)
    for key in ("wu", "wv", "x", "y"):
        if key in params and len(str(params[key])) > longest:
            raise StateError(f"{key} is {len(str(params[key]))} characters long, too long for d = {d}, H = {heads}")
    return d, heads


def decode(params: Mapping[str, str]) -> WalkthroughState:
    """The state a link describes, or StateError; never a partial state."""
    params = {k: str(params[k]) for k in URL_KEYS if k in params}
    if "z" in params:
        both = [k for k in PACKED_KEYS if k in params]
        if both:
            raise StateError(f"the link has both z (the packed example) and {', '.join(both)}")
        params = {k: v for k, v in params.items() if k != "z"} | _unpack(params["z"])
    version = params.get("wt", VERSION).strip()
    if version != VERSION:
        raise StateError(
            f"wt (the link's format version) is '{version[:MAX_NUMBER_CHARS]}'; this app reads version {VERSION}"
        )
    missing = [k for k in ("x", "y", "wu") if k not in params]
    if missing:
        raise StateError(f"the link lacks {', '.join(missing)}")
    tied_text = params.get("tied", "1").strip()
    if tied_text not in ("0", "1"):
        raise StateError(f"tied must be 1 (W_V = W_U) or 0 (untied), not '{tied_text[:MAX_NUMBER_CHARS]}'")
    tied = tied_text == "1"
    if not tied and "wv" not in params:
        raise StateError("tied=0 but the link lacks wv (W_V)")
    d, heads = _shape(params)
    stated_d = _count(params, "d", "dimensions", MAX_D)
    stated_h = _count(params, "h", "heads", MAX_HEADS)
    if stated_d is not None and stated_d != d:
        raise StateError(f"d = {stated_d} but x has {d} number{'s' if d != 1 else ''}")
    if stated_h is not None and stated_h != heads:
        raise StateError(f"h = {stated_h} but wu has {heads} head{'s' if heads != 1 else ''}")
    tau = _number(params.get("tau", "1"), "tau (temperature τ)")
    if not MIN_TAU <= tau <= MAX_TAU:
        raise StateError(f"tau (temperature τ) = {number_text(tau)} is outside {MIN_TAU:g} … {MAX_TAU:g}")
    x = _vector(params, "x", "user X", d)
    y = _vector(params, "y", "item Y", d)
    w_u = _weights(params, "wu", "W_U", heads, d)
    if tied:
        w_v = w_u.copy()
        if "wv" in params and not np.array_equal(_weights(params, "wv", "W_V", heads, d), w_u):
            raise StateError("tied=1 (W_V = W_U) but wv differs from wu")
    else:
        w_v = _weights(params, "wv", "W_V", heads, d)
    return WalkthroughState(ExampleInputs(x, y, w_u, w_v), tau, tied)


def cell_text(head: int, dim: int) -> str | None:
    """The followed cell for the URL's `cell` parameter ("head,dimension", 1-based); None for the first cell."""
    return None if (head, dim) == (0, 0) else f"{head + 1},{dim + 1}"


def parse_cell(text: str, heads: int, d: int) -> tuple[int, int]:
    """`cell` back to (head, dimension), 0-based, or StateError when it is not a cell of this example."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        raise StateError(f"cell must be 'head,dimension' such as 1,3, not '{str(text)[:MAX_NUMBER_CHARS]}'")
    head, dim = int(parts[0]), int(parts[1])
    if not (1 <= head <= heads and 1 <= dim <= d):
        raise StateError(f"cell {head},{dim} is not in this example (heads 1–{heads}, dimensions 1–{d})")
    return head - 1, dim - 1

"""The Walkthrough's URL encoding: exact round trips, and every bad or oversized link refused whole."""

import base64
import re
import time
import zlib
from urllib.parse import urlencode

import numpy as np
import pytest

from attnrec.walkthrough_state import (
    MAX_D,
    MAX_HEADS,
    MAX_READABLE_CHARS,
    MAX_UNPACKED_BYTES,
    StateError,
    WalkthroughState,
    cell_text,
    decode,
    encode,
    number_text,
    parse_cell,
)
from attnrec.worked_example import ExampleInputs

DOC = {
    "wt": "1",
    "d": "3",
    "h": "1",
    "tau": "1",
    "tied": "1",
    "x": "0.5,0.7,0.3",
    "y": "0.3,0.6,0.1",
    "wu": "1,2,3;4,5,6;7,8,9",
}


def present(params):
    return {k: v for k, v in params.items() if v is not None}


def awkward_state(d=4, heads=3, tied=False, tau=0.37):
    rng = np.random.default_rng(7)
    x = rng.normal(size=d)
    x[0] = 0.1 + 0.2  # 0.30000000000000004: needs all 17 digits
    x[-1] = -1e-7
    w_u = rng.normal(size=(heads, d, d)) * 3
    w_u[0, 0, 0] = 999999.5
    w_v = w_u.copy() if tied else rng.normal(size=(heads, d, d))
    return WalkthroughState(ExampleInputs(x, rng.uniform(-1, 1, size=d), w_u, w_v), tau, tied)


def test_the_documents_example_reads_like_the_document():
    params = encode(WalkthroughState.document())
    assert present(params) == DOC and params["wv"] is None and params["z"] is None
    assert decode(DOC).same_as(WalkthroughState.document())


@pytest.mark.parametrize("tied", [True, False])
def test_round_trip_is_bit_for_bit(tied):
    state = awkward_state(tied=tied)
    back = decode(present(encode(state)))
    assert back.same_as(state) and back.tau == 0.37 and back.tied == tied
    np.testing.assert_array_equal(back.inputs.x, state.inputs.x)  # exact, not approximately
    np.testing.assert_array_equal(back.inputs.w_v, state.inputs.w_u if tied else state.inputs.w_v)
    assert ("wv" in present(encode(state))) == (not tied)


def test_separators_read_as_described():
    state = awkward_state(d=6, heads=3)
    params = present(encode(state))
    assert params["wu"].count("|") == 2 and params["wu"].split("|")[0].count(";") == 5
    assert params["wu"].split("|")[0].split(";")[0].count(",") == 5 and "z" not in params


@pytest.mark.parametrize("tied", [True, False])
def test_the_largest_state_is_packed_into_z_and_round_trips(tied):
    state = WalkthroughState(ExampleInputs.document().resized(MAX_D, MAX_HEADS), 0.5, tied)
    params = present(encode(state))
    assert sorted(params) == ["d", "h", "tau", "tied", "wt", "z"]  # the rest stays readable
    assert (params["d"], params["h"], params["tied"]) == ("40", "8", "1" if tied else "0")
    assert len(urlencode(params)) < 40_000 and re.fullmatch(r"[A-Za-z0-9_-]+", params["z"])
    assert decode(params).same_as(state)
    # Just under the threshold a link stays readable.
    small = WalkthroughState(ExampleInputs.document().resized(12, 2), 0.5, tied)
    assert "z" not in present(encode(small)) and len(urlencode(present(encode(small)))) <= MAX_READABLE_CHARS


def pack(text: str) -> str:
    return base64.urlsafe_b64encode(zlib.compress(text.encode())).decode().rstrip("=")


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"z": pack("x=0.5,0.7,0.3&y=0.3,0.6,0.1&wu=1,2,3;4,5,6;7,8,9"), "x": "1,2,3"},
            "both z (the packed example) and x",
        ),
        ({"z": "@@@"}, "not base64url"),
        ({"z": "abcd"}, "damaged"),
        ({"z": pack("x=1,2,3&y=1,2,3")[:-6]}, "cut short"),
        ({"z": pack("0" * (MAX_UNPACKED_BYTES + 10))}, "more than the largest example"),
        ({"z": pack("x=1&y=1&wu=1&tau=5")}, "other things than x, y, wu and wv"),
        ({"z": pack("x=1&x=2&y=1&wu=1")}, "once each"),
        ({"z": pack("x=1,2&y=1,2&wu=1,0;0,nan")}, "wu (W_U), head 1, row 2, column 2: 'nan' is not a finite number"),
        ({"z": "A" * 200_001}, "at most 200000"),
    ],
)
def test_bad_packed_links_are_refused_whole(params, message):
    with pytest.raises(StateError) as error:
        decode(params)
    assert message in str(error.value)


def test_a_hand_packed_link_reads_like_the_readable_one():
    packed = decode({"z": pack("x=0.5,0.7,0.3&y=0.3,0.6,0.1&wu=1,2,3;4,5,6;7,8,9"), "tau": "1"})
    assert packed.same_as(WalkthroughState.document())


def test_number_text_is_short_and_exact():
    assert [number_text(v) for v in (1.0, -2.0, 0.5, 1e-7, 0.1 + 0.2)] == [
        "1",
        "-2",
        "0.5",
        "1e-07",
        "0.30000000000000004",
    ]


def with_(**changes):
    params = dict(DOC)
    for key, value in changes.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value
    return params


@pytest.mark.parametrize(
    "params, message",
    [
        (with_(wt="2"), "format version"),
        (with_(x=None), "lacks x"),
        (with_(wu=None, y=None), "lacks y, wu"),
        (with_(x="0.5,0.7"), "d = 3 but x has 2 numbers"),
        (with_(y="0.3,0.6"), "y (item Y) has 2 numbers, expected 3"),
        (with_(d="4"), "d = 4 but x has 3 numbers"),
        (with_(d="0"), "d (dimensions) must be a whole number from 1 to 40"),
        (with_(d="x"), "whole number"),
        (with_(h="2"), "h = 2 but wu has 1 head"),
        (with_(x=",".join(["1"] * (MAX_D + 1)), d=None), f"at most d = {MAX_D}"),
        (with_(wu="|".join(["1,2,3;4,5,6;7,8,9"] * (MAX_HEADS + 1)), h=None), f"at most H = {MAX_HEADS}"),
        (with_(wu="1,2,3;4,5,6"), "wu (W_U), head 1 has 2 rows, expected 3"),
        (with_(wu="1,2,3;4,5;7,8,9"), "wu (W_U), head 1, row 2 has 2 numbers, expected 3"),
        (with_(wu="1,2,3;4,abc,6;7,8,9"), "row 2, column 2: 'abc' is not a number"),
        (with_(y="0.3,nan,0.1"), "y (item Y), entry 2: 'nan' is not a finite number"),
        (with_(x="inf,0.7,0.3"), "not a finite number"),
        (with_(x="0.5,,0.3"), "entry 2 is empty"),
        (with_(x="2e6,0.7,0.3"), "too large"),
        (with_(x="0." + "1" * 40 + ",0.7,0.3"), "characters long"),
        (with_(tau="0"), "outside 0.01 … 100"),
        (with_(tau="1000"), "outside"),
        (with_(tau="-inf"), "not a finite number"),
        (with_(tied="yes"), "tied must be 1"),
        (with_(tied="0"), "tied=0 but the link lacks wv"),
        (with_(wv="9,2,3;4,5,6;7,8,9"), "wv differs from wu"),
        (with_(tied="0", wv="1,2,3"), "wv (W_V), head 1 has 1 row, expected 3"),
    ],
)
def test_bad_links_are_refused_whole_with_a_reason(params, message):
    with pytest.raises(StateError) as error:
        decode(params)
    assert message in str(error.value)


def test_defaults_for_the_optional_keys():
    state = decode({"x": "1,2", "y": "3,4", "wu": "1,0;0,1"})
    assert state.tied and state.tau == 1.0 and state.inputs.d == 2 and state.inputs.heads == 1
    untied = decode({"x": "1,2", "y": "3,4", "wu": "1,0;0,1", "wv": "0,1;1,0", "tied": "0"})
    np.testing.assert_array_equal(untied.inputs.w_v[0], [[0, 1], [1, 0]])


def test_an_enormous_value_is_refused_before_it_is_split():
    huge = with_(x="1," * 5_000_000 + "1", d=None)
    started = time.process_time()
    with pytest.raises(StateError, match="at most d = 40"):
        decode(huge)
    # Counting separators, not parsing 5 million numbers (generous bound: no wall-clock timing involved).
    assert time.process_time() - started < 5
    with pytest.raises(StateError, match="too long"):
        decode(with_(y="0" * 200_000))


def test_cell_text_and_parse_cell():
    assert cell_text(0, 0) is None and cell_text(1, 2) == "2,3"
    assert parse_cell("2,3", 2, 3) == (1, 2) and parse_cell(" 1 , 1 ", 1, 1) == (0, 0)
    for text, message in (
        ("3,1", "not in this example (heads 1–2, dimensions 1–3)"),
        ("0,1", "not in this"),
        ("1", "head,dimension"),
        ("a,b", "head,dimension"),
        ("1,2,3", "head,dimension"),
        ("1," + "9" * 50, "head,dimension"),
    ):
        with pytest.raises(StateError) as error:
            parse_cell(text, 2, 3)
        assert message in str(error.value)

"""Checkpoint sniffing: is an uploaded file really safetensors? Decided from its bytes, without loading a
tensor: pickles and torch.save archives are recognised by their magic bytes and refused, never opened.

Used by attnrec.checkpoint_upload (uploads on the Data page) and attnrec.checkpoint (loading from bytes).
"""

from __future__ import annotations

import json
import struct

from attnrec.data.types import DataError
from attnrec.data.uploads import check_size

_PICKLE_PROTOCOL_BYTE = b"\x80"  # pickle protocols 2-5 start with 0x80 <protocol>
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default format is a zip holding a pickle
_SAFETENSORS_DTYPES = {
    "F64",
    "F32",
    "F16",
    "BF16",
    "I64",
    "I32",
    "I16",
    "I8",
    "U8",
    "BOOL",
    "F8_E4M3",
    "F8_E5M2",
    "U16",
    "U32",
    "U64",
}


def sniff_safetensors(data: bytes, filename: str) -> dict:
    """Check that `data` is a well-formed safetensors file without loading any tensor.

    Returns the header (tensor name → {dtype, shape, data_offsets}). A pickle, a torch.save zip, or
    anything else is refused with a message saying what it looks like. The format: 8 bytes little-endian
    header length N, N bytes of JSON, then the raw tensor bytes the offsets point into.
    """
    check_size(data, filename)
    # Structure first: a safetensors header length's low byte may itself be 0x80, so magic bytes alone
    # cannot condemn a file; they only name what a file that fails the structure check looks like.
    problem = None
    header = None
    if len(data) < 8:
        problem = "is too short to be a safetensors file"
    else:
        (header_length,) = struct.unpack("<Q", data[:8])
        if header_length < 2 or 8 + header_length > len(data):
            problem = "is not a safetensors file (its header length does not fit the file)"
        else:
            try:
                header = json.loads(data[8 : 8 + header_length].decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                problem = "is not a safetensors file (its header is not JSON)"
            else:
                if not isinstance(header, dict):
                    problem = "is not a safetensors file (its header is not a JSON object)"
    if problem:
        if data[:1] == _PICKLE_PROTOCOL_BYTE or data[:4] == _ZIP_MAGIC or data[:1] == b"(":
            problem = (
                "looks like a pickle / torch.save file; attnrec never opens those because unpickling "
                "can run code. Save the weights with safetensors (Recommender.save does)"
            )
        raise DataError(problem, file=filename)
    assert isinstance(header, dict)  # no problem found means the header parsed as a JSON object
    body = len(data) - 8 - header_length
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if (
            not isinstance(entry, dict)
            or entry.get("dtype") not in _SAFETENSORS_DTYPES
            or not isinstance(entry.get("shape"), list)
            or not isinstance(entry.get("data_offsets"), list)
            or len(entry["data_offsets"]) != 2
        ):
            raise DataError(f"tensor '{name}' has a malformed safetensors header entry", file=filename)
        start, stop = entry["data_offsets"]
        if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start <= stop <= body):
            raise DataError(f"tensor '{name}' points outside the file's data", file=filename)
    return header

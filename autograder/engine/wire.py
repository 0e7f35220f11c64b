"""The only format that crosses the sandbox boundary: JSON metadata plus raw float64 bytes.

Nothing here can carry code or behaviour: no pickle, no object arrays. The trusted side
rebuilds every array from bytes as a plain little-endian float64 ndarray after checking the
declared shapes against hard size caps, so a hostile submission can at worst send numbers.
"""
from __future__ import annotations

import fcntl
import json
import math
import os
import struct

import numpy as np

MAX_HEADER_BYTES = 1 << 20
MAX_ARRAY_ELEMENTS = 1 << 20
MAX_NDIM = 8
MAX_BLOB_BYTES = 64 << 20
LEN = _LEN = struct.Struct("<Q")


class WireError(ValueError):
    """Bytes from the sandbox that do not follow the format."""


def encode(meta: dict, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    arrays = arrays or {}
    plain = {name: np.array(a, dtype="<f8", order="C", copy=True) for name, a in arrays.items()}  # keeps 0-d shapes
    header = json.dumps({"meta": meta, "arrays": [[n, list(a.shape)] for n, a in plain.items()]},
                        separators=(",", ":"), allow_nan=False).encode()
    return b"".join([_LEN.pack(len(header)), header, *(a.tobytes() for a in plain.values())])


def decode(payload: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    if len(payload) < _LEN.size:
        raise WireError("truncated payload")
    (header_len,) = _LEN.unpack_from(payload)
    if header_len > MAX_HEADER_BYTES or _LEN.size + header_len > len(payload):
        raise WireError("header length out of range")
    try:
        header = json.loads(payload[_LEN.size:_LEN.size + header_len])
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("meta"), dict) \
            or not isinstance(header.get("arrays"), list):
        raise WireError("header lacks meta or arrays")
    offset = _LEN.size + header_len
    arrays: dict[str, np.ndarray] = {}
    for entry in header["arrays"]:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                and isinstance(entry[1], list) and len(entry[1]) <= MAX_NDIM
                and all(type(d) is int and 0 <= d <= MAX_ARRAY_ELEMENTS for d in entry[1])):
            raise WireError("malformed array entry")
        name, shape = entry
        count = math.prod(shape)
        if count > MAX_ARRAY_ELEMENTS:
            raise WireError(f"array {name!r} too large")
        end = offset + 8 * count
        if end > len(payload):
            raise WireError(f"array {name!r} truncated")
        arrays[name] = np.frombuffer(payload, dtype="<f8", count=count, offset=offset).reshape(shape).copy()
        offset = end
    if offset != len(payload):
        raise WireError("trailing bytes after the last array")
    return header["meta"], arrays


def peek_meta(payload: bytes) -> dict:
    """Only the metadata of a message ({} if it is malformed): cheap enough for routing."""
    try:
        (header_len,) = _LEN.unpack_from(payload)
        if header_len > MAX_HEADER_BYTES:
            return {}
        header = json.loads(payload[_LEN.size:_LEN.size + header_len])
        meta = header.get("meta") if isinstance(header, dict) else None
        return meta if isinstance(meta, dict) else {}
    except (struct.error, ValueError, UnicodeDecodeError, RecursionError):
        return {}


def _text(value) -> str | None:
    return value[:4000] if isinstance(value, str) else None


def route_meta(payload: bytes) -> dict:
    """The few fields the warm worker routes on, each of the type it expects or None.

    The worker relays what the child sends without trusting it (the grader validates every
    message against the full schema, engine.messages); it only must never fail on it, and it
    stays free of the schema library so that every fork from it stays small.
    """
    meta = peek_meta(payload)
    errors = meta.get("errors")
    return {"kind": _text(meta.get("kind")), "layer": _text(meta.get("layer")), "error": _text(meta.get("error")),
            "errors": [{"kind": _text(e.get("kind"))} for e in errors if isinstance(e, dict)]
            if isinstance(errors, list) else []}


PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def widen_pipe(fd: int) -> None:
    """A larger pipe buffer lets a writer finish a result without waiting for the reader."""
    try:
        fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass  # the system's cap is lower; the default still works


def write_blob(fd: int, data: bytes) -> None:
    """Length-prefixed write that survives partial writes on pipes."""
    view = memoryview(_LEN.pack(len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, n: int) -> bytes | None:
    """Read exactly n bytes, or None at end of stream before anything was read."""
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            if got == 0:
                return None
            raise WireError("stream ended in the middle of a message")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_blob(fd: int, limit: int = MAX_BLOB_BYTES) -> bytes | None:
    head = read_exact(fd, _LEN.size)
    if head is None:
        return None
    (length,) = _LEN.unpack(head)
    if length > limit:
        raise WireError(f"message of {length} bytes exceeds the {limit}-byte limit")
    return read_exact(fd, length) if length else b""

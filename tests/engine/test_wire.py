"""Is the one format that crosses the sandbox boundary strict about what it accepts?"""
import json
import struct

import numpy as np
import pytest

from autograder.engine import wire


def test_round_trip_keeps_values_shapes_and_scalars():
    arrays = {"out": np.arange(12.0).reshape(3, 4), "scalar": np.float64(2.5), "empty": np.zeros((0, 2)),
              "ints": np.array([1, 2, 3])}
    meta, got = wire.decode(wire.encode({"kind": "layer", "layer": "Relu"}, arrays))
    assert meta == {"kind": "layer", "layer": "Relu"}
    for name, value in arrays.items():
        assert got[name].dtype == np.float64 and got[name].shape == np.shape(value)
        np.testing.assert_array_equal(got[name], value)
    assert type(got["out"]) is np.ndarray and got["out"].flags.writeable


def _payload(header: dict, body: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


@pytest.mark.parametrize("payload, words", [
    (b"", "truncated"),
    (struct.pack("<Q", 10 ** 9) + b"{}", "header length"),
    (struct.pack("<Q", 5) + b"nope!", "not JSON"),
    (_payload({"meta": {}}), "lacks"),
    (_payload({"meta": {}, "arrays": [["x", [2, 2]]]}, b"\0" * 8), "truncated"),
    (_payload({"meta": {}, "arrays": [["x", [-1]]]}), "malformed"),
    (_payload({"meta": {}, "arrays": [["x", [1.5]]]}), "malformed"),
    (_payload({"meta": {}, "arrays": [["x", [True]]]}), "malformed"),
    (_payload({"meta": {}, "arrays": [["x", [1024, 1024, 1024]]]}), "too large"),
    (_payload({"meta": {}, "arrays": [["x", [1] * 9]]}), "malformed"),
    (_payload({"meta": {}, "arrays": [["x", [1]]]}, b"\0" * 16), "trailing"),
])
def test_malformed_messages_are_refused(payload, words):
    with pytest.raises(wire.WireError, match=words):
        wire.decode(payload)


def test_peek_meta_reads_only_the_header_and_never_raises():
    assert wire.peek_meta(wire.encode({"kind": "done"}, {"x": np.ones(3)})) == {"kind": "done"}
    assert wire.peek_meta(b"garbage") == {}
    assert wire.peek_meta(_payload({"meta": [1, 2]})) == {}

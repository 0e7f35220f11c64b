"""Nothing the sandbox sends can make the trusted grader raise.

The messages of an honest child (made by the real probes on the reference layers) are
mutated at random and adversarially: wrong types in every field, missing and extra fields,
nested garbage, NaN and huge numbers, bad shapes, cut or padded blobs, duplicate keys, bytes
that are not UTF-8. Each reply is decoded and, when accepted, judged by the real verdicts:
the only outcomes allowed are a result or `Malformed`.
"""
import copy
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from autograder.engine import messages, wire
from autograder.engine.messages import Malformed
from autograder.engine.pool import MALFORMED, Outcome

ASSIGNMENT = "affine_softmax"
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def honest(course):
    """A plan, its expectation and the messages an honest child sends for the reference layers."""
    from autograder.course.layerspec import layer_specs
    from autograder.engine.child import _arrays_of
    from autograder.engine.probes import LayerProbe
    from autograder.grading.expect import reply_expectation
    from autograder.grading.plan import job_for, plan_submission
    from autograder.grading.result import layers_for

    specs = layer_specs(course)
    plan = plan_submission(layers_for(course, specs, ASSIGNMENT), 7, "student")
    limits = {"memory_mb": 1024, "max_processes": 32, "max_file_mb": 16, "max_open_files": 64, "cpu_seconds": 10}
    job, arrays = job_for(plan, "x.py", course, limits, {"timeout": 10, "layer_timeout": 2, "cell_timeout": 2})
    blobs = [wire.encode({"kind": "hello", "protections": ["separate uid 61000"]}),
             wire.encode({"kind": "cells", "count": 3, "errors": [{"cell": 2, "error": "NameError: x"}], "notes": []})]
    for layer, lp in zip(job["layers"], plan.layers):
        with np.errstate(all="ignore"):
            meta, out = LayerProbe(lp.spec.cls, layer, _arrays_of(layer, arrays), [], job["h"]).run()
        blobs.append(wire.encode({**meta, "found_as": lp.spec.name}, out))
    blobs.append(wire.encode({"kind": "done"}))
    return plan, reply_expectation(plan), blobs


def judge(course, plan, outcome):
    from autograder.grading.discover import Submission
    from autograder.grading.result import submission_result

    sub = Submission("student", Path("x.py"), None)
    return submission_result(course, sub, ASSIGNMENT, plan, outcome, course.grading.numerical_step)


def grade_reply(course, plan, expect, blobs, status="graded"):
    """What the pool and the verdicts make of these blobs; raises only if the grader would."""
    outcome = Outcome(status, None)
    try:
        outcome.messages = messages.read_reply(blobs, expect)
    except Malformed as exc:
        outcome.status, outcome.error = "crashed", f"{MALFORMED}: {exc}"
    return judge(course, plan, outcome)


def test_the_honest_reply_passes_and_earns_full_marks(course, honest):
    plan, expect, blobs = honest
    result = grade_reply(course, plan, expect, blobs)
    assert result["status"] == "graded" and result["error"] is None
    assert result["score"] == result["max_score"] > 0
    assert result["notes"] == ["cell 2: NameError: x"]
    assert len(blobs) == expect.max_messages
    assert sum(map(len, blobs)) < expect.max_bytes


# -- building hostile messages ---------------------------------------------------------
def header_of(blob: bytes) -> tuple[dict, bytes]:
    (n,) = struct.unpack_from("<Q", blob)
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def blob_of(header, body: bytes = b"", raw: bytes | None = None) -> bytes:
    raw = json.dumps(header).encode() if raw is None else raw
    return struct.pack("<Q", len(raw)) + raw + body


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def paths(value, prefix=()):
    """Every place in a JSON value that a mutation can hit."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


def mutate(header: dict, path: tuple, how: str, value):
    header = copy.deepcopy(header)
    if not path:
        return value if how == "replace" else header
    parent = header
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif how == "extra" and isinstance(parent[last], dict):
        parent[last]["unexpected"] = value
    elif how == "wrap":
        parent[last] = [parent[last]]
    elif how == "stringify":
        parent[last] = json.dumps(parent[last])
    return header


@st.composite
def hostile_replies(draw, honest_blobs):
    blobs = list(honest_blobs)
    index = draw(st.integers(0, len(blobs) - 1))
    header, body = header_of(blobs[index])
    action = draw(st.sampled_from(["field", "field", "field", "shapes", "shapes", "body", "order", "raw"]))
    if action == "field":
        path = draw(st.sampled_from(list(paths(header))))
        how = draw(st.sampled_from(["replace", "delete", "extra", "wrap", "stringify"]))
        value = draw(json_values | st.sampled_from([float("nan"), float("inf"), -1, 2 ** 64, 10 ** 9, [], {}, "", [1]]))
        try:
            mutated = mutate(header, path, how, value)
        except (KeyError, IndexError, TypeError):
            mutated = header
        raw = json.dumps(mutated).encode()  # NaN and Infinity are written as JSON's non-standard tokens
        blobs[index] = blob_of(None, body, raw)
    elif action == "shapes" and header.get("arrays"):
        # Well-formed messages whose arrays have shapes and values the verdicts do not expect.
        entries = [list(e) for e in header["arrays"]]
        for _ in range(draw(st.integers(1, 2))):
            entry = draw(st.sampled_from(entries))
            keep = draw(st.integers(0, len(entry[1])))
            entry[1] = entry[1][:keep] + draw(st.lists(st.integers(0, 5), max_size=3))
        if draw(st.booleans()):
            entries.append([draw(st.sampled_from([n for n, _ in entries])).rsplit("/", 1)[0] + "/" +
                            draw(st.sampled_from(["dx", "dW", "db", "x", "t", "out"])), [2, 2]])
        total = sum(int(np.prod(shape)) for _, shape in entries)
        special = draw(st.sampled_from([0.0, np.nan, np.inf, -np.inf, 1e308, -0.0, 5e-324]))
        values = np.full(total, special) if draw(st.integers(0, 3)) == 0 else np.random.default_rng(total).standard_normal(total)
        blobs[index] = blob_of({**header, "arrays": entries}, values.astype("<f8").tobytes())
    elif action == "body":
        cut = draw(st.integers(-len(body), 64))
        blobs[index] = blob_of(header, body[:cut] if cut <= 0 else body + b"\x00" * cut)
    elif action == "order":
        other = draw(st.integers(0, len(blobs) - 1))
        if draw(st.booleans()):
            blobs.insert(other, blobs[index])       # a message sent twice
        else:
            blobs[index], blobs[other] = blobs[other], blobs[index]
    else:
        raw = json.dumps(header).encode()
        spot = draw(st.integers(0, len(raw)))
        junk = draw(st.binary(min_size=1, max_size=8))
        blobs[index] = blob_of(None, body, raw[:spot] + junk + raw[spot:])
    return blobs


def _fuzz(course, honest, data):
    plan, expect, blobs = honest
    reply = data.draw(hostile_replies(blobs))
    for blob in reply:  # the warm worker routes on these fields before the grader sees anything
        routed = wire.route_meta(blob)
        assert all(v is None or isinstance(v, str) for k, v in routed.items() if k != "errors")
        assert all(e["kind"] is None or isinstance(e["kind"], str) for e in routed["errors"])
        {routed["layer"]}  # hashable: the worker collects them in a set
    status = data.draw(st.sampled_from(["graded", "timeout", "crashed"]))
    result = grade_reply(course, plan, expect, reply, status)
    assert result["status"] in ("graded", "timeout", "crashed")
    assert 0 <= result["score"] <= result["max_score"]
    json.dumps(result, allow_nan=False)  # the results document stays valid JSON


@FAST
@given(data=st.data())
def test_mutated_replies_never_make_the_grader_raise(course, honest, data):
    _fuzz(course, honest, data)


@pytest.mark.slow
@LONG
@given(data=st.data())
def test_mutated_replies_never_make_the_grader_raise_long_run(course, honest, data):
    _fuzz(course, honest, data)


@FAST
@given(payload=st.binary(max_size=300) | st.builds(lambda h, b: blob_of(None, b, h), st.binary(max_size=200),
                                                    st.binary(max_size=64)))
def test_random_bytes_are_refused_cleanly(honest, payload):
    _, expect, _ = honest
    with pytest.raises(Malformed):
        messages.decode(payload, expect)
    assert messages.peek(payload) == {}
    assert wire.route_meta(payload)["kind"] in (None, "hello", "cells", "layer", "done", "invalid") or \
        isinstance(wire.route_meta(payload)["kind"], str)
    with pytest.raises(Malformed):
        messages.summary(payload)


@FAST
@given(value=json_values)
def test_any_json_header_is_validated_never_trusted(honest, value):
    _, expect, _ = honest
    try:
        meta, arrays = messages.decode(blob_of(value), expect)
    except Malformed:
        return
    assert isinstance(meta, messages.Done | messages.Hello | messages.Cells | messages.LayerReport)


def _adversarial(blobs):
    """{description: (reply, words the error must contain)}: what an attacker would try first."""
    hello, cells, *layers, done = blobs
    at = next(i for i, b in enumerate(blobs) if header_of(b)[0]["meta"].get("layer") == "Affine")
    affine, body = header_of(blobs[at])
    meta = affine["meta"]

    def with_layer(header, body=body, raw=None):
        return blobs[:at] + [blob_of(header, body, raw)] + blobs[at + 1:]

    def layer_meta(**change):
        return with_layer({**affine, "meta": {**meta, **change}})

    first_key, first_shape = affine["arrays"][0]
    cases = {
        "an int where a dict is expected": (layer_meta(errors=5), "errors"),
        "a string where a number is expected": (layer_meta(timeout="3", errors={}), "timeout"),
        "a list where a string is expected": (layer_meta(found_as=["Affine"]), "found_as"),
        "a bool where a number is expected": (layer_meta(timeout=True), "timeout"),
        "NaN for a number": (with_layer(None, body, json.dumps({**affine, "meta": {**meta, "timeout": float("nan")}}).encode()), "JSON"),
        "an unknown gradient attribute": (layer_meta(found_attrs={"Q": "dQ"}), "found_attrs"),
        "an extra field": (layer_meta(score=100), "score"),
        "a missing field": (with_layer({"arrays": affine["arrays"], "meta": {k: v for k, v in meta.items() if k != "layer"}}), "layer"),
        "a short array entry": (with_layer({**affine, "arrays": [[first_key]] + affine["arrays"][1:]}), "arrays"),
        "a negative dimension": (with_layer({**affine, "arrays": [[first_key, [-1]]] + affine["arrays"][1:]}), "arrays"),
        "a huge shape": (with_layer({**affine, "arrays": [[first_key, [2 ** 40, 2 ** 40]]] + affine["arrays"][1:]}), "arrays"),
        "a numerical gradient with the wrong number of steps": (
            with_layer({**affine, "arrays": [[k, [s[0] + 1, *s[1:]] if "/num/" in k else s] for k, s in affine["arrays"]]},
                       body + b"\0" * 8 * 10 ** 4), None),
        "a truncated blob": (with_layer(affine, body[:-8]), "bytes"),
        "a padded blob": (with_layer(affine, body + b"\0" * 8), "bytes"),
        "duplicate keys": (with_layer(None, body, json.dumps(affine).encode()[:-1] + b', "meta": {"kind": "done"}}'), "duplicate"),
        "bytes that are not UTF-8": (with_layer(None, body, b'{"meta": {"kind": "\xff\xfe"}, "arrays": []}'), "JSON"),
        "deeply nested JSON": (with_layer(None, b"", b'{"meta": ' + b"[" * 100_000 + b"]" * 100_000 + b', "arrays": []}'), None),
        "a huge header length": ([hello, cells, struct.pack("<Q", 2 ** 63) + b"{}", done], "header length"),
        "a layer reported twice": ([hello, cells, layers[0], *layers[:-1], done], "twice"),
        "a message after done": ([hello, cells, *layers[:-1], done, layers[-1]], "after 'done'"),
        "a second hello": ([hello, hello, *layers, done], "hello"),
        "an invalid message from the child": ([hello, cells, blob_of({"meta": {"kind": "invalid", "error": "x"}, "arrays": []}), done], "invalid"),
        "a layer that is not tested": ([hello, cells, blob_of({"meta": {"kind": "layer", "layer": "Conv"}, "arrays": []}), done], "not tested"),
        "too many messages": ([hello, cells, *layers, *[blob_of({"meta": {"kind": "cells", "count": 0, "errors": [], "notes": []}, "arrays": []})] * 50, done], "messages"),
    }
    return cases


def test_adversarial_messages_end_the_submission_as_malformed(course, honest):
    plan, expect, blobs = honest
    for description, (reply, words) in _adversarial(blobs).items():
        result = grade_reply(course, plan, expect, reply)
        assert result["status"] == "crashed", description
        assert result["error"].startswith(MALFORMED), (description, result["error"])
        if words:
            assert words in result["error"], (description, result["error"])
        assert len(result["error"]) < 300, description
        # layers reported before the bad message keep their verdicts; none raises
        assert result["score"] <= result["max_score"]


def test_schema_checks_work_without_a_plan_too(honest):
    _, _, blobs = honest
    for blob in blobs:
        messages.decode(blob, None)
    with pytest.raises(Malformed, match="too large"):
        messages.decode(blob_of({"meta": {"kind": "layer", "layer": "X"}, "arrays": [["a", [2 ** 10, 2 ** 11]]]},
                                b"\0" * 8 * 2 ** 21))


def test_long_texts_are_cut_not_refused(course, honest):
    plan, expect, blobs = honest
    hello, cells, *rest = blobs
    long_cells = wire.encode({"kind": "cells", "count": 1, "errors": [{"cell": 1, "error": "E" * 100_000}], "notes": []})
    result = grade_reply(course, plan, expect, [hello, long_cells, *rest])
    assert result["status"] == "graded" and result["score"] == result["max_score"]
    assert len(result["notes"][0]) < messages.MAX_TEXT + 100


def _reference_reply(spec, course, seed=3):
    """The plan of one layer and what an honest child sends for it (the reference class as the answer)."""
    from autograder.engine.child import _arrays_of
    from autograder.engine.probes import LayerProbe
    from autograder.grading.plan import SubmissionPlan, job_for, plan_layer

    plan = SubmissionPlan(seed, [plan_layer(spec, np.random.default_rng(seed))])
    job, arrays = job_for(plan, "x.py", course, {}, {})
    layer = job["layers"][0]
    meta, out = LayerProbe(spec.cls, layer, _arrays_of(layer, arrays), [], 1e-5).run()
    blobs = [wire.encode({"kind": "hello", "protections": []}),
             wire.encode({"kind": "cells", "count": 1, "errors": [], "notes": []}),
             wire.encode({**meta, "found_as": spec.name}, out), wire.encode({"kind": "done"})]
    return plan, blobs


def test_the_byte_budget_follows_the_plan(course, specs, monkeypatch):
    """Larger layers get a larger budget: a layer sending over a megabyte per case still fits, and
    the budget stays far below a flat cap."""
    import dataclasses

    from autograder.grading import plan as plan_module
    from autograder.grading.expect import reply_expectation

    monkeypatch.setattr(plan_module, "helpers_source", lambda course: "")
    affine = specs["Affine"]
    small_plan, small_reply = _reference_reply(affine, course)
    big_case = dataclasses.replace(affine.cases[0], shapes={"x": (16, 16), "W": (16, 12), "b": (12,)})
    big = dataclasses.replace(affine, cases=(big_case, affine.cases[1]))
    big_plan, big_reply = _reference_reply(big, course)
    small, large = reply_expectation(small_plan), reply_expectation(big_plan)
    sent = sum(map(len, big_reply))
    print(f"sent {sent / 2 ** 20:.2f} MB, budget {large.max_bytes / 2 ** 20:.1f} MB (small plan {small.max_bytes / 2 ** 20:.1f} MB)")
    assert sent > 1 << 20                      # as much as the next layers send per case
    assert small.max_bytes < large.max_bytes < 16 * sent
    assert sent < large.max_bytes
    messages.read_reply(big_reply, large)      # accepted as it is
    with pytest.raises(Malformed, match="shape"):
        messages.read_reply(big_reply, reply_expectation(small_plan))  # the same reply, another plan's shapes

"""What the sandbox may send the grader: strict schemas, checked on the trusted side before use.

Everything the sandboxed child writes is untrusted: submitted code runs in that process and can
write any bytes into the channel. The grader uses a message only after it passed these schemas
(every field typed and bounded, no extra fields) and, for arrays, the shapes the submission's
test plan allows for each key. Anything else ends the submission with `Malformed`, never an
exception in the grader.
"""
from __future__ import annotations

import json
import math
import re
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter,
                      ValidationError, model_validator)

from . import wire
from .expectation import ArrayRule, ReplyExpectation

MAX_TEXT = 4000          # characters kept of any free text (messages, notes); longer text is cut
MAX_NAME = 200
MAX_LIST = 10_000
MAX_DIMS = wire.MAX_NDIM


class Malformed(ValueError):
    """A message from the sandbox that does not follow the schema or the submission's plan."""


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " [cut]"


Text = Annotated[str, Field(strict=True), AfterValidator(_cut)]
Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_NAME)]
Key = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_./-]{1,200}$")]
Seconds = Annotated[float, Field(strict=True, ge=0.0, le=1e6, allow_inf_nan=False)]
Dim = Annotated[int, Field(strict=True, ge=0, le=wire.MAX_ARRAY_ELEMENTS)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Hello(_Strict):
    """Sent before any submitted code runs: which protections are in place."""

    kind: Literal["hello"]
    protections: list[Text] = Field(max_length=64)


class CellError(_Strict):
    cell: int = Field(ge=1, le=10 ** 7)
    error: Text
    kind: Literal["timeout", "memory", "disk"] | None = None


class Cells(_Strict):
    kind: Literal["cells"]
    count: int = Field(ge=0, le=10 ** 7)
    errors: list[CellError] = Field(max_length=MAX_LIST)
    notes: list[Text] = Field(max_length=1000)


class LayerReport(_Strict):
    """One layer's probe: either missing, fatal, timed out, or per-probe errors plus arrays."""

    kind: Literal["layer"]
    layer: Name
    found_as: Name | None = None
    missing: Literal[True] | None = None
    fatal: Text | None = None
    timeout: Seconds | None = None
    errors: dict[Key, Text] = Field(default_factory=dict, max_length=MAX_LIST)
    found_attrs: dict[Name, Name] = Field(default_factory=dict, max_length=100)
    notes: list[Text] = Field(default_factory=list, max_length=100)
    dtypes: dict[Key, Name] = Field(default_factory=dict, max_length=MAX_LIST)   # dtype of each returned value
    forward_calls: int | None = Field(None, ge=0, le=10 ** 9)   # forwards called from inside backward

    @model_validator(mode="after")
    def _one_ending(self):
        if sum(x is not None for x in (self.missing, self.fatal, self.timeout)) > 1:
            raise ValueError("a layer is either missing, fatal or timed out, not several")
        return self

    @property
    def ended_early(self) -> bool:
        return self.missing is not None or self.fatal is not None or self.timeout is not None

    def as_dict(self) -> dict:
        """The plain view verdicts read: only the fields that were sent."""
        return self.model_dump(exclude_none=True)


class Done(_Strict):
    kind: Literal["done"]


class Invalid(_Strict):
    """Sent by the trusted part of the child when the submission cannot be read."""

    kind: Literal["invalid"]
    error: Text


Message = Annotated[Union[Hello, Cells, LayerReport, Done, Invalid], Field(discriminator="kind")]


class _Header(BaseModel):
    # Lax only in taking JSON's lists for the (name, shape) pairs; every leaf is strict.
    model_config = ConfigDict(extra="forbid", frozen=True)
    meta: Message
    arrays: list[tuple[Key, Annotated[list[Dim], Field(max_length=MAX_DIMS)]]] = Field(max_length=MAX_LIST)


class Summary(_Strict):
    """The warm worker's account of how the sandbox ended."""

    status: Literal["graded", "invalid", "timeout", "crashed"]
    error: Text | None = None
    duration: Seconds = 0.0
    messages: int = Field(ge=0, le=MAX_LIST)


_HEADER = TypeAdapter(_Header)
_SUMMARY = TypeAdapter(Summary)


# -- decoding -------------------------------------------------------------------------
def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {_short(next(k for k in keys if keys.count(k) > 1))}")
    return dict(pairs)


def _no_constants(name):
    raise ValueError(f"{name} is not a JSON number")


def _json(raw: bytes):
    """Plain JSON only: no duplicate keys, no NaN or Infinity, bounded nesting."""
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except RecursionError:
        raise Malformed("the header is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Malformed(f"the header is not plain JSON ({_short(str(exc), 80)})") from None


_PRINTABLE = re.compile(r"[^\w ./\-\[\]():,'=<>]")


def _short(text, limit: int = 40) -> str:
    text = _PRINTABLE.sub("?", str(text))
    return text if len(text) <= limit else text[:limit] + "..."


def _explain(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(_short(p, 30) for p in err["loc"]) or "the message"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {_short(err['msg'], 80)}{more}"


def _split_header(payload: bytes) -> tuple[bytes, int]:
    if len(payload) < wire.LEN.size:
        raise Malformed("the message is truncated")
    (header_len,) = wire.LEN.unpack_from(payload)
    if header_len > wire.MAX_HEADER_BYTES or wire.LEN.size + header_len > len(payload):
        raise Malformed("the header length is out of range")
    return payload[wire.LEN.size:wire.LEN.size + header_len], wire.LEN.size + header_len


def _header(raw: bytes) -> _Header:
    try:
        return _HEADER.validate_python(_json(raw))
    except ValidationError as exc:
        raise Malformed(_explain(exc)) from None


def decode(payload: bytes, expect: ReplyExpectation | None = None):
    """One message as (validated meta, float64 arrays), or Malformed saying what is wrong."""
    raw, offset = _split_header(payload)
    header = _header(raw)
    meta = header.meta
    rules = _rules_for(meta, expect)
    names = [name for name, _ in header.arrays]
    if len(set(names)) != len(names):
        raise Malformed("an array name appears twice")
    if header.arrays and not isinstance(meta, LayerReport):
        raise Malformed(f"a {meta.kind!r} message carries arrays")
    if header.arrays and meta.ended_early:
        raise Malformed(f"layer {_short(meta.layer)}: arrays sent with a layer that did not run")
    total = sum(math.prod(shape) for _, shape in header.arrays)
    if 8 * total != len(payload) - offset:
        raise Malformed(f"the arrays take {len(payload) - offset} bytes, but their shapes need {8 * total}")
    arrays: dict[str, np.ndarray] = {}
    for name, shape in header.arrays:
        if rules is not None:
            # Keys the plan fixes get exact rules; any other key a probe may write (state probes
            # grow with the battery) is bounded in size and counted against the reply's budget,
            # and the verdicts read only the keys they ask for, each shape-checked.
            rule = rules.get(name, _OTHER)
            problem = rule.problem(tuple(shape))
            if problem:
                raise Malformed(f"layer {_short(meta.layer)}: array {_short(name)}: {problem}")
        elif math.prod(shape) > wire.MAX_ARRAY_ELEMENTS:
            raise Malformed(f"array {_short(name)} is too large")
        count = math.prod(shape)
        arrays[name] = np.frombuffer(payload, dtype="<f8", count=count, offset=offset).reshape(shape).copy()
        offset += 8 * count
    return meta, arrays


_OTHER = ArrayRule()


def _rules_for(meta, expect: ReplyExpectation | None) -> dict[str, ArrayRule] | None:
    if expect is None or not isinstance(meta, LayerReport):
        return None
    layer = expect.layers.get(meta.layer)
    if layer is None:
        raise Malformed(f"a message for layer {_short(meta.layer)}, which is not tested")
    for param, attr in meta.found_attrs.items():
        if attr not in layer.grad_attrs.get(param, ()):
            raise Malformed(f"layer {_short(meta.layer)}: found_attrs.{_short(param)} is not a gradient "
                            f"attribute of the layer")
    return layer.arrays


def read_reply(blobs: list[bytes], expect: ReplyExpectation | None = None) -> list[tuple[object, dict]]:
    """Every relayed message, validated one by one and as a sequence.

    The honest child sends hello, cells, one message per layer and done, in that order; a
    sequence that breaks this (a second hello, a layer twice, anything after done) was written
    by something else and is refused as a whole.
    """
    if expect is not None and len(blobs) > expect.max_messages:
        raise Malformed(f"{len(blobs)} messages, more than the {expect.max_messages} its tests send")
    messages = []
    seen_layers: set[str] = set()
    kinds: list[str] = []
    for index, blob in enumerate(blobs):
        try:
            meta, arrays = decode(blob, expect)
        except Malformed as exc:
            raise Malformed(f"message {index + 1}: {exc}") from None
        kind = meta.kind
        if kind == "invalid":
            raise Malformed(f"message {index + 1}: an 'invalid' message after the submission was read")
        if (kind == "hello") != (index == 0):
            raise Malformed(f"message {index + 1}: the first message must be the only 'hello'")
        if "done" in kinds:
            raise Malformed(f"message {index + 1}: a {kind!r} message after 'done'")
        if kind == "cells" and ("cells" in kinds or "layer" in kinds):
            raise Malformed(f"message {index + 1}: a second or late 'cells' message")
        if kind == "layer":
            if meta.layer in seen_layers:
                raise Malformed(f"message {index + 1}: layer {_short(meta.layer)} reported twice")
            seen_layers.add(meta.layer)
        kinds.append(kind)
        messages.append((meta, arrays))
    return messages


def peek(payload: bytes) -> dict:
    """A message's validated metadata as a plain dict, {} if it is malformed: for routing
    inside the warm worker, which must never fail on what the child sends."""
    try:
        return _header(_split_header(payload)[0]).meta.model_dump()
    except Malformed:
        return {}


def summary(raw: bytes) -> Summary:
    try:
        return _SUMMARY.validate_python(_json(raw))
    except ValidationError as exc:
        raise Malformed(_explain(exc)) from None

"""What one submission's test plan can make the sandbox send: per layer, the array keys and
the shapes each may have, and the bytes of the whole reply. Built by the grader from the plan,
checked by engine.messages on every message."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import wire

MAX_DIMS = wire.MAX_NDIM
# Without a plan to derive it from (a job sent without expectations), the budget of one submission.
DEFAULT_MAX_BYTES = 64 << 20
# An honest probe refuses student values above this many elements (engine/probes.py).
MAX_ELEMENTS = 1 << 18


@dataclass(frozen=True)
class ArrayRule:
    """The shapes a key may have: `leading` fixed by the plan, then at most `free_dims` more
    dimensions the submission decides, holding at most `max_elements` values in all."""

    leading: tuple[int, ...] = ()
    free_dims: int = MAX_DIMS
    max_elements: int = MAX_ELEMENTS

    @classmethod
    def exact(cls, shape: tuple[int, ...]) -> "ArrayRule":
        return cls(tuple(shape), 0, max(1, math.prod(shape)))

    def problem(self, shape: tuple[int, ...]) -> str | None:
        n = len(self.leading)
        if tuple(shape[:n]) != self.leading:
            return f"shape {tuple(shape)} does not start with {self.leading}"
        if len(shape) - n > self.free_dims:
            return f"shape {tuple(shape)} has too many dimensions"
        if math.prod(shape[n:]) > self.max_elements:
            return f"shape {tuple(shape)} holds more values than its test can produce"
        return None


@dataclass(frozen=True)
class LayerExpectation:
    arrays: dict[str, ArrayRule]
    grad_attrs: dict[str, tuple[str, ...]]      # parameter -> the attribute names it may be read from


@dataclass(frozen=True)
class ReplyExpectation:
    """What one submission's plan can produce; built by the grader, checked here."""

    layers: dict[str, LayerExpectation] = field(default_factory=dict)
    max_bytes: int = DEFAULT_MAX_BYTES

    @property
    def max_messages(self) -> int:
        return len(self.layers) + 3   # hello, cells, one per layer, done

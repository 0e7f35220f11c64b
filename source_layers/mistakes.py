"""The shape of an entry in a layer's catalog of known-wrong formulas."""
from dataclasses import dataclass
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Mistake:
    """A wrong formula students write, and what to tell them when their result matches it.

    ``predict`` receives the test case (inputs, parameters, ``dout`` and the reference
    output ``out`` as attributes) and returns the values the wrong formula produces,
    keyed like the grader's results: ``out`` for forward, ``dx``/``dy`` for input
    gradients, ``dW``/``db``/... for parameter gradients. Keys it leaves out are assumed
    correct.
    """

    name: str
    explanation: str
    predict: Callable[[Any], Mapping[str, Any]]

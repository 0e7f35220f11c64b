"""What a submission's test plan can make the sandbox send back: keys, shapes and bytes.

The engine checks every array it receives against this (engine.messages), so a key the probes
never produce, a shape the plan cannot give, or more bytes than the plan can fill end the
submission as malformed instead of reaching the verdicts. Keys written by engine/probes.py get
exact rules here; keys of other probes are bounded in size and counted in the budget.
"""
from __future__ import annotations

import math

import numpy as np

from autograder.engine.expectation import MAX_DIMS, ArrayRule, LayerExpectation, ReplyExpectation
from .plan import LayerPlan, SubmissionPlan

STATE_PROBES = ("fresh", "latest", "repeat")
# A wrong submission may return larger arrays than the reference (a broadcast where a sum was
# meant turns (N,) into (N, N)); the budget leaves it this much room before calling it flooding.
ROOM = 8
# Text a layer may send besides its arrays: an error message per probe, notes, the cells' report.
METADATA_BYTES_PER_LAYER = 256 << 10
METADATA_BYTES = 2 << 20


def _size(value) -> int:
    return int(np.size(value))


def layer_expectation(lp: LayerPlan) -> tuple[LayerExpectation, int]:
    """The rules for one layer's arrays, and how many values the reference itself would send."""
    spec = lp.spec
    free = ArrayRule()
    rules: dict[str, ArrayRule] = {}
    values = 0
    for index, case in enumerate(lp.cases):
        expected = lp.expected[index]
        out_size = _size(expected if isinstance(expected, np.ndarray) else expected.out)
        rules[f"c{index}/out"] = free
        values += out_size
        for arg, given in case.inputs.items():
            rules[f"c{index}/after/{arg}"] = ArrayRule.exact(np.shape(given))
            values += _size(given)
        if case.spec.forward_only:
            continue
        for grad in spec.gradient_names:
            rules[f"c{index}/grad/{grad}"] = free
            target = spec.gradient_target(grad)
            values += _size(case.params.get(target, case.inputs.get(target)))
        for target in spec.diff_inputs + spec.params:
            directions = lp.directions.get(index, {}).get(target)
            steps = len(directions) if directions is not None else _size(case.params.get(target, case.inputs.get(target)))
            rules[f"c{index}/num/{target}"] = ArrayRule((steps, 2), MAX_DIMS - 2)
            values += steps * 2 * out_size
    for probe in STATE_PROBES:
        for grad in spec.gradient_names:
            rules[f"state/{probe}/{grad}"] = free
            target = spec.gradient_target(grad)
            values += _size(lp.state.params.get(target, lp.state.inputs.get(target)))
    grad_attrs = {p: tuple(a) for p, a in spec.grad_attrs.items()}
    return LayerExpectation(rules, grad_attrs), values


def reply_expectation(plan: SubmissionPlan) -> ReplyExpectation:
    layers, values = {}, 0
    for lp in plan.layers:
        layers[lp.spec.name], count = layer_expectation(lp)
        values += count
    max_bytes = ROOM * 8 * values + METADATA_BYTES + METADATA_BYTES_PER_LAYER * len(plan.layers)
    return ReplyExpectation(layers, max_bytes=math.ceil(max_bytes))

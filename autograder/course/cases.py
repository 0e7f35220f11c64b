"""Concrete test inputs: numbers drawn for a layer's configured cases from a seeded generator."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .layerspec import CaseSpec, LayerSpec


@dataclass
class CaseValues:
    """The inputs of one case: constructor params, forward inputs and the upstream gradient."""

    params: dict[str, np.ndarray | np.float64]
    inputs: dict[str, np.ndarray | np.float64]
    dout: np.ndarray | np.float64 | None
    spec: CaseSpec

    def namespace(self, out=None) -> SimpleNamespace:
        """The view a Mistake's predict() gets: every argument, dout and the reference output."""
        return SimpleNamespace(**self.params, **self.inputs, dout=self.dout, out=out)


def _draw(distribution: str, shape: tuple[int, ...], rng: np.random.Generator, case: CaseSpec):
    if case.ints:
        # Small non-zero integers, as in the book's apples (forward(100, 2), backward(1)); never 0,
        # where Relu's derivative is a matter of convention.
        if distribution == "positive":
            values = rng.integers(1, 5, size=shape).astype(np.float64)
        else:
            values = rng.choice([-1.0, 1.0], size=shape) * rng.integers(1, 5, size=shape)
    elif case.magnitude is not None:
        low, high = case.magnitude
        values = _balanced_signs(shape, rng) * rng.uniform(low, high, size=shape)
    elif distribution == "positive":
        values = rng.uniform(0.5, 2.0, size=shape)
    elif distribution == "away_from_zero":
        # Relu's kink at 0 makes a numerical gradient meaningless within h of it.
        values = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)
    else:
        values = rng.standard_normal(size=shape) * case.scale
    values = values + case.offset
    return np.float64(values) if shape == () else values


def _balanced_signs(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Half the entries positive, half negative, shuffled: a stress case reaches both tails on every draw."""
    size = int(np.prod(shape, dtype=int))
    signs = np.where(np.arange(size) % 2 == 0, 1.0, -1.0)
    return rng.permutation(signs).reshape(shape)


def _labels(fmt: str, logits, rng: np.random.Generator):
    n, classes = logits.shape[0], logits.shape[-1]
    index = rng.integers(0, classes, size=n)
    if fmt == "index":
        return index
    return np.eye(classes)[index]


def draw_case(spec: LayerSpec, case: CaseSpec, rng: np.random.Generator) -> CaseValues:
    """Draw one case. dout is drawn once the output shape is known (see with_dout)."""
    plain = CaseSpec(case.shapes, case.labels, ints=case.ints)  # parameters are never stressed
    params = {p: _draw(spec.distributions[p], case.shapes[p], rng, plain) for p in spec.params}
    inputs = {}
    for arg in spec.inputs:
        if arg not in spec.labels:
            inputs[arg] = _draw(spec.distributions[arg], case.shapes[arg], rng, case)
    first = inputs[spec.diff_inputs[0]]
    for arg in spec.labels:
        inputs[arg] = _labels(case.labels[arg], first, rng)
    inputs = {a: inputs[a] for a in spec.inputs}  # keep the forward argument order
    return CaseValues(params=params, inputs=inputs, dout=None, spec=case)


def with_dout(values: CaseValues, spec: LayerSpec, out_shape: tuple[int, ...], rng: np.random.Generator) -> CaseValues:
    """Fill in the upstream gradient: 1 for a loss, random (never all ones) otherwise."""
    if spec.loss:
        values.dout = np.float64(1.0)
    else:
        dout = rng.standard_normal(size=out_shape)
        if values.spec.ints:
            dout = rng.choice([-1.0, 1.0], size=out_shape) * rng.integers(1, 4, size=out_shape)
        values.dout = np.float64(dout) if out_shape == () else dout
    return values


def copy_value(value):
    return value.copy() if isinstance(value, np.ndarray) else value

"""The self-check cells of a notebook: student-facing code that needs nothing but numpy.

The support cell defines the checking functions once; each layer's check cell holds only
numbers (inputs drawn for the layer's configured cases, expected outputs and gradients
computed by the reference) and a call to `check_layer`. No reference code goes in.
"""
from __future__ import annotations

import zlib

import numpy as np

from autograder.course.cases import draw_case, with_dout
from autograder.errors import CourseError
from autograder.kit.embed import embedded_selfcheck

from .literals import INPUT_DIGITS, is_stable, literal, rounded
from autograder.course.layerspec import CaseSpec, LayerSpec
from autograder.course.reference import reference_backward, reference_forward



def support_source(step: float) -> str:
    """The support cell's code: the kit's self-check module with the course's numerical step,
    and the numeric helpers it imports pasted in as their source."""
    return embedded_selfcheck(step)


# --- one layer's check cell -------------------------------------------------------------------

def _seed(layer: str) -> int:
    # One stream per layer: adding or reordering layers leaves every other layer's numbers alone.
    return zlib.crc32(f"self-check:{layer}".encode())


def _describe_case(spec: LayerSpec, case: CaseSpec) -> str:
    parts = []
    for arg in spec.params + spec.inputs:
        if arg in case.labels:
            parts.append(f"{arg} as class indices" if case.labels[arg] == "index" else f"{arg} as one-hot rows")
        else:
            shape = case.shapes[arg]
            parts.append(f"{arg} a scalar" if shape == () else f"{arg} of shape {shape}")
    if case.ints:
        parts.append("Python ints" if all(case.shapes[a] == () for a in case.shapes) else "integer arrays")
    if case.scale != 1.0:
        parts.append(f"large values (scale {case.scale:g})")
    if case.offset:
        parts.append(f"every value offset by {case.offset:g}")
    if case.magnitude:
        parts.append(f"|values| from {case.magnitude[0]:g} to {case.magnitude[1]:g}")
    return ", ".join(parts)


def _mapping(items: dict, indent: str) -> str:
    if not items:
        return "{}"
    inner = indent + "    "
    lines = [f"{inner}{key!r}: {literal(value, inner + ' ' * (len(repr(key)) + 2))}," for key, value in items.items()]
    return "{\n" + "\n".join(lines) + "\n" + indent + "}"


MAX_DRAWS = 100


def _round_inputs(values) -> None:
    values.params = {k: rounded(v) for k, v in values.params.items()}
    values.inputs = {k: rounded(v) for k, v in values.inputs.items()}


def _as_given(value, ints: bool):
    """Integer cases are written as ints (Python ints for scalars), as a student's caller passes them."""
    if not ints or np.asarray(value).dtype.kind not in "f":
        return value
    return int(value) if np.ndim(value) == 0 else np.asarray(value).astype(np.int64)


def _stable_draw(spec: LayerSpec, case: CaseSpec, rng: np.random.Generator, params=None):
    """Inputs whose reference results are written the same on every machine (see literals.py).

    Inputs are rounded before the reference runs, so every machine starts from the same numbers;
    a draw with a result next to a rounding boundary is replaced by the next one."""
    for _ in range(MAX_DRAWS):
        values = draw_case(spec, case, rng)
        if params is not None:  # the same instance goes on with another batch size
            values.params = params
        _round_inputs(values)
        out = reference_forward(spec, values)
        expected = None
        if not case.forward_only:
            with_dout(values, spec, out.shape, rng)
            values.dout = rounded(values.dout)
            expected = reference_backward(spec, values)
        results = [out] + (list(expected.grads.values()) if expected else [])
        if all(is_stable(r) for r in results):
            return values, out, expected
    raise ValueError(f"no draw in {MAX_DRAWS} gives results that can be written stably "
                     f"to {INPUT_DIGITS} digits")


def _case_literal(spec: LayerSpec, case: CaseSpec, rng: np.random.Generator, params=None,
                  about: str = "") -> tuple[str, dict]:
    values, out, expected = _stable_draw(spec, case, rng, params)
    ind = " " * 12
    given = lambda items: {k: _as_given(v, case.ints and k not in spec.labels) for k, v in items.items()}  # noqa: E731
    entries = [f"'about': {(_describe_case(spec, case) + about)!r}",
               f"'params': {_mapping(given(values.params), ind)}",
               f"'inputs': {_mapping(given(values.inputs), ind)}",
               f"'out': {literal(out, ind + ' ' * 7)}"]
    if expected is not None:
        # A loss layer is the end of the graph: its backward is called as backward(1).
        dout = "1" if spec.loss else literal(_as_given(values.dout, case.ints), ind + " " * 8)
        entries += [f"'differentiable': {spec.diff_inputs!r}",
                    f"'dout': {dout}",
                    f"'grads': {_mapping(expected.grads, ind)}"]
        if not case.numerically_checked:
            entries.append("'numerical': False")
    text = "        {\n" + "".join(f"{ind}{entry},\n" for entry in entries) + "        }"
    return text, values.params


def _batch_size(spec: LayerSpec) -> int | None:
    """The batch size the self-check adds a case for: the smallest one, when it differs."""
    if not spec.batch:
        return None
    arg, axis = next(iter(spec.batch.items()))
    n = spec.cases[spec.state_case].shapes[arg][axis]
    return spec.min_batch if spec.min_batch != n else n + 1


def layer_check_source(spec: LayerSpec, where: str) -> str:
    """The check cell for one layer: literal cases, expected numbers, one call to check_layer."""
    rng = np.random.default_rng(_seed(spec.name))
    try:
        drawn = [_case_literal(spec, case, rng) for case in spec.cases]
        sequence = ""
        n = _batch_size(spec)
        if n is not None:
            base = spec.state_case
            drawn.append(_case_literal(spec, spec.cases[base].resized(spec.batch, n), rng, drawn[base][1],
                                       f"; a batch of {n}, the parameters of case {base + 1}"))
            sequence = f"    sequence={(base, len(drawn) - 1, base)!r},\n"
    except ValueError as exc:
        raise CourseError(f"{where}.cases: {exc}") from None
    cases = [text for text, _ in drawn]
    tolerance = spec.tolerance
    attrs = ", ".join(f"{p!r}: {tuple(names)!r}" for p, names in spec.grad_attrs.items())
    return (
        f"# Self-check for {spec.name}: run this cell after editing the class above.\n"
        f"# It compares your layer with known-good numbers and your backward with numerical\n"
        f"# gradients of your own forward, then uses the layer as a network does: one instance\n"
        f"# called again with another batch size, several instances at once.\n"
        f"check_layer(\n"
        f"    {spec.name}, {spec.name!r},\n"
        f"    gradient_attrs={{{attrs}}},\n"
        f"    tolerance={{'forward': {tolerance.forward!r}, 'gradient': {tolerance.gradient!r}, "
        f"'reference': {tolerance.reference!r}}},\n"
        + sequence +
        f"    cases=[\n" + ",\n".join(cases) + ",\n    ],\n)\n"
        f"print({(spec.name + ': all checks passed')!r})"
    )


def example_check_source(example: str, results: dict, layers: list[str], tolerance: float) -> str:
    """The check cell after an example: its result variables against the reference's numbers."""
    expected = _mapping(results, "    ")
    return (
        f"# Check for the example above: its results must come out as below.\n"
        f"check_results(\n"
        f"    {example!r}, globals(),\n"
        f"    expected={expected},\n"
        f"    layers={layers!r},\n"
        f"    tolerance={tolerance!r},\n"
        f")\n"
        f"print({(example + ': all checks passed')!r})"
    )

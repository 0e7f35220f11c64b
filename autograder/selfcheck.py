"""The self-check cells of a notebook: student-facing code that needs nothing but numpy.

The support cell defines the checking functions once; each layer's check cell holds only
numbers (inputs drawn for the layer's configured cases, expected outputs and gradients
computed by the reference) and a call to `check_layer`. No reference code goes in.
"""
from __future__ import annotations

import zlib
from string import Template

import numpy as np

from .cases import draw_case, with_dout
from .errors import CourseError
from .layerspec import CaseSpec, LayerSpec
from .reference import reference_backward, reference_forward

SUPPORT_TEMPLATE = Template('''\
# Self-check support: the check cells after each layer call these functions.
# They need nothing but numpy, so you can also run the checks on your own machine.
import numpy as np

NUMERICAL_STEP = $step


def relative_error(a, b):
    """||a - b|| / (||a|| + ||b||): 0 for equal arrays, about 1 for unrelated ones."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    num = np.linalg.norm((a - b).ravel())
    den = np.linalg.norm(a.ravel()) + np.linalg.norm(b.ravel())
    if den == 0.0:
        return 0.0 if num == 0.0 else float("inf")
    return float(num / den)


def numerical_gradient(f, value, dout, h=NUMERICAL_STEP):
    """Gradient of sum(f(v) * dout) with respect to v, by central differences in float64."""
    base = np.array(value, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros(base.shape)
    for i in range(base.size):
        plus, minus = base.copy(), base.copy()
        plus.flat[i] += h
        minus.flat[i] -= h
        if base.ndim == 0:
            plus, minus = np.float64(plus), np.float64(minus)
        f_plus = np.asarray(f(plus), dtype=np.float64)
        f_minus = np.asarray(f(minus), dtype=np.float64)
        grad.flat[i] = np.sum((f_plus - f_minus) * dout) / (2.0 * h)
    return grad


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _shape_text(value):
    shape = np.shape(value)
    return "a scalar" if shape == () else f"shape {shape}"


def _describe(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    if value is None:
        return "None"
    return f"a single value ({_shape_text(value)})"


def _call(what, where, function, *args):
    """Call student code; turn a missing implementation into a plain-words failure."""
    try:
        return function(*args)
    except NotImplementedError:
        raise AssertionError(f"{what} is not implemented yet (it raises NotImplementedError)") from None
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}{where}") from exc


def _check_unchanged(what, given, originals, where):
    for name, original in originals.items():
        if not np.array_equal(given[name], original):
            raise AssertionError(f"{what} changed its argument {name} in place: leave the caller's "
                                 f"array alone and build a new one (np.where, {name}.copy(), ...){where}")


def _stored_gradient(layer, names, placed):
    """The attribute (any accepted name) backward stored a parameter gradient in."""
    present = [name for name in names if getattr(layer, name, None) is not None]
    for name in present:
        value = getattr(layer, name)
        untouched = name in placed and value is placed[name] and not np.any(value)
        if not untouched:
            return name
    return present[0] if present else None


def check_layer(cls, name, cases, gradient_attrs, tolerance):
    """Run every case; raise AssertionError with a plain-words message at the first problem."""
    for case in cases:
        _check_case(cls, name, case, gradient_attrs, tolerance)


def _check_case(cls, name, case, gradient_attrs, tol):
    params, inputs = case["params"], case["inputs"]
    where = f" (test case: {case['about']})"

    def forward_with(target, value):
        layer = cls(*[value if p == target else _copy(v) for p, v in params.items()])
        return layer.forward(*[value if a == target else _copy(v) for a, v in inputs.items()])

    layer = _call(f"{name}(...)", where, cls, *[_copy(v) for v in params.values()])
    given = {a: _copy(v) for a, v in inputs.items()}
    out = _call(f"{name}.forward", where, layer.forward, *given.values())
    _check_unchanged(f"{name}.forward", given, inputs, where)
    expected = case.get("out", np.zeros(case.get("out_shape", ())))
    if out is None:
        raise AssertionError(f"{name}.forward returned None: it must return its output{where}")
    if np.shape(out) != np.shape(expected):
        raise AssertionError(f"{name}.forward returned {_shape_text(out)} but the output should have "
                             f"{_shape_text(expected)}{where}")
    if not np.all(np.isfinite(np.asarray(out, dtype=np.float64))):
        raise AssertionError(f"{name}.forward returned nan or inf{where}")
    if "out" not in case:
        return  # only shape and finiteness are checked for this case
    error = relative_error(out, expected)
    if not error <= tol["forward"]:
        raise AssertionError(f"{name}.forward returned wrong values: relative error {error:.1e} against "
                             f"the expected output (allowed: {tol['forward']:.0e}){where}")
    if "grads" not in case:
        return  # a forward-only case: large inputs that must not overflow

    placed = {}  # start every existing gradient attribute at zero, so `+=` works too
    for param, names in gradient_attrs.items():
        for attr in names:
            if hasattr(layer, attr):
                placed[attr] = np.zeros(np.shape(params[param]))
                setattr(layer, attr, placed[attr])
    dout = case["dout"]
    given_dout = _copy(dout)
    returned = _call(f"{name}.backward", where, layer.backward, given_dout)
    if not np.array_equal(given_dout, dout):  # the book's Relu does this: worth knowing, not wrong
        print(f"Note: {name}.backward changed dout in place; another layer sharing that array would see it.")

    differentiable = case["differentiable"]
    labels = ", ".join(f"d{a}" for a in differentiable)
    if len(differentiable) == 1:
        returned = (returned,)
    elif not isinstance(returned, (tuple, list)) or len(returned) != len(differentiable):
        raise AssertionError(f"{name}.backward must return {len(differentiable)} gradients, ({labels}) "
                             f"in that order, but it returned {_describe(returned)}{where}")
    checks = []  # (gradient's name, argument it belongs to, student's value, expected value)
    for arg, grad in zip(differentiable, returned):
        checks.append((f"d{arg}", arg, grad, case["grads"][f"d{arg}"]))
    for param, names in gradient_attrs.items():
        attr = _stored_gradient(layer, names, placed)
        if attr is None:
            raise AssertionError(f"{name}.backward did not store the gradient of {param}: set "
                                 f"self.{names[0]} (accepted names: {', '.join(names)}){where}")
        checks.append((attr, param, getattr(layer, attr), case["grads"][names[0]]))

    for label, arg, grad, expected_grad in checks:
        value = params[arg] if arg in params else inputs[arg]
        if grad is None:
            raise AssertionError(f"{name}.backward gave None for {label}: it must be an array "
                                 f"with the shape of {arg}{where}")
        if np.shape(grad) != np.shape(value):
            raise AssertionError(f"{name}.backward: {label} has {_shape_text(grad)} but {arg} has "
                                 f"{_shape_text(value)}{where}")
    for label, arg, grad, expected_grad in checks:
        value = params[arg] if arg in params else inputs[arg]
        numeric = numerical_gradient(lambda v, arg=arg: forward_with(arg, v), value, dout)
        error = relative_error(grad, numeric)
        if not error <= tol["gradient"]:
            raise AssertionError(f"{name}.backward: {label} does not match the numerical gradient of your "
                                 f"forward (relative error {error:.1e}, allowed {tol['gradient']:.0e}): "
                                 f"check the local derivative with respect to {arg}{where}")
        error = relative_error(grad, expected_grad)
        if not error <= tol["reference"]:
            raise AssertionError(f"{name}.backward: {label} differs from the expected gradient (relative "
                                 f"error {error:.1e}, allowed {tol['reference']:.0e}){where}")


def check_results(example, namespace, expected, layers, tolerance):
    """Compare an example's results, left as variables by its cell, with the expected numbers."""
    for variable, value in expected.items():
        if variable not in namespace:
            raise AssertionError(
                f"{example}: {variable} was never computed: run the example cell above. If it stopped "
                f"with an error, a layer it uses ({', '.join(layers)}) is not implemented yet or fails "
                f"its own check.")
        error = relative_error(namespace[variable], value)
        if not error <= tolerance:
            raise AssertionError(f"{example}: {variable} came out as {namespace[variable]!r} but it "
                                 f"should be {value!r}")
''')


def support_source(step: float) -> str:
    """The support cell's code, with the course's numerical step."""
    return SUPPORT_TEMPLATE.substitute(step=repr(float(step)))


# --- numbers as Python literals -------------------------------------------------------------

def _number(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"cannot embed a non-finite number ({value!r}) in a notebook")
    return repr(value)  # the shortest text that reads back as the same float64


def _nested(array: np.ndarray, indent: str) -> str:
    if array.ndim == 1:
        return "[" + ", ".join(_number(v) for v in array) + "]"
    inner = indent + " "
    rows = [_nested(row, inner) for row in array]
    return "[" + (",\n" + inner).join(rows) + "]"


def literal(value, indent: str = "") -> str:
    """Python source for a number or an array, exact to the last bit of float64."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        prefix = "np.array("
        return prefix + _nested(value, indent + " " * len(prefix)) + ")"
    value = np.asarray(value)
    if value.dtype.kind in "iu":
        return repr(int(value))
    return f"np.float64({_number(value)})"


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
    if case.scale != 1.0:
        parts.append(f"large values (scale {case.scale:g})")
    return ", ".join(parts)


def _mapping(items: dict, indent: str) -> str:
    if not items:
        return "{}"
    inner = indent + "    "
    lines = [f"{inner}{key!r}: {literal(value, inner + ' ' * (len(repr(key)) + 2))}," for key, value in items.items()]
    return "{\n" + "\n".join(lines) + "\n" + indent + "}"


def _case_literal(spec: LayerSpec, case: CaseSpec, rng: np.random.Generator) -> str:
    values = draw_case(spec, case, rng)
    out = reference_forward(spec, values)
    ind = " " * 12
    entries = [f"'about': {_describe_case(spec, case)!r}",
               f"'params': {_mapping(values.params, ind)}",
               f"'inputs': {_mapping(values.inputs, ind)}"]
    if getattr(case, "finite_only", False):
        entries.append(f"'out_shape': {tuple(out.shape)!r}")  # values are not compared here
    else:
        entries.append(f"'out': {literal(out, ind + ' ' * 7)}")
    if not case.forward_only:
        with_dout(values, spec, out.shape, rng)
        expected = reference_backward(spec, values)
        # A loss layer is the end of the graph: its backward is called as backward(1).
        dout = "1" if spec.loss else literal(values.dout, ind + " " * 8)
        entries += [f"'differentiable': {spec.diff_inputs!r}",
                    f"'dout': {dout}",
                    f"'grads': {_mapping(expected.grads, ind)}"]
    return "        {\n" + "".join(f"{ind}{entry},\n" for entry in entries) + "        }"


def layer_check_source(spec: LayerSpec, where: str) -> str:
    """The check cell for one layer: literal cases, expected numbers, one call to check_layer."""
    rng = np.random.default_rng(_seed(spec.name))
    try:
        cases = [_case_literal(spec, case, rng) for case in spec.cases]
    except ValueError as exc:
        raise CourseError(f"{where}.cases: {exc}") from None
    tolerance = spec.tolerance
    attrs = ", ".join(f"{p!r}: {tuple(names)!r}" for p, names in spec.grad_attrs.items())
    return (
        f"# Self-check for {spec.name}: run this cell after editing the class above.\n"
        f"# It compares your layer with known-good numbers, and your backward with numerical\n"
        f"# gradients of your own forward.\n"
        f"check_layer(\n"
        f"    {spec.name}, {spec.name!r},\n"
        f"    gradient_attrs={{{attrs}}},\n"
        f"    tolerance={{'forward': {tolerance.forward!r}, 'gradient': {tolerance.gradient!r}, "
        f"'reference': {tolerance.reference!r}}},\n"
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

"""The self-check support code that ships in every student notebook, as a real module.

The generator embeds this file's code (and the two numeric helpers it imports, as their source)
in the notebook's read-only support cell, so students run exactly what is tested here. It may use
nothing but numpy and the standard library.
"""
# Self-check support: the check cells after each layer call these functions.
# They need nothing but numpy, so you can also run the checks on your own machine.
import numpy as np

from .numeric import numerical_gradient, relative_error  # embedded as their source

NUMERICAL_STEP = 1e-5  # replaced by the course's numerical_step when embedded


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


def _stored_gradient(layer, names):
    """The attribute (any accepted name) backward stored a parameter gradient in; only read."""
    present = [name for name in names if getattr(layer, name, None) is not None]
    for name in present:
        if np.any(np.asarray(getattr(layer, name)) != 0):
            return name
    return present[0] if present else None


def check_layer(cls, name, cases, gradient_attrs, tolerance, sequence=()):
    """Run every case; raise AssertionError with a plain-words message at the first problem.

    Then use the layer as a network does: one instance through the cases listed in sequence
    (batch sizes that change, the same input twice), and one instance per case, all forward
    calls first and the backward calls in reverse order."""
    for case in cases:
        _check_case(cls, name, case, gradient_attrs, tolerance)
    if sequence:
        layer = _call(f"{name}(...)", "", cls, *[_copy(v) for v in cases[sequence[0]]["params"].values()])
        for step, index in enumerate(sequence):
            where = (f" (one instance called again and again, step {step + 1} of {len(sequence)}: "
                     f"{cases[index]['about']})")
            _forward_backward_values(layer, name, cases[index], gradient_attrs, tolerance, where)
    together = [case for case in cases if "grads" in case]
    layers = [_call(f"{name}(...)", "", cls, *[_copy(v) for v in case["params"].values()]) for case in together]
    outs = [_call(f"{name}.forward", " (several instances at once)", layer.forward,
                  *[_copy(v) for v in case["inputs"].values()]) for layer, case in zip(layers, together)]
    for layer, case, out in reversed(list(zip(layers, together, outs))):
        where = (f" (several instances at once: forward on all of them first, then backward; this one: "
                 f"{case['about']}): keep each instance's state on self, not on the class, in a default "
                 f"argument or in a global")
        _compare_values(name, "forward", out, case["out"], tolerance["forward"], where)
        _backward_values(layer, name, case, gradient_attrs, tolerance, where)


def _compare_values(name, what, got, expected, tol, where):
    if np.shape(got) != np.shape(expected):
        raise AssertionError(f"{name}.{what} gave {_shape_text(got)} instead of {_shape_text(expected)}{where}")
    error = relative_error(got, expected)
    if not error <= tol:
        raise AssertionError(f"{name}.{what} gave wrong values: relative error {error:.1e}{where}")


def _forward_backward_values(layer, name, case, gradient_attrs, tol, where):
    out = _call(f"{name}.forward", where, layer.forward, *[_copy(v) for v in case["inputs"].values()])
    _compare_values(name, "forward", out, case["out"], tol["forward"], where)
    if "grads" in case:
        _backward_values(layer, name, case, gradient_attrs, tol, where)


def _backward_values(layer, name, case, gradient_attrs, tol, where):
    returned = _call(f"{name}.backward", where, layer.backward, _copy(case["dout"]))
    differentiable = case["differentiable"]
    if len(differentiable) == 1:
        returned = (returned,)
    elif not isinstance(returned, (tuple, list)) or len(returned) != len(differentiable):
        raise AssertionError(f"{name}.backward must return {len(differentiable)} gradients, but it returned "
                             f"{_describe(returned)}{where}")
    for arg, grad in zip(differentiable, returned):
        _compare_values(name, f"backward (d{arg})", grad, case["grads"][f"d{arg}"], tol["reference"], where)
    for param, names in gradient_attrs.items():
        attr = _stored_gradient(layer, names)
        if attr is None:
            raise AssertionError(f"{name}.backward did not store the gradient of {param}{where}")
        _compare_values(name, f"backward (self.{attr})", getattr(layer, attr), case["grads"][names[0]],
                        tol["reference"], where)


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
    expected = case["out"]
    if out is None:
        raise AssertionError(f"{name}.forward returned None: it must return its output{where}")
    if np.shape(out) != np.shape(expected):
        raise AssertionError(f"{name}.forward returned {_shape_text(out)} but the output should have "
                             f"{_shape_text(expected)}{where}")
    if str(getattr(out, "dtype", "float64")) in ("float16", "float32"):
        raise AssertionError(f"{name}.forward returned {out.dtype}: compute in float64 (float32 keeps about "
                             f"7 digits, too few for gradient checks){where}")
    if not np.all(np.isfinite(np.asarray(out, dtype=np.float64))):
        raise AssertionError(f"{name}.forward returned nan or inf (is it numerically stable for large "
                             f"inputs?){where}")
    error = relative_error(out, expected)
    if not error <= tol["forward"]:
        raise AssertionError(f"{name}.forward returned wrong values: relative error {error:.1e} against "
                             f"the expected output (allowed: {tol['forward']:.0e}){where}")
    if "grads" not in case:
        return  # a forward-only case

    dout = case["dout"]
    given_dout = _copy(dout)
    # The first backward on a fresh instance, as written: gradient attributes are never pre-set,
    # so `self.dW += ...` works only where the layer itself sets dW to zero (e.g. in forward).
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
        attr = _stored_gradient(layer, names)
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
        if case.get("numerical", True):
            numeric = numerical_gradient(lambda v, arg=arg: forward_with(arg, v), value, dout, NUMERICAL_STEP)
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

"""Forward and backward tests of each configured case: values against the reference and against
numerical gradients of the student's own forward. Points are earned only for work done: a zero or
input-independent gradient, or agreement with a forward that ignores its input, earns nothing."""
from __future__ import annotations

import numpy as np

from autograder.kit.numeric import gradient_from_outputs, relative_error
from .plan import LayerPlan
from .verdict import (LOW_PRECISION, TestResult, case_label, finite_problem, low_precision_text, shape_text,
                      truncated_text, where_different)


def forward_tests(lp: LayerPlan, raw: dict, errors: dict, dtypes: dict) -> list[TestResult]:
    spec, tests = lp.spec, []
    tol = spec.tolerance.forward
    for index, values in enumerate(lp.cases):
        expected = lp.expected[index]
        want = expected if isinstance(expected, np.ndarray) else expected.out
        name = f"forward, {case_label(lp, index)}"
        key = f"c{index}/out"

        def result(fraction, message):
            tests.append(TestResult(spec.name, "forward", name, fraction, message, key=key))

        if key not in raw:
            result(0.0, f"forward raised an error: {errors.get(key, 'no result')}")
            continue
        got, dtype = raw[key], dtypes.get(key)
        if got.shape != want.shape:
            result(0.0, f"forward returned {shape_text(got.shape)}, but the output should have {shape_text(want.shape)}.")
            continue
        if dtype in LOW_PRECISION:
            result(0.0, low_precision_text("forward's output", dtype) + ".")
            continue
        problem = finite_problem(got, "the output")
        if problem:
            hint = " (the inputs of this case are large: is the computation numerically stable? np.exp " \
                   "overflows above about 709)" if values.spec.stress else ""
            result(0.0, f"{problem}{hint}.")
            continue
        err = relative_error(got, want)
        if err > tol:
            msg = f"forward values are wrong (relative error {err:.2g}); {where_different(got, want)}."
            if _truncated(dtype, want):
                msg += truncated_text(dtype)
            result(0.0, msg)
            continue
        result(1.0, "correct output values and shape.")
    return tests


def _truncated(dtype: str | None, want: np.ndarray) -> bool:
    """An integer result where the right answer is not a whole number: the dtype cut it off."""
    integer = dtype is not None and (dtype == "int" or dtype.startswith(("int", "uint")))
    return integer and bool(np.any(want != np.round(want)))


def constant_gradients(lp: LayerPlan, raw: dict) -> set[tuple[int, str]]:
    """(case, gradient) pairs where the student's gradient is the same for every draw of that shape
    while the reference's is not: a gradient that does not depend on the inputs was not computed."""
    flagged = set()
    spec = lp.spec
    for grad in spec.gradient_names:
        groups: dict[tuple, list] = {}
        for index, values in enumerate(lp.cases):
            got = raw.get(f"c{index}/grad/{grad}")
            if not values.spec.forward_only and got is not None:
                groups.setdefault(got.shape, []).append((index, got, lp.expected[index].grads[grad]))
        fresh = raw.get(f"state/fresh/{grad}")
        if fresh is not None:
            groups.setdefault(fresh.shape, []).append((None, fresh, lp.state_expected.grads[grad]))
        for members in groups.values():
            if len(members) < 2:
                continue
            first_got, first_want = members[0][1], members[0][2]
            if all(np.array_equal(m[1], first_got) for m in members) and \
                    not all(m[2].shape == first_want.shape and np.array_equal(m[2], first_want) for m in members):
                flagged |= {(m[0], grad) for m in members if m[0] is not None}
    return flagged


def backward_tests(lp: LayerPlan, raw: dict, errors: dict, dtypes: dict, h: float,
                   forward_calls: int = 0, constant: set | None = None) -> list[TestResult]:
    spec, tests = lp.spec, []
    constant = constant_gradients(lp, raw) if constant is None else constant
    numerical_backward = forward_calls >= 2
    for index, values in enumerate(lp.cases):
        if values.spec.forward_only:
            continue
        expected = lp.expected[index]
        forward_dtype = dtypes.get(f"c{index}/out")
        for grad in spec.gradient_names:
            target = spec.gradient_target(grad)
            target_value = values.params.get(target, values.inputs.get(target))
            name = f"backward {grad}, {case_label(lp, index)}"
            key = f"c{index}/grad/{grad}"

            def result(fraction, message):
                if numerical_backward:
                    fraction = min(fraction, spec.numerical_backward_credit)
                    message = (f"backward called forward {forward_calls} times: it differentiates numerically "
                               f"instead of applying the chain rule, which earns "
                               f"{'no' if fraction == 0 else f'{fraction:.0%} of the'} credit here. ({message})")
                tests.append(TestResult(spec.name, "backward", name, fraction, message, key=key))

            if key not in raw:
                reason = errors.get(f"c{index}/grads") or errors.get(f"c{index}/out") or "no result"
                result(0.0, f"backward failed: {reason}")
                continue
            got, want = raw[key], expected.grads[grad]
            if got.shape != want.shape:
                result(0.0, f"{grad} has {shape_text(got.shape)}, but {target} has "
                            f"{shape_text(np.shape(target_value))}: a gradient always has the shape of what it "
                            f"is the gradient of.")
                continue
            dtype = dtypes.get(key)
            if dtype in LOW_PRECISION:
                result(0.0, low_precision_text(grad, dtype) + ".")
                continue
            problem = finite_problem(got, grad)
            if problem:
                result(0.0, problem + (" (the inputs of this case are large: is backward numerically stable?)"
                                       if values.spec.stress else "") + ".")
                continue
            ref_err = relative_error(got, want)
            ref_ok = ref_err <= spec.tolerance.reference
            if not ref_ok and _truncated(dtype, want):
                result(0.0, f"{grad} is wrong: relative error {ref_err:.2g} against the expected gradient; "
                            f"{where_different(got, want)}." + truncated_text(dtype))
                continue
            if not np.any(got) and np.any(want):
                result(0.0, f"{grad} is zero everywhere, but the gradient is not: backward must compute it "
                            f"(a zero gradient earns nothing, whatever forward does).")
                continue
            if (index, grad) in constant:
                result(0.0, f"{grad} is the same for every input drawn, but the gradient depends on the "
                            f"inputs: backward must compute it from what forward stored and from dout.")
                continue
            if not values.spec.numerically_checked or forward_dtype in LOW_PRECISION:
                why = (f"your forward computes in {forward_dtype}, so only the expected values are compared"
                       if forward_dtype in LOW_PRECISION else "")
                if ref_ok:
                    result(1.0, f"{grad} is correct (matches the expected values{'; ' + why if why else ''}).")
                else:
                    result(0.0, f"{grad} is wrong: relative error {ref_err:.2g} against the expected gradient; "
                                f"{where_different(got, want)}" + (f" ({why})" if why else "") + ".")
                continue
            num_ok, num_text, numeric_moves = _numerical(lp, raw, errors, index, target, target_value, got, h)
            if ref_ok and num_ok:
                result(1.0, f"{grad} is correct (matches the numerical gradient and the expected values).")
            elif ref_ok:
                result(0.5, f"{grad} matches the expected gradient, but not the numerical gradient of your own "
                            f"forward ({num_text}): forward and backward disagree.")
            elif num_ok and numeric_moves:
                result(0.5, f"{grad} is consistent with your forward ({num_text}) but differs from the expected "
                            f"gradient (relative error {ref_err:.2g}; {where_different(got, want)}): your forward "
                            f"computes something else.")
            elif num_ok:
                result(0.0, f"{grad} is wrong: relative error {ref_err:.2g} against the expected gradient; "
                            f"{where_different(got, want)}. Your forward does not change when {target} moves, "
                            f"so agreeing with its numerical gradient (zero) shows nothing.")
            else:
                result(0.0, f"{grad} is wrong: relative error {ref_err:.2g} against the expected gradient; "
                            f"{where_different(got, want)}; {num_text}.")
    return tests


def _numerical(lp, raw, errors, index, target, target_value, got, h):
    """(agrees, text, numerical gradient not identically zero) for one gradient of one case."""
    spec, values = lp.spec, lp.cases[index]
    num_key = f"c{index}/num/{target}"
    directions = lp.directions.get(index, {}).get(target)
    steps = len(directions) if directions is not None else np.size(target_value)
    if num_key not in raw or raw[num_key].shape[0] != steps or not _fits_dout(raw[num_key], values.dout):
        why = "forward failed on slightly moved inputs" if num_key not in raw or raw[num_key].shape[0] != steps \
            else f"forward's outputs ({shape_text(raw[num_key].shape[2:])}) do not fit dout " \
                 f"({shape_text(np.shape(values.dout))})"
        return False, "the numerical gradient could not be computed: " + errors.get(num_key, why), False
    if directions is None:
        numeric = gradient_from_outputs(raw[num_key], values.dout, h, np.shape(target_value))
        err = relative_error(got, numeric)
        what = "numerical gradient"
    else:  # grad . v against the derivative along v, for each direction v
        numeric = gradient_from_outputs(raw[num_key], values.dout, h, (steps,))
        err = relative_error(directions.reshape(steps, -1) @ got.ravel(), numeric)
        what = "numerical derivatives along random directions"
    return err <= spec.tolerance.gradient, f"{what} of your forward: relative error {err:.2g}", bool(np.any(numeric))


def _fits_dout(outputs: np.ndarray, dout) -> bool:
    """Can the outputs at moved inputs be weighted by dout? Not if forward's shape is wrong."""
    return outputs.ndim >= 2 and outputs.shape[1] == 2 and (outputs.shape[2:] == np.shape(dout) or np.ndim(dout) == 0)


def degenerate_gradients(lp: LayerPlan, raw: dict, constant: set) -> set[str]:
    """Gradients backward does not really compute: zero in every case where the reference's is not,
    or the same whatever the input (constant: from constant_gradients)."""
    out = set()
    for grad in lp.spec.gradient_names:
        seen = [(raw.get(f"c{i}/grad/{grad}"), lp.expected[i].grads[grad]) for i, v in enumerate(lp.cases)
                if not v.spec.forward_only]
        seen = [(g, w) for g, w in seen if g is not None and np.any(w)]
        if (seen and all(not np.any(g) for g, _ in seen)) or any(k[1] == grad for k in constant):
            out.add(grad)
    return out

"""Verdicts: the raw numbers a submission's layer produced, judged against the reference.

Pure functions of (plan, raw arrays): nothing here runs student code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder.course.layerspec import LayerSpec
from autograder.kit.numeric import gradient_from_outputs, relative_error
from .plan import LayerPlan

MISTAKE_MATCH = 1e-6


@dataclass
class TestResult:
    layer: str
    category: str          # forward, backward or hygiene
    name: str
    fraction: float        # share of the test's points earned, 0..1
    message: str
    misconception: dict | None = None

    @property
    def passed(self) -> bool:
        return self.fraction >= 1.0


@dataclass
class LayerVerdict:
    layer: str
    found_as: str | None
    tests: list[TestResult]
    notes: list[str]


def _shape(shape) -> str:
    shape = tuple(shape)
    return "a scalar" if shape == () else f"shape {shape}"


_CASE_LABELS: dict[int, str] = {}


def _case_label(lp: LayerPlan, index: int) -> str:
    """'case 2 (x (2, 2, 2, 2), W (8, 3), b (3,))': fixed by the configured case, so computed once."""
    key = id(lp.spec.cases[index])
    if key not in _CASE_LABELS:
        _CASE_LABELS[key] = _describe_case(lp, index)
    return _CASE_LABELS[key]


def _describe_case(lp: LayerPlan, index: int) -> str:
    values = lp.cases[index]
    parts = [f"{name} {tuple(np.shape(v))}" if np.ndim(v) else f"{name} scalar"
             for name, v in {**values.inputs, **values.params}.items() if name not in lp.spec.labels]
    parts += [f"{name} {values.spec.labels[name]} labels" for name in lp.spec.labels]
    if values.spec.scale != 1.0:
        parts.append(f"inputs scaled by {values.spec.scale:g}")
    return f"case {index + 1} ({', '.join(parts)})"


def _where_worst(got: np.ndarray, want: np.ndarray) -> str:
    if got.ndim == 0:
        return f"expected {want.item():.6g}, got {got.item():.6g}"
    diff = np.abs(got - want)
    diff = np.where(np.isnan(diff), np.inf, diff)
    index = np.unravel_index(int(np.argmax(diff)), got.shape)
    return (f"the largest difference is at index {tuple(int(i) for i in index)}: "
            f"expected {want[index]:.6g}, got {got[index]:.6g}")


def _finite_problem(value: np.ndarray, what: str) -> str | None:
    if np.all(np.isfinite(value)):
        return None
    bad = int(np.sum(~np.isfinite(value)))
    return f"{what} contains {bad} NaN or infinite value{'s' if bad > 1 else ''}"


def _matches(got: np.ndarray, want: np.ndarray) -> bool:
    if want.shape != got.shape:
        return False
    if not np.all(np.isfinite(want)):
        return not np.all(np.isfinite(got))
    return bool(np.all(np.isfinite(got))) and relative_error(got, want) <= MISTAKE_MATCH


def match_mistake(spec: LayerSpec, key: str, seen: dict[str, np.ndarray], namespace) -> dict | None:
    """The catalog entry whose wrong formula reproduces what the student got, if any.

    seen holds every value the student produced in the case (out, dx, dW ...). An entry
    matches when each value it predicts is one the student produced; among those, the
    entry explaining the most values wins (a sign on the wrong input also flips dx).
    """
    best, best_count = None, 0
    for mistake in spec.mistakes:
        try:
            with np.errstate(all="ignore"):
                predicted = mistake.predict(namespace)
            if key not in predicted:
                continue
            wants = {k: np.asarray(v, dtype=np.float64) for k, v in predicted.items()}
        except Exception:  # a prediction that does not apply to these shapes simply does not match
            continue
        checked = [k for k in wants if k in seen]
        if all(_matches(seen[k], wants[k]) for k in checked) and len(checked) > best_count:
            best, best_count = mistake, len(checked)
    return {"name": best.name, "explanation": best.explanation} if best else None


class _lazy_mistake:
    """Matching the catalog costs time; only failing tests ever ask for it."""

    def __init__(self, spec, key, raw, index, values, out):
        self.args = (spec, key, raw, index, values, out)

    def resolve(self) -> dict | None:
        spec, key, raw, index, values, out = self.args
        return match_mistake(spec, key, _seen(raw, index, spec), values.namespace(out=out))


def _seen(raw: dict, index: int, spec: LayerSpec) -> dict[str, np.ndarray]:
    keys = {"out": f"c{index}/out", **{g: f"c{index}/grad/{g}" for g in spec.gradient_names}}
    return {name: raw[key] for name, key in keys.items() if key in raw}


def _forward_tests(lp: LayerPlan, raw: dict, errors: dict) -> list[TestResult]:
    spec, tests = lp.spec, []
    tol = spec.tolerance.forward
    for index, values in enumerate(lp.cases):
        expected = lp.expected[index]
        want = expected if isinstance(expected, np.ndarray) else expected.out
        name = f"forward, {_case_label(lp, index)}"
        key = f"c{index}/out"
        if key not in raw:
            tests.append(TestResult(spec.name, "forward", name, 0.0,
                                    f"forward raised an error: {errors.get(key, 'no result')}"))
            continue
        got = raw[key]
        mistake = _lazy_mistake(spec, "out", raw, index, values, want)
        if got.shape != want.shape:
            msg = f"forward returned {_shape(got.shape)}, but the output should have {_shape(want.shape)}"
            tests.append(TestResult(spec.name, "forward", name, 0.0, msg + ".", mistake))
            continue
        problem = _finite_problem(got, "the output")
        if problem and np.all(np.isfinite(want)):
            hint = " (the inputs of this case are large: is the computation numerically stable?)" \
                if values.spec.scale > 1 else ""
            tests.append(TestResult(spec.name, "forward", name, 0.0, f"{problem}{hint}.", mistake))
            continue
        if values.spec.finite_only:
            tests.append(TestResult(spec.name, "forward", name, 0.0 if problem else 1.0,
                                    f"{problem}." if problem else "finite output of the right shape.", mistake))
            continue
        err = relative_error(got, want)
        if err > tol:
            msg = f"forward values are wrong (relative error {err:.2g}); {_where_worst(got, want)}."
            tests.append(TestResult(spec.name, "forward", name, 0.0, msg, mistake))
            continue
        tests.append(TestResult(spec.name, "forward", name, 1.0, "correct output values and shape."))
    return tests


def _backward_tests(lp: LayerPlan, raw: dict, errors: dict, h: float) -> list[TestResult]:
    spec, tests = lp.spec, []
    for index, values in enumerate(lp.cases):
        if values.spec.forward_only:
            continue
        expected = lp.expected[index]
        for grad in spec.gradient_names:
            target = spec.gradient_target(grad)
            target_value = values.params.get(target, values.inputs.get(target))
            name = f"backward {grad}, {_case_label(lp, index)}"
            key = f"c{index}/grad/{grad}"
            if key not in raw:
                reason = errors.get(f"c{index}/grads") or errors.get(f"c{index}/out") or "no result"
                tests.append(TestResult(spec.name, "backward", name, 0.0, f"backward failed: {reason}"))
                continue
            got = raw[key]
            want = expected.grads[grad]
            mistake = _lazy_mistake(spec, grad, raw, index, values, expected.out)
            if got.shape != want.shape:
                msg = (f"{grad} has {_shape(got.shape)}, but {target} has {_shape(np.shape(target_value))}: "
                       f"a gradient always has the shape of what it is the gradient of.")
                tests.append(TestResult(spec.name, "backward", name, 0.0, msg, mistake))
                continue
            problem = _finite_problem(got, grad)
            if problem:
                tests.append(TestResult(spec.name, "backward", name, 0.0, problem + ".", mistake))
                continue
            ref_err = relative_error(got, want)
            ref_ok = ref_err <= spec.tolerance.reference
            num_key = f"c{index}/num/{target}"
            directions = lp.directions.get(index, {}).get(target)
            steps = len(directions) if directions is not None else np.size(target_value)
            fits = num_key in raw and raw[num_key].shape[0] == steps and _fits_dout(raw[num_key], values.dout)
            if fits:
                if directions is None:
                    numeric = gradient_from_outputs(raw[num_key], values.dout, h, np.shape(target_value))
                    num_err = relative_error(got, numeric)
                    what = "numerical gradient"
                else:  # grad . v against the derivative along v, for each direction v
                    numeric = gradient_from_outputs(raw[num_key], values.dout, h, (steps,))
                    num_err = relative_error(directions.reshape(steps, -1) @ got.ravel(), numeric)
                    what = "numerical derivatives along random directions"
                num_ok = num_err <= spec.tolerance.gradient
                num_text = f"{what} of your forward: relative error {num_err:.2g}"
            else:
                num_ok = False
                why = "forward failed on slightly moved inputs" if num_key not in raw else \
                    f"forward's outputs ({_shape(raw[num_key].shape[2:])}) do not fit dout ({_shape(np.shape(values.dout))})"
                num_text = "the numerical gradient could not be computed: " + errors.get(num_key, why)
            if ref_ok and num_ok:
                tests.append(TestResult(spec.name, "backward", name, 1.0,
                                        f"{grad} is correct (matches the numerical gradient and the expected values)."))
            elif ref_ok:
                tests.append(TestResult(spec.name, "backward", name, 0.5,
                                        f"{grad} matches the expected gradient, but not the numerical gradient of "
                                        f"your own forward ({num_text}): forward and backward disagree."))
            elif num_ok:
                tests.append(TestResult(spec.name, "backward", name, 0.5,
                                        f"{grad} is consistent with your forward ({num_text}) but differs from the "
                                        f"expected gradient (relative error {ref_err:.2g}; {_where_worst(got, want)}): "
                                        f"your forward computes something else.", mistake))
            else:
                tests.append(TestResult(spec.name, "backward", name, 0.0,
                                        f"{grad} is wrong: relative error {ref_err:.2g} against the expected gradient; "
                                        f"{_where_worst(got, want)}; {num_text}.", mistake))
    return tests


def _fits_dout(outputs: np.ndarray, dout) -> bool:
    """Can the outputs at moved inputs be weighted by dout? Not if forward's shape is wrong."""
    return outputs.ndim >= 2 and outputs.shape[1] == 2 and (outputs.shape[2:] == np.shape(dout) or np.ndim(dout) == 0)


def _same_grads(raw: dict, prefix: str, spec: LayerSpec) -> tuple[bool, str]:
    """Do the gradients under prefix equal those of a fresh instance on the same input?

    Compared with the submission's own fresh result, not the reference, so that a wrong
    formula is not penalised twice: these tests are about state, not about the formula.
    """
    for grad in spec.gradient_names:
        got = raw.get(f"{prefix}/{grad}")
        fresh = raw.get(f"state/fresh/{grad}")
        if fresh is None:
            return False, "backward failed on a fresh layer"
        if got is None:
            return False, "backward failed"
        if got.shape != fresh.shape or relative_error(got, fresh) > spec.tolerance.reference:
            return False, f"{grad} differed from what a fresh layer computes for the same input"
    return True, ""


def _hygiene_tests(lp: LayerPlan, raw: dict, errors: dict) -> list[TestResult]:
    spec, tests = lp.spec, []
    changed = []
    for index, values in enumerate(lp.cases):
        for arg, given in values.inputs.items():
            after = raw.get(f"c{index}/after/{arg}")
            if after is not None and (after.shape != np.shape(given) or
                                      not np.array_equal(after, np.asarray(given, dtype=np.float64))):
                changed.append(arg)
    ran = any(k.startswith("c") and "/after/" in k for k in raw)
    if not ran:
        tests.append(TestResult(spec.name, "hygiene", "forward leaves its inputs unchanged", 0.0,
                                "forward never completed, so this could not be checked."))
    elif changed:
        arg = changed[0]
        tests.append(TestResult(spec.name, "hygiene", "forward leaves its inputs unchanged", 0.0,
                                f"forward changed its input {arg} in place (e.g. `{arg}[mask] = 0`): the caller's "
                                f"array is damaged; work on a copy ({arg}.copy()) or use np.where / np.maximum."))
    else:
        tests.append(TestResult(spec.name, "hygiene", "forward leaves its inputs unchanged", 1.0,
                                "forward did not modify its inputs."))
    for prefix, name, good, bad in STATE_TESTS:
        ok, why = _same_grads(raw, prefix, spec)
        message = good if ok else bad.format(reason=errors.get(prefix, why))
        tests.append(TestResult(spec.name, "hygiene", name, 1.0 if ok else 0.0, message))
    return tests


# (probe, test name, message when passed, message when failed): backward must depend on the
# latest forward only, and must not disturb what forward stored.
STATE_TESTS = (
    ("state/latest", "backward follows the latest forward",
     "after two forward calls, backward used the second input.",
     "after forward(a) then forward(b), backward must give the gradients at b: {reason}. "
     "Store what backward needs on every forward call."),
    ("state/repeat", "backward can be called twice",
     "a second backward gave the same gradients.",
     "calling backward a second time gave different results: {reason}. backward must not change what "
     "forward stored (e.g. modify self.y without .copy())."),
)


def _label_format_diagnosis(lp: LayerPlan, tests: list[TestResult]) -> None:
    """One label format passes and the other fails: a mistake no single-case formula can name."""
    if not lp.spec.labels:
        return
    by_format: dict[str, list[TestResult]] = {}
    for test in tests:
        if test.category != "backward":
            continue
        index = int(test.name.split("case ")[1].split(" ")[0]) - 1
        fmt = lp.cases[index].spec.labels[lp.spec.labels[0]]
        by_format.setdefault(fmt, []).append(test)
    onehot, index_tests = by_format.get("onehot", []), by_format.get("index", [])
    if onehot and index_tests and all(t.passed for t in onehot) and not any(t.passed for t in index_tests):
        for test in index_tests:
            test.misconception = test.misconception or {
                "name": "one-hot labels only",
                "explanation": "backward works when t is one-hot but not when t holds class indices: "
                               "(y - t) / N needs one-hot t. For index labels, copy y and subtract 1 at "
                               "[np.arange(N), t] (or convert t to one-hot in forward)."}


def judge_layer(lp: LayerPlan, meta: dict | None, raw: dict, h: float) -> LayerVerdict:
    spec = lp.spec
    if meta is None or meta.get("missing"):
        names = ", ".join([spec.name, *spec.aliases[:3]])
        msg = f"no class named {names} (or another accepted name) was found in the submission."
        tests = [TestResult(spec.name, t.category, t.name, 0.0, msg)
                 for t in _placeholder_tests(lp)]
        return LayerVerdict(spec.name, None, tests, [])
    found_as = meta.get("found_as")
    for fatal_key, text in (("timeout", "the tests of this layer took longer than {v:g} s and were stopped "
                                        "(an endless loop in forward or backward?)"),
                            ("fatal", "{v}")):
        if fatal_key in meta:
            msg = text.format(v=meta[fatal_key])
            tests = [TestResult(spec.name, t.category, t.name, 0.0, msg) for t in _placeholder_tests(lp)]
            return LayerVerdict(spec.name, found_as, tests, [])
    errors = {k: str(v) for k, v in (meta.get("errors") or {}).items()}
    tests = _forward_tests(lp, raw, errors) + _backward_tests(lp, raw, errors, h) + _hygiene_tests(lp, raw, errors)
    for test in tests:
        if isinstance(test.misconception, _lazy_mistake):
            test.misconception = None if test.passed else test.misconception.resolve()
    _label_format_diagnosis(lp, tests)
    notes = [str(n) for n in meta.get("notes", [])][:5]
    found_attrs = meta.get("found_attrs") or {}
    for param, attr in found_attrs.items():
        if attr != spec.grad_attrs[param][0]:
            notes.append(f"the gradient of {param} was read from self.{attr}")
    return LayerVerdict(spec.name, found_as, tests, notes)


def _placeholder_tests(lp: LayerPlan) -> list[TestResult]:
    """The full list of tests a layer has, all failed: a missing or broken layer scores 0 on each."""
    empty_errors: dict = {}
    return _forward_tests(lp, {}, empty_errors) + _backward_tests(lp, {}, empty_errors, 1.0) + \
        _hygiene_tests(lp, {}, empty_errors)

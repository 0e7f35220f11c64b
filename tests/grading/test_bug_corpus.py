"""The held-out corpus in tests/data/ is labelled right.

Every variant marked correct must agree with the reference layer on forward values and on every
gradient; every variant marked buggy must disagree (or raise) on at least one configured case;
the catalog names the corpus uses must exist, and every catalogued Mistake must have an entry.
The layers run the way a network drives them, independently of the grader's own probes: Python
numbers for scalars and integers where a case asks for them, gradient attributes only read,
(forward, backward) twice on one instance, two instances interleaved and one instance through
several batch sizes.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT

from autograder.course.cases import copy_value, draw_case, with_dout
from autograder.kit.numeric import relative_error
from autograder.course.reference import reference_backward, reference_forward
from source_layers.functions import cross_entropy_error, softmax

TOLERANCE = 1e-7
SEEDS = (0, 1)
CORPUS_FILE = ROOT / "tests" / "data" / "bug_corpus.py"


def _load_corpus():
    spec = importlib.util.spec_from_file_location("bug_corpus", CORPUS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


CASES = _load_corpus()
CORRECT = [c for c in CASES if c["correct"]]
BUGGY = [c for c in CASES if not c["correct"]]


class Failure(Exception):
    """The student's layer raised; carries what it was doing."""


def student_class(code: str, spec):
    """Exec the source as a notebook would and find the class by name or alias, any case."""
    namespace = {"np": np, "softmax": softmax, "cross_entropy_error": cross_entropy_error}
    exec(compile(code, "<student>", "exec"), namespace)
    wanted = {name.lower() for name in spec.all_names()}
    found = [v for k, v in namespace.items() if isinstance(v, type) and k.lower() in wanted]
    assert len(found) == 1, f"expected one class named like {spec.name}, found {found}"
    return found[0]


def _param_gradient(layer, spec, param):
    for attr in spec.grad_attrs[param]:
        value = getattr(layer, attr, None)
        if value is not None:
            return value
    return None


def _as_passed(value, ints: bool, label: bool = False):
    """What a caller passes: Python numbers for scalars, integer arrays for integer cases."""
    if label or not isinstance(value, (np.ndarray, np.floating)):
        return copy_value(value)
    if np.ndim(value) == 0:
        return int(value) if ints else float(value)
    return value.astype(np.int64) if ints else value.copy()


def _args(spec, values):
    ints = values.spec.ints
    params = [_as_passed(values.params[p], ints) for p in spec.params]
    inputs = [_as_passed(values.inputs[a], ints, a in spec.labels) for a in spec.inputs]
    return params, inputs


def _step(layer, spec, values, given=None):
    """forward then backward on layer; results keyed like Mistake predictions."""
    results = {"out": layer.forward(*(given if given is not None else _args(spec, values)[1]))}
    if not values.spec.forward_only:
        results.update(_backward_only(layer, spec, values))
    return results


def run_student(cls, spec, values):
    with np.errstate(all="ignore"):  # overflow in an unstable softmax is a finding, not noise
        return _run_student(cls, spec, values)


def _run_student(cls, spec, values):
    """Results of a fresh instance, plus problems found. Raises Failure if the layer raises."""
    problems = []
    calls = []

    class Counting(cls):
        """Counts forward calls, to see a backward that differentiates numerically."""
        def forward(self, *args):
            calls.append(1)
            return super().forward(*args)

    try:
        params, _ = _args(spec, values)
        layer = Counting(*params)
        _, given = _args(spec, values)
        results = _step(layer, spec, values, given)
        for name, value in results.items():
            if getattr(value, "dtype", None) in (np.float16, np.float32):
                problems.append(f"{name} is {value.dtype}, not float64")
        if len(calls) > 2:  # ours, and more than one more: backward calls forward to differentiate
            problems.append(f"backward called forward {len(calls) - 1} times")
        for a, arg in zip(spec.inputs, given):
            if not np.array_equal(arg, values.inputs[a]):
                problems.append(f"forward modified its input {a}")
        if not values.spec.forward_only:
            again = _step(layer, spec, values)
            for name, value in again.items():
                if not same(value, results[name], TOLERANCE if name != "out" else spec.tolerance.forward):
                    problems.append(f"a second forward and backward changed {name}")
    except Failure:
        raise
    except Exception as exc:  # noqa: BLE001 - any exception is a finding about the student code
        raise Failure(f"{type(exc).__name__}: {exc}") from exc
    return results, problems


def state_differences(cls, spec, rng) -> list[str]:
    """Two instances interleaved, and one instance through several batch sizes."""
    from autograder.grading.plan import batch_sizes

    base = spec.cases[spec.state_case]
    found = []
    draws = []
    for _ in range(2):
        values = draw_case(spec, base, rng)
        with_dout(values, spec, reference_forward(spec, values).shape, rng)
        draws.append((values, reference_backward(spec, values)))
    try:
        with np.errstate(all="ignore"):
            a, b = (cls(*_args(spec, v)[0]) for v, _ in draws)
            out_a = a.forward(*_args(spec, draws[0][0])[1])
            out_b = b.forward(*_args(spec, draws[1][0])[1])
            grads_b = _backward_only(b, spec, draws[1][0])
            grads_a = _backward_only(a, spec, draws[0][0])
        for (values, want), out, grads in ((draws[0], out_a, grads_a), (draws[1], out_b, grads_b)):
            for name, value in {"out": out, **grads}.items():
                target = want.out if name == "out" else want.grads[name]
                if not same(value, target, spec.tolerance.forward if name == "out" else TOLERANCE):
                    found.append(f"two instances interleaved: {name} differs")
    except Exception as exc:  # noqa: BLE001
        found.append(f"two instances interleaved raised {type(exc).__name__}: {exc}")
    sizes = batch_sizes(spec)
    if not sizes:
        return found
    params = draws[0][0].params
    try:
        layer = cls(*_args(spec, draws[0][0])[0])
        for n in sizes:
            values = draw_case(spec, base.resized(spec.batch, n), rng)
            values.params = params
            with_dout(values, spec, reference_forward(spec, values).shape, rng)
            want = reference_backward(spec, values)
            with np.errstate(all="ignore"):
                got = _step(layer, spec, values)
            for name, value in got.items():
                target = want.out if name == "out" else want.grads[name]
                if not same(value, target, spec.tolerance.forward if name == "out" else TOLERANCE):
                    found.append(f"batch of {n} on one instance: {name} differs")
    except Exception as exc:  # noqa: BLE001
        found.append(f"batch sizes {sizes} on one instance raised {type(exc).__name__}: {exc}")
    return found


def _backward_only(layer, spec, values):
    dout = 1 if spec.loss else _as_passed(values.dout, values.spec.ints)
    returned = layer.backward(dout)
    if len(spec.diff_inputs) == 1:
        returned = (returned,)
    elif not isinstance(returned, (tuple, list)) or len(returned) != len(spec.diff_inputs):
        raise Failure(f"backward returned {type(returned).__name__}, not {len(spec.diff_inputs)} gradients")
    grads = {f"d{a}": copy_value(g) for a, g in zip(spec.diff_inputs, returned)}
    for param in spec.params:
        grads[spec.grad_attrs[param][0]] = copy_value(_param_gradient(layer, spec, param))
    return grads


def same(actual, expected, tolerance=TOLERANCE) -> bool:
    if actual is None:
        return False
    try:
        a = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    b = np.asarray(expected, dtype=np.float64)
    if a.shape != b.shape:
        return False
    return bool(relative_error(a, b) < tolerance)


def iter_cases(spec):
    """(values, expected out, expected gradients or None) for every configured case and seed."""
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for case in spec.cases:
            values = draw_case(spec, case, rng)
            out = reference_forward(spec, values)
            if case.forward_only:
                yield values, out, None
                continue
            with_dout(values, spec, out.shape, rng)
            yield values, out, reference_backward(spec, values).grads


def differences(entry, spec) -> list[str]:
    """Everything in which the entry differs from the reference, over all cases and seeds."""
    cls = student_class(entry["code"], spec)
    found = []
    for values, out, grads in iter_cases(spec):
        shapes = {a: np.shape(v) for a, v in values.inputs.items()}
        try:
            results, problems = run_student(cls, spec, values)
        except Failure as exc:
            found.append(f"{shapes}: {exc}")
            continue
        found += [f"{shapes}: {p}" for p in problems]
        expected = {"out": out, **(grads or {})}
        for name, value in expected.items():
            if not same(results.get(name), value, spec.tolerance.forward if name == "out" else TOLERANCE):
                found.append(f"{shapes}: {name} differs from the reference")
    for seed in SEEDS:
        found += state_differences(cls, spec, np.random.default_rng(1000 + seed))
    return found


def test_corpus_is_big_enough_and_well_formed(specs):
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CORRECT) >= 20 and len(BUGGY) >= 30
    assert {c["layer"] for c in CORRECT} == set(specs)
    for entry in CASES:
        assert entry["layer"] in specs
        assert entry["code"].strip()
        assert not (entry["correct"] and entry["mistake"])


def _known_issue(entry):
    marks = [pytest.mark.xfail(reason=entry["known_issue"], strict=True)] if entry["known_issue"] else []
    return pytest.param(entry, id=entry["id"], marks=marks)


@pytest.mark.parametrize("entry", [_known_issue(c) for c in CORRECT])
def test_correct_variant_agrees_with_reference(specs, entry):
    assert differences(entry, specs[entry["layer"]]) == []


@pytest.mark.parametrize("entry", BUGGY, ids=[c["id"] for c in BUGGY])
def test_buggy_variant_differs_from_reference(specs, entry):
    assert differences(entry, specs[entry["layer"]]), f"{entry['id']} behaves exactly like the reference"


def test_mistake_names_exist_in_catalog(specs):
    for entry in CASES:
        if entry["mistake"] is not None:
            names = [m.name for m in specs[entry["layer"]].mistakes]
            assert entry["mistake"] in names, (entry["id"], entry["mistake"], names)


def test_every_catalog_mistake_is_covered(specs):
    used = {(c["layer"], c["mistake"]) for c in BUGGY if c["mistake"]}
    missing = [(name, m.name) for name, spec in specs.items() for m in spec.mistakes
               if (name, m.name) not in used]
    assert not missing, f"catalog mistakes without a corpus entry: {missing}"




def _same_or_both_nan(actual, expected) -> bool:
    if actual is None:
        return False
    try:
        a = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    b = np.asarray(expected, dtype=np.float64)
    if a.shape != b.shape or not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    return same(np.nan_to_num(a, nan=0.0), np.nan_to_num(b, nan=0.0))


@pytest.mark.parametrize("entry", [c for c in BUGGY if c["mistake"]], ids=lambda c: c["id"])
def test_catalog_prediction_matches_the_buggy_code(specs, entry):
    """On every case where the buggy code differs from the reference, its own catalog entry (and
    no other) predicts every value: predicted keys as predicted, the others as the reference."""
    spec = specs[entry["layer"]]
    cls = student_class(entry["code"], spec)
    distinguishing = 0
    for values, out, grads in iter_cases(spec):
        try:
            results, _ = run_student(cls, spec, values)
        except Failure:
            continue
        expected = {"out": out, **(grads or {})}
        if all(_same_or_both_nan(results.get(k), v) for k, v in expected.items()):
            continue
        distinguishing += 1
        matching = []
        for mistake in spec.mistakes:
            try:
                predicted = mistake.predict(values.namespace(out=out))
            except ValueError:  # a shape error: the formula does not apply to this case
                continue
            want = {**expected, **{k: v for k, v in predicted.items() if k in expected}}
            if all(_same_or_both_nan(results.get(k), v) for k, v in want.items()):
                matching.append(mistake.name)
        assert matching == [entry["mistake"]], (values.spec, matching)
    assert distinguishing, "the buggy code never produced a wrong value it could be named from"

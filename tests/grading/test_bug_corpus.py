"""The held-out corpus in tests/data/ is labelled right.

Every variant marked correct must agree with the reference layer on forward values and on every
gradient; every variant marked buggy must disagree (or raise) on at least one configured case;
the catalog names the corpus uses must exist, and every catalogued Mistake must have an entry.
The layers run the way a grader drives them: fresh instance per case, copies of the inputs,
gradient attributes reset before each backward, backward called twice.
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


def _reset_gradients(layer, spec, values):
    for param in spec.params:
        for attr in spec.grad_attrs[param]:
            if getattr(layer, attr, None) is not None:
                setattr(layer, attr, np.zeros(np.shape(values.params[param])))


def _param_gradient(layer, spec, param):
    for attr in spec.grad_attrs[param]:
        value = getattr(layer, attr, None)
        if value is not None:
            return value
    return None


def run_student(cls, spec, values):
    with np.errstate(all="ignore"):  # overflow in an unstable softmax is a finding, not noise
        return _run_student(cls, spec, values)


def _run_student(cls, spec, values):
    """Results keyed like Mistake predictions ('out', 'dx', 'dW', ...), plus problems found.

    Backward runs twice on one forward; the first run's values are the results. Raises Failure
    if the layer raises.
    """
    results, problems = {}, []
    step = "__init__"
    try:
        layer = cls(*(copy_value(values.params[p]) for p in spec.params))
        step = "forward"
        given = {a: copy_value(values.inputs[a]) for a in spec.inputs}
        results["out"] = layer.forward(*(given[a] for a in spec.inputs))
        for a in spec.inputs:
            if not np.array_equal(given[a], values.inputs[a]):
                problems.append(f"forward modified its input {a}")
        if values.spec.forward_only:
            return results, problems
        for attempt in range(2):
            step = f"backward #{attempt + 1}"
            _reset_gradients(layer, spec, values)
            returned = layer.backward(copy_value(values.dout))
            if len(spec.diff_inputs) == 1:
                returned = (returned,)
            elif not isinstance(returned, (tuple, list)) or len(returned) != len(spec.diff_inputs):
                raise Failure(f"{step} returned {type(returned).__name__}, not {len(spec.diff_inputs)} gradients")
            grads = {f"d{a}": g for a, g in zip(spec.diff_inputs, returned)}
            for param in spec.params:
                grads[spec.grad_attrs[param][0]] = _param_gradient(layer, spec, param)
            if attempt == 0:
                results.update(grads)
                first = {k: copy_value(v) for k, v in grads.items()}
            else:
                for name, value in grads.items():
                    if not same(value, first[name]):
                        problems.append(f"a second backward changed {name}")
    except Failure:
        raise
    except Exception as exc:  # noqa: BLE001 - any exception is a finding about the student code
        raise Failure(f"{step} raised {type(exc).__name__}: {exc}") from exc
    return results, problems


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
        if values.spec.finite_only:  # huge logits: only a finite result of the right shape is asked for
            value = np.asarray(results.get("out"), dtype=np.float64)
            if value.shape != out.shape or not np.all(np.isfinite(value)):
                found.append(f"{shapes}: out is not a finite value of the right shape")
            continue
        for name, value in expected.items():
            if not same(results.get(name), value, spec.tolerance.forward if name == "out" else TOLERANCE):
                found.append(f"{shapes}: {name} differs from the reference")
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

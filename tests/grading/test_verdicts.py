"""The verdict functions on their own: pure functions of (plan, raw numbers), no sandbox needed."""
import shutil

import numpy as np
import pytest

from autograder.course.load import load_course
from autograder.errors import CourseError
from autograder.grading.checks import judge_layer
from autograder.grading.plan import plan_layer
from autograder.grading.verdict import pair_text, where_different
from autograder.kit.numeric import relative_error
from conftest import ROOT


def test_values_that_differ_past_the_sixth_digit_are_printed_with_the_digits_that_show_it():
    text = pair_text(0.52000001, 0.52000002)
    assert text.startswith("expected 0.52000001, got 0.52000002") and "relative difference 1.9e-08" in text
    assert pair_text(0.5, 0.75) == "expected 0.5, got 0.75"
    many = where_different(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.5]))
    assert many.startswith("2 of 3 entries differ") and "index (1,)" in many


def test_two_all_zero_gradients_agree():
    assert relative_error(np.zeros((3, 4)), np.zeros((3, 4))) == 0.0


def _reference_raw(lp):
    """What a correct layer would send: every value of every case, as the reference computes it."""
    raw = {}
    for index, (values, expected) in enumerate(zip(lp.cases, lp.expected)):
        raw[f"c{index}/out"] = expected if isinstance(expected, np.ndarray) else expected.out
        for name, value in ({} if isinstance(expected, np.ndarray) else expected.grads).items():
            raw[f"c{index}/grad/{name}"] = value
    return raw


def test_a_mistake_is_named_only_when_it_reproduces_every_case(specs):
    """Relu's 'mask never set' predicts an all-zero output: a student whose output is zero on one
    case but something else wrong on another did not make that mistake."""
    spec = specs["Relu"]
    lp = plan_layer(spec, np.random.default_rng(0))
    mistake = next(m for m in spec.mistakes if m.name == "mask never set in forward")
    raw = _reference_raw(lp)
    for key in raw:
        raw[key] = np.zeros_like(raw[key])
    named = {t.misconception["name"] for t in judge_layer(lp, {}, raw, 1e-5).tests if t.misconception}
    assert mistake.name in named
    raw["c1/out"] = -lp.expected[1].out  # wrong, but not in the way the entry predicts
    named = {t.misconception["name"] for t in judge_layer(lp, {}, raw, 1e-5).tests if t.misconception}
    assert mistake.name not in named


def test_an_exception_in_a_state_probe_is_reported_as_that_exception(specs):
    lp = plan_layer(specs["MulLayer"], np.random.default_rng(1))
    raw = _reference_raw(lp)
    errors = {"state/repeat": "AttributeError: 'MulLayer' object has no attribute 'x'"}
    tests = judge_layer(lp, {"errors": errors}, raw, 1e-5).tests
    repeat = next(t for t in tests if t.name == "forward and backward can be repeated")
    assert not repeat.passed and "AttributeError" in repeat.message and "different" not in repeat.message


def _course_with(tmp_path, old: str, new: str):
    shutil.copytree(ROOT / "source_layers", tmp_path / "source_layers")
    text = (ROOT / "course.yaml").read_text()
    assert old in text
    (tmp_path / "course.yaml").write_text(text.replace(old, new, 1))
    return tmp_path / "course.yaml"


@pytest.mark.parametrize("old, new, words", [
    ("    batch: {x: 0}\n    cases:\n      - {x: [4, 6]", "    batch: {W: 2}\n    cases:\n      - {x: [4, 6]",
     "'layers.Affine'.batch.W: axis 2 does not exist"),
    ("    batch: {x: 0}\n    cases:\n      - {x: [4, 6]", "    batch: {z: 0}\n    cases:\n      - {x: [4, 6]",
     "'layers.Affine'.batch: 'z' is not a non-label argument"),
    ("    batch: {x: 0}\n    cases:\n      - {x: [4, 6]",
     "    batch: {x: 0}\n    min_batch: 5\n    cases:\n      - {x: [4, 6]", "below min_batch 5"),
    ("{x: [3, 4], W: [4, 2], b: [2], ints: true}", "{x: [3, 4], W: [4, 2], b: [2], ints: yes please}",
     "ints: expected true or false"),
    ("magnitude: [750, 1200]", "magnitude: [1200, 750]", "magnitude: expected [low, high]"),
])
def test_course_yaml_battery_keys_are_checked(tmp_path, old, new, words):
    with pytest.raises(CourseError, match=None) as caught:
        load_course(_course_with(tmp_path, old, new))
    assert words in str(caught.value)


def test_the_reference_sigmoid_is_stable_where_the_battery_tests_it(specs):
    x = np.array([-1200.0, -750.0, 750.0, 1200.0])
    with np.errstate(over="raise", invalid="raise"):  # underflow to 0 is exact enough
        out = specs["Sigmoid"].cls().forward(x)
    assert np.array_equal(out, [0.0, 0.0, 1.0, 1.0])

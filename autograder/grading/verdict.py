"""What a verdict is made of (tests, their results) and the plain words every test uses."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder.kit.numeric import relative_error
from .plan import LayerPlan

LOW_PRECISION = ("float16", "float32", "bfloat16")


@dataclass
class TestResult:
    layer: str
    category: str          # forward, backward or hygiene
    name: str
    fraction: float        # share of the test's points earned, 0..1
    message: str
    misconception: dict | None = None
    key: str | None = None  # the value judged ('c0/out', 'c1/grad/dW'), for the diagnosis

    @property
    def passed(self) -> bool:
        return self.fraction >= 1.0


@dataclass
class LayerVerdict:
    layer: str
    found_as: str | None
    tests: list[TestResult]
    notes: list[str]


def shape_text(shape) -> str:
    shape = tuple(shape)
    return "a scalar" if shape == () else f"shape {shape}"


_CASE_LABELS: dict[int, str] = {}


def case_label(lp: LayerPlan, index: int) -> str:
    """'case 2 (x (2, 2, 2, 2), W (8, 3), b (3,))': fixed by the configured case, so computed once."""
    key = id(lp.spec.cases[index])
    if key not in _CASE_LABELS:
        _CASE_LABELS[key] = _describe_case(lp, index)
    return _CASE_LABELS[key]


def _describe_case(lp: LayerPlan, index: int) -> str:
    values, case = lp.cases[index], lp.spec.cases[index]
    parts = [f"{name} {tuple(np.shape(v))}" if np.ndim(v) else f"{name} scalar"
             for name, v in {**values.inputs, **values.params}.items() if name not in lp.spec.labels]
    parts += [f"{name} {case.labels[name]} labels" for name in lp.spec.labels]
    if case.ints:
        parts.append("Python ints" if all(np.ndim(v) == 0 for v in values.inputs.values()) else "integer arrays")
    if case.scale != 1.0:
        parts.append(f"inputs scaled by {case.scale:g}")
    if case.offset:
        parts.append(f"inputs offset by {case.offset:g}")
    if case.magnitude:
        parts.append(f"|inputs| from {case.magnitude[0]:g} to {case.magnitude[1]:g}")
    return f"case {index + 1} ({', '.join(parts)})"


def pair_text(want: float, got: float) -> str:
    """'expected 0.52, got 0.61', with as many digits as it takes to see that they differ."""
    for digits in range(6, 18):
        a, b = f"{want:.{digits}g}", f"{got:.{digits}g}"
        if a != b:
            break
    text = f"expected {a}, got {b}"
    if np.isfinite(want) and np.isfinite(got) and digits > 6:
        text += f" (relative difference {abs(got - want) / max(abs(want), abs(got)):.1e})"
    return text


def where_different(got: np.ndarray, want: np.ndarray) -> str:
    """How many entries differ and the largest difference, in digits that show it."""
    if got.ndim == 0:
        return pair_text(float(want), float(got))
    diff = np.abs(got - want)
    diff = np.where(np.isnan(diff), np.inf, diff)
    scale = float(np.max(np.abs(want[np.isfinite(want)]), initial=0.0)) or 1.0
    differing = int(np.sum(diff > 1e-9 * scale))
    index = np.unravel_index(int(np.argmax(diff)), got.shape)
    count = (f"{differing} of {got.size} entries differ" if differing > 1 else "1 entry differs") + "; " \
        if differing else ""
    return (f"{count}the largest difference is at index {tuple(int(i) for i in index)}: "
            f"{pair_text(float(want[index]), float(got[index]))}")


def finite_problem(value: np.ndarray, what: str) -> str | None:
    if np.all(np.isfinite(value)):
        return None
    bad = int(np.sum(~np.isfinite(value)))
    return f"{what} contains {bad} NaN or infinite value{'s' if bad > 1 else ''}"


def low_precision_text(what: str, dtype: str) -> str:
    return (f"{what} is {dtype}: {dtype} keeps about 7 significant digits, too few for gradient checks "
            f"(numerical gradients of a {dtype} forward are noise). Compute in float64, numpy's default: "
            f"do not convert with .astype({dtype}) or np.{dtype}(...)")


def truncated_text(dtype: str) -> str:
    return (f" The result is {dtype}: integer inputs (the book's forward(100, 2)) must still give exact "
            f"results, but integer arithmetic truncates: np.reciprocal and // on ints, or an array made with "
            f"np.zeros_like(x), np.empty_like(x) or x.copy() of an integer x, which keeps x's dtype. Use 1 / x, "
            f"np.zeros(x.shape), or compute the result directly.")


def same_values(got: np.ndarray | None, want: np.ndarray | None, tolerance: float) -> bool:
    if got is None or want is None or got.shape != want.shape:
        return False
    if np.array_equal(got, want):  # the common case for a state test: the same computation, bit for bit
        return True
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
        return bool(np.array_equal(got, want, equal_nan=True))
    return relative_error(got, want) <= tolerance

"""Naming the mistake: a catalog entry is named only when its wrong formula reproduces what the
student produced on every case where it applies; otherwise the test's message, which says which
entries differ and by how much, stands alone."""
from __future__ import annotations

import numpy as np

from autograder.kit.numeric import relative_error
from .plan import LayerPlan
from .verdict import TestResult

MISTAKE_MATCH = 1e-6


def _matches(got: np.ndarray, want: np.ndarray) -> bool:
    if want.shape != got.shape:
        return False
    if not np.all(np.isfinite(want)):
        return not np.all(np.isfinite(got))
    return bool(np.all(np.isfinite(got))) and relative_error(got, want) <= MISTAKE_MATCH


def _seen(raw: dict, index: int, names) -> dict[str, np.ndarray]:
    keys = {"out": f"c{index}/out", **{g: f"c{index}/grad/{g}" for g in names}}
    return {name: raw[key] for name, key in keys.items() if key in raw}


def _predictions(mistake, values, out) -> dict[str, np.ndarray] | None:
    try:
        with np.errstate(all="ignore"):
            predicted = mistake.predict(values.namespace(out=out))
        return {k: np.asarray(v, dtype=np.float64) for k, v in predicted.items()}
    except Exception:  # a prediction that does not apply to these shapes simply does not apply
        return None


def consistent_mistakes(lp: LayerPlan, raw: dict) -> dict[str, tuple[object, set[int], int]]:
    """name -> (mistake, cases where it applies, values it explains) for every catalog entry that
    reproduces the student's values on every case where it applies (and applies somewhere)."""
    spec = lp.spec
    found = {}
    for mistake in spec.mistakes:
        applies, explained, consistent = set(), 0, True
        for index, values in enumerate(lp.cases):
            expected = lp.expected[index]
            out = expected if isinstance(expected, np.ndarray) else expected.out
            predicted = _predictions(mistake, values, out)
            if predicted is None:
                continue
            seen = _seen(raw, index, spec.gradient_names)
            checked = [k for k in predicted if k in seen]
            if not checked:
                continue
            if not all(_matches(seen[k], predicted[k]) for k in checked):
                consistent = False
                break
            applies.add(index)
            explained += len(checked)
        if consistent and applies:
            found[mistake.name] = (mistake, applies, explained)
    return found


def name_mistakes(lp: LayerPlan, raw: dict, tests: list[TestResult]) -> None:
    """Attach the best consistent catalog entry to each failing forward or backward test it explains."""
    failing = [t for t in tests if not t.passed and t.key and t.category in ("forward", "backward")]
    if not failing or not lp.spec.mistakes:
        return
    candidates = consistent_mistakes(lp, raw)
    if not candidates:
        return
    for test in failing:
        index = int(test.key.split("/")[0][1:])
        what = test.key.rsplit("/", 1)[-1]
        best, best_count = None, 0
        for mistake, applies, explained in candidates.values():
            if index not in applies:
                continue
            predicted = _predictions(mistake, lp.cases[index], _out(lp, index))
            if predicted is None or what not in predicted:
                continue
            if explained > best_count:
                best, best_count = mistake, explained
        if best is not None:
            test.misconception = {"name": best.name, "explanation": best.explanation}


def _out(lp: LayerPlan, index: int):
    expected = lp.expected[index]
    return expected if isinstance(expected, np.ndarray) else expected.out


def label_format_diagnosis(lp: LayerPlan, tests: list[TestResult]) -> None:
    """One label format passes and the other fails: a mistake no single-case formula can name."""
    if not lp.spec.labels:
        return
    by_format: dict[str, list[TestResult]] = {}
    for test in tests:
        if test.category != "backward" or not test.key:
            continue
        index = int(test.key.split("/")[0][1:])
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

"""Verdicts: the raw numbers a submission's layer produced, judged against the reference.

Pure functions of (plan, raw arrays): nothing here runs student code. The tests of each
category live in value_tests (forward, backward) and state_tests (hygiene); diagnosis names
the mistake.
"""
from __future__ import annotations

from .diagnosis import label_format_diagnosis, name_mistakes
from .plan import LayerPlan
from .state_tests import hygiene_tests
from .value_tests import backward_tests, constant_gradients, degenerate_gradients, forward_tests
from .verdict import LayerVerdict, TestResult

__all__ = ["LayerVerdict", "TestResult", "judge_layer"]


def _right_everywhere(lp: LayerPlan, tests: list[TestResult], names) -> set[str]:
    """The values ('out', 'dx' ...) whose tests passed on the case the batch-size test resizes:
    only those can show that a change of batch size breaks something."""
    usual = {lp.spec.state_case}
    right = set()
    for name in names:
        mine = [t for t in tests if t.key and t.key.rsplit("/", 1)[-1] == name
                and int(t.key.split("/")[0][1:]) in usual]
        if mine and all(t.passed for t in mine):
            right.add(name)
    return right


def judge_layer(lp: LayerPlan, meta: dict | None, raw: dict, h: float) -> LayerVerdict:
    spec = lp.spec
    if meta is None or meta.get("missing"):
        names = ", ".join([spec.name, *spec.aliases[:3]])
        msg = f"no class named {names} (or another accepted name) was found in the submission."
        return LayerVerdict(spec.name, None, _placeholder_tests(lp, msg), [])
    found_as = meta.get("found_as")
    for fatal_key, text in (("timeout", "the tests of this layer took longer than {v:g} s and were stopped "
                                        "(an endless loop in forward or backward?)"),
                            ("fatal", "{v}")):
        if fatal_key in meta:
            return LayerVerdict(spec.name, found_as, _placeholder_tests(lp, text.format(v=meta[fatal_key])), [])
    errors = {k: str(v) for k, v in (meta.get("errors") or {}).items()}
    dtypes = {k: str(v) for k, v in (meta.get("dtypes") or {}).items()}
    calls = meta.get("forward_calls")
    calls = calls if isinstance(calls, int) and not isinstance(calls, bool) else 0
    forward = forward_tests(lp, raw, errors, dtypes)
    constant = constant_gradients(lp, raw)
    backward = backward_tests(lp, raw, errors, dtypes, h, calls, constant)
    honest = set(spec.gradient_names) - degenerate_gradients(lp, raw, constant)
    right = _right_everywhere(lp, forward + backward, ("out", *spec.gradient_names))
    hygiene = hygiene_tests(lp, raw, errors, honest, right, any(t.passed for t in forward))
    tests = forward + backward + hygiene
    name_mistakes(lp, raw, tests)
    label_format_diagnosis(lp, tests)
    notes = [str(n) for n in meta.get("notes", [])][:5]
    found_attrs = meta.get("found_attrs") or {}
    for param, attr in found_attrs.items():
        if param in spec.grad_attrs and attr != spec.grad_attrs[param][0]:
            notes.append(f"the gradient of {param} was read from self.{attr}")
    return LayerVerdict(spec.name, found_as, tests, notes)


def _placeholder_tests(lp: LayerPlan, message: str) -> list[TestResult]:
    """The full list of tests a layer has, all failed with one message: a missing or broken layer scores 0."""
    tests = forward_tests(lp, {}, {}, {}) + backward_tests(lp, {}, {}, {}, 1.0) + \
        hygiene_tests(lp, {}, {}, set(), set(), False)
    return [TestResult(lp.spec.name, t.category, t.name, 0.0, message) for t in tests]

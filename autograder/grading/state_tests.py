"""Hygiene tests: a layer used the way a network uses it. Inputs left alone, answers that follow
the latest forward, several instances side by side, and batch sizes that change between calls.

These tests are about state, not formulas: gradients are compared with the submission's own fresh
result (or, for batch sizes, only values that were right in the regular cases), so a wrong formula
is not penalised twice; and they earn points only for a layer whose forward works at least once."""
from __future__ import annotations

import numpy as np

from .plan import LayerPlan
from .verdict import TestResult, same_values

INPUTS_TEST = "forward leaves its inputs unchanged"


def _inputs_test(lp: LayerPlan, raw: dict) -> TestResult:
    spec, changed = lp.spec, []
    for index, values in enumerate(lp.cases):
        for arg, given in values.inputs.items():
            after = raw.get(f"c{index}/after/{arg}")
            if after is not None and (after.shape != np.shape(given) or
                                      not np.array_equal(after, np.asarray(given, dtype=np.float64))):
                changed.append(arg)
    if not any(k.startswith("c") and "/after/" in k for k in raw):
        return TestResult(spec.name, "hygiene", INPUTS_TEST, 0.0, "forward never completed, so this could not be checked.")
    if changed:
        arg = changed[0]
        return TestResult(spec.name, "hygiene", INPUTS_TEST, 0.0,
                          f"forward changed its input {arg} in place (e.g. `{arg}[mask] = 0`): the caller's "
                          f"array is damaged; work on a copy ({arg}.copy()) or use np.where / np.maximum.")
    return TestResult(spec.name, "hygiene", INPUTS_TEST, 1.0, "forward did not modify its inputs.")


# (probe, test name, what the probe does, pairs compared (student's key, fresh key), hint on failure)
STATE_TESTS = (
    ("state/latest", "backward follows the latest forward", "forward(a), forward(b), then backward",
     (("state/latest", "state/fresh"),),
     "Store what backward needs on every forward call."),
    ("state/repeat", "forward and backward can be repeated", "forward then backward, twice on one layer",
     (("state/repeat", "state/fresh"),),
     "backward must not change what forward stored (e.g. modify self.y without .copy()), and a gradient "
     "accumulated with += must be reset in forward."),
    ("state/instances", "two instances work side by side",
     "A.forward(a), B.forward(b), B.backward, A.backward on two instances",
     (("state/instances/a", "c{state}/grad"), ("state/instances/b", "state/fresh")),
     "Each instance must keep its own state on self: not on the class, not in a default argument "
     "(def __init__(self, cache={})), not in a global variable."),
)


def _compare(raw: dict, errors: dict, probe: str, pairs, names, tolerance: float) -> str | None:
    """None when every compared gradient equals the fresh one; else what went wrong."""
    if probe in errors:
        return f"it raised {errors[probe]}"
    compared = 0
    for mine, fresh in pairs:
        for grad in names:
            got, want = raw.get(f"{mine}/{grad}"), raw.get(f"{fresh}/{grad}")
            if want is None:
                continue
            if got is None:
                return f"{grad} was not produced"
            compared += 1
            if not same_values(got, want, tolerance):
                who = {"state/instances/a": " of instance A", "state/instances/b": " of instance B"}.get(mine, "")
                return f"{grad}{who} differed from what a fresh layer computes for the same input"
    if not compared:
        return "backward failed on a fresh layer, so there was nothing to compare"
    return None


def _batch_test(lp: LayerPlan, raw: dict, errors: dict, usable: set[str]) -> TestResult | None:
    spec = lp.spec
    if not lp.batch_steps:
        return None
    arg, axis = next(iter(spec.batch.items()))
    sizes = [np.shape({**v.params, **v.inputs}[arg])[axis] for v in lp.batch_steps]
    name = "batch size can change between calls"
    did = f"one instance called with batches of {', '.join(map(str, sizes))}"
    checked = 0
    for step, (values, expected) in enumerate(zip(lp.batch_steps, lp.batch_expected)):
        wants = {"out": expected.out, **expected.grads}
        for what, want in wants.items():
            if what not in usable:
                continue
            key = f"batch{step}/out" if what == "out" else f"batch{step}/grad/{what}"
            got = raw.get(key)
            if got is None:
                reason = errors.get(key) or errors.get(f"batch{step}/grads") or errors.get(f"batch{step}/out")
                return TestResult(spec.name, "hygiene", name, 0.0,
                                  f"{did}: with N = {sizes[step]}, {'forward' if what == 'out' else 'backward'} "
                                  f"failed: {reason or 'no result'}. Take N from each input "
                                  f"(x.shape[0]), never from an earlier call, and keep the batch axis "
                                  f"(np.squeeze drops it when N = 1).")
            checked += 1
            tol = spec.tolerance.forward if what == "out" else spec.tolerance.reference
            if not same_values(got, want, tol):
                shape = "" if got.shape == want.shape else f" (shape {got.shape} instead of {want.shape})"
                return TestResult(spec.name, "hygiene", name, 0.0,
                                  f"{did}: with N = {sizes[step]}, {what} was wrong{shape}, although it was "
                                  f"right in the regular cases. Take N from each input (x.shape[0]), never "
                                  f"from an earlier call, and keep the batch axis (np.squeeze drops it when N = 1).")
    if not checked:
        return TestResult(spec.name, "hygiene", name, 0.0, "no value was right in the regular cases, so "
                                                           "changing the batch size could not be checked.")
    return TestResult(spec.name, "hygiene", name, 1.0, f"{did}: every answer was right.")


def hygiene_tests(lp: LayerPlan, raw: dict, errors: dict, honest: set[str], right: set[str],
                  forward_works: bool) -> list[TestResult]:
    """honest: the gradients backward really computes (not zero, not input-independent), which the
    state tests compare with the layer's own fresh answers; right: the values ('out', 'dx', 'dW' ...)
    that were right in every regular case, which the batch-size test compares with the reference."""
    spec = lp.spec
    tests = [_inputs_test(lp, raw)]
    names = [g for g in spec.gradient_names if g in honest]
    for probe, name, did, pairs, hint in STATE_TESTS:
        pairs = [(m, f.format(state=spec.state_case)) for m, f in pairs]
        if not names:
            tests.append(TestResult(spec.name, "hygiene", name, 0.0, f"{did}: backward computes no gradient from "
                                                                      f"its inputs yet, so this shows nothing."))
            continue
        why = _compare(raw, errors, probe, pairs, names, spec.tolerance.reference)
        tests.append(TestResult(spec.name, "hygiene", name, 0.0 if why else 1.0,
                                f"{did}: {why}. {hint}" if why else f"{did}: the gradients were right."))
    batch = _batch_test(lp, raw, errors, right)
    if batch:
        tests.append(batch)
    if not forward_works:
        for test in tests:
            test.fraction = 0.0
            test.message = ("no forward test passed, and hygiene earns points only for a layer whose forward "
                            "computes the right values at least once. " + test.message)
    return tests

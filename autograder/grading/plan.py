"""The test plan of one submission: inputs to send into the sandbox, expected values kept out."""
from __future__ import annotations

import functools
import hashlib
import inspect
import math
import os
from pathlib import Path
from dataclasses import dataclass, field

import numpy as np

from autograder.course.cases import CaseValues, draw_case, with_dout
from autograder.course.model import Course
from autograder.course.layerspec import LayerSpec
from autograder.course.reference import Expected, reference_backward, reference_forward, run_layer


@dataclass
class LayerPlan:
    spec: LayerSpec
    cases: list[CaseValues]
    expected: list[Expected | np.ndarray]   # Expected for backward cases, the output for forward-only
    state: CaseValues                       # a second draw with the state case's shapes, own parameters
    state_expected: Expected
    # Per case index: argument -> unit directions (k, *shape) for a directional numerical check.
    # The first numerically checked case gets a full numerical gradient instead (no entry here).
    directions: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    # One instance through several batch sizes: the inputs of each step and the reference's answers.
    batch_steps: list[CaseValues] = field(default_factory=list)
    batch_expected: list[Expected] = field(default_factory=list)
@dataclass
class SubmissionPlan:
    seed: int
    layers: list[LayerPlan] = field(default_factory=list)


def student_seed(run_seed: int, student: str) -> int:
    """Inputs differ per student and per run, and a regrade with the same run seed repeats them."""
    digest = hashlib.sha256(f"{run_seed}:{student}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _backward_case(spec: LayerSpec, case, rng: np.random.Generator, params=None) -> tuple[CaseValues, Expected]:
    values = draw_case(spec, case, rng)
    if params is not None:  # the same instance, so the same parameters
        values.params = params
    ran = run_layer(spec, values)
    with_dout(values, spec, np.shape(ran[1]), rng)
    return values, reference_backward(spec, values, ran)


def batch_sizes(spec: LayerSpec) -> list[int]:
    """The batch sizes one instance sees in turn: the state case's own N, then the smallest (or,
    where that is N itself, a larger one)."""
    if not spec.batch:
        return []
    case = spec.cases[spec.state_case]
    arg, axis = next(iter(spec.batch.items()))
    n = case.shapes[arg][axis]
    return [n, spec.min_batch] if n != spec.min_batch else [n, n + 1]


def plan_layer(spec: LayerSpec, rng: np.random.Generator) -> LayerPlan:
    cases, expected = [], []
    for case in spec.cases:
        if case.forward_only:
            values = draw_case(spec, case, rng)
            cases.append(values)
            expected.append(reference_forward(spec, values))
            continue
        values, want = _backward_case(spec, case, rng)
        cases.append(values)
        expected.append(want)
    base = spec.cases[spec.state_case]
    state, state_expected = _backward_case(spec, base, rng)
    steps = []
    for n in batch_sizes(spec):
        steps.append(_backward_case(spec, base.resized(spec.batch, n), rng, steps[0][0].params if steps else None))
    first = spec.first_numerical
    directions = {i: _directions(spec, values, rng) for i, values in enumerate(cases)
                  if i != first and values.spec.numerically_checked}
    return LayerPlan(spec, cases, expected, state, state_expected, directions,
                     [v for v, _ in steps], [e for _, e in steps])


DIRECTIONS = 2


def _directions(spec: LayerSpec, values: CaseValues, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random unit directions for the arguments where they save work over a full gradient.

    Central differences along a few random directions check the same identity as a full
    numerical gradient (grad . v = d/dh f(x + h v)) at a fraction of the forward calls;
    small arguments keep the full gradient.
    """
    out = {}
    for name in spec.diff_inputs + spec.params:
        shape = np.shape(values.inputs.get(name, values.params.get(name)))
        if math.prod(shape) <= 2 * DIRECTIONS:
            continue
        v = rng.standard_normal(size=(DIRECTIONS, *shape))
        out[name] = v / np.linalg.norm(v.reshape(DIRECTIONS, -1), axis=1).reshape((DIRECTIONS,) + (1,) * len(shape))
    return out


def plan_submission(specs: list[LayerSpec], run_seed: int, student: str) -> SubmissionPlan:
    seed = student_seed(run_seed, student)
    rng = np.random.default_rng(seed)
    return SubmissionPlan(seed=seed, layers=[plan_layer(spec, rng) for spec in specs])


@functools.cache
def _helpers_source(module) -> str:
    names = [n for n in getattr(module, "__all__", []) if inspect.isfunction(getattr(module, n, None))]
    parts = ["import numpy as np"]
    parts += [inspect.getsource(getattr(module, n)) for n in names]
    return "\n\n".join(parts)


def helpers_source(course: Course) -> str:
    """The course's provided helper functions, as source, for the submission's namespace."""
    return _helpers_source(course.reference)


def _put(arrays: dict, prefix: str, values: CaseValues) -> None:
    for name, value in {**values.params, **values.inputs}.items():
        arrays[f"{prefix}/{name}"] = np.asarray(value, dtype=np.float64)
    if values.dout is not None:
        arrays[f"{prefix}/dout"] = np.asarray(values.dout, dtype=np.float64)


def job_for(plan: SubmissionPlan, path: str, course: Course, limits: dict, timeouts: dict) -> tuple[dict, dict]:
    """What crosses into the sandbox: the inputs only, never the expected values."""
    arrays: dict[str, np.ndarray] = {}
    layers = []
    for lp in plan.layers:
        spec = lp.spec
        case_meta = []
        for index, values in enumerate(lp.cases):
            _put(arrays, f"{spec.name}/c{index}", values)
            case_meta.append({"forward_only": values.spec.forward_only, "ints": values.spec.ints,
                              "numerical": values.spec.numerically_checked})
        _put(arrays, f"{spec.name}/state", lp.state)
        for step, values in enumerate(lp.batch_steps):
            _put(arrays, f"{spec.name}/batch{step}", values)
        for index, by_arg in lp.directions.items():
            for name, v in by_arg.items():
                arrays[f"{spec.name}/c{index}/dir/{name}"] = v
        layers.append({
            "name": spec.name,
            "names": list(spec.all_names()),
            "params": list(spec.params),
            "inputs": list(spec.inputs),
            "labels": list(spec.labels),
            "grad_attrs": {p: list(a) for p, a in spec.grad_attrs.items()},
            "loss": spec.loss,
            "cases": case_meta,
            "state_case": spec.state_case,
            "batch_steps": len(lp.batch_steps),
        })
    grading = course.grading
    job = {"path": path, "name": os.path.basename(path), "layers": layers, "helpers": helpers_source(course),
           "h": grading.numerical_step, "limits": limits, **timeouts,
           "hide": hidden_paths(course), "forbidden_modules": [course.data.reference.split(".")[0]]}
    return job, arrays


@functools.cache
def _hidden(root: str, package: str) -> list[str]:
    return sorted({root, package, os.path.realpath(root), os.path.realpath(package)})


def hidden_paths(course: Course) -> list[str]:
    """What a sandbox must not see even where its view of the file system contains it."""
    return _hidden(str(course.root.absolute()), str(Path(course.reference.__file__).absolute().parent))

"""`autograder generate`: student and solution notebooks for every assignment in the course.

Everything is rendered in memory first, so a problem in the course stops the command before
any file is touched; then each notebook is written only if its text changed (or, with
`check`, reported as stale). Rendering is deterministic: same course, same bytes.
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import io
from dataclasses import dataclass, field
from pathlib import Path

from . import notebook_cells as cells
from autograder.kit.cell_ids import SELF_CHECK_SUPPORT
from autograder.course.model import Assignment, Course
from autograder.errors import CourseError
from autograder.course.layerspec import LayerSpec, layer_specs
from .equivalence import equivalent
from .check_cells import example_check_source, layer_check_source, support_source
from .stubs import function_parts, module_names_used, split_class

HELPERS_MODULE = "functions"   # <reference>/functions.py: helpers students are given
EXAMPLES_MODULE = "examples"   # <reference>/examples.py: worked examples named in course.yaml

HOW_TO_WORK = """\
## How to work

1. Run the read-only cells under *Provided code* first.
2. For each layer, read its explanation, then fill in every `# YOUR CODE HERE` in `forward` and
   `backward` and delete the `raise NotImplementedError()` below it. Keep the names and the
   signatures: the grader calls them.
3. Run the check cell right after the layer. It prints `<Layer>: all checks passed`, or stops with
   a message that says what is wrong (a shape, a value, a gradient). The checks need nothing but
   numpy, so they also run outside this notebook.
4. Before you hand in, restart the kernel and run all cells, so every check sees your final code.

## What the checks and the grader test

Both call your layers the way a network does, and the check cells run the same kinds of tests as
the grader: output values and shapes; gradients against known-good numbers and against numerical
gradients of your own `forward`; Python numbers (`forward(100, 2)`, `backward(1)`) and integer
arrays, which must give exact results; very large inputs where `np.exp` overflows; one instance
called again with another batch size (N = 1 among them); several instances at once (forward on
all, then backward on all), so keep every value on `self`, never on the class, in a default
argument or in a global.

- `backward` runs on a fresh instance exactly as you wrote it: nothing sets your gradient
  attributes beforehand. `self.dW = ...` is the usual way; `self.dW += ...` is accepted only if
  your layer sets `self.dW` to zero itself, in `forward`, so every forward and backward starts
  from zero.
- Compute in float64, numpy's default. A layer that converts to float32 fails, with a message
  that says so: float32 keeps about 7 digits, too few to check gradients.
- Only the grader checks these: `backward` must apply the chain rule, and one that
  differentiates numerically, by calling `forward` again and again, earns no points for backward;
  a gradient that is zero, or the same whatever the input, earns nothing; the tests of how a
  layer keeps its state earn points only once its forward computes the right values. The grader
  also draws new numbers for every student and every run, and gives partial credit."""

EXAMPLES_NOTE = """
5. The worked examples at the end build small graphs from your layers: run them once the layers
   pass their checks, and compare the numbers with the ones in the text."""


@dataclass
class GenerateResult:
    """Paths of the generated notebooks, by what happened to them."""

    written: list[Path] = field(default_factory=list)     # new or changed, now on disk
    unchanged: list[Path] = field(default_factory=list)   # already identical
    stale: list[Path] = field(default_factory=list)       # with check: missing or different
    leftover: list[Path] = field(default_factory=list)    # notebooks of assignments no longer in the course
    checked: list[Path] = field(default_factory=list)     # every notebook compared


@dataclass(frozen=True)
class Example:
    name: str
    docstring: str
    code: str
    results: dict           # variable -> value, from running the example on the reference
    layers: list[str]       # layer classes the example uses


def notebook_paths(course: Course, assignment: Assignment) -> tuple[Path, Path]:
    """(student notebook, solution notebook) of an assignment."""
    filename = f"{assignment.name}.ipynb"
    return (course.root / "assignments" / assignment.name / filename,
            course.root / "solutions" / assignment.name / filename)


def generate(course: Course, check: bool = False) -> GenerateResult:
    """Write (or, with check, only compare) every assignment's student and solution notebook.

    A file that differs from the rendering only in the last digits of numbers (another CPU's
    rounding) counts as unchanged and is left alone, so regenerating never dirties a checkout."""
    rendered = render_course(course)
    result = GenerateResult()
    for path, text in rendered.items():
        result.checked.append(path)
        current = path.read_bytes() if path.is_file() else None
        if current is not None and (current == text.encode("utf-8") or
                                    equivalent(current.decode("utf-8", "replace"), text)):
            result.unchanged.append(path)
        elif check:
            result.stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            result.written.append(path)
    result.leftover = leftover_notebooks(course, set(rendered))
    return result


def leftover_notebooks(course: Course, rendered: set[Path]) -> list[Path]:
    """Generated-looking notebooks (<folder>/<name>/<name>.ipynb) that the course no longer makes."""
    found = []
    for folder in ("assignments", "solutions"):
        for path in sorted((course.root / folder).glob("*/*.ipynb")):
            if path.stem == path.parent.name and path not in rendered:
                found.append(path)
    return found


def render_course(course: Course) -> dict[Path, str]:
    """Every notebook's text, keyed by path, in course order."""
    rendered = {}
    for index, assignment in enumerate(course.assignments):
        student, solution = render_assignment(course, assignment, index)
        student_path, solution_path = notebook_paths(course, assignment)
        rendered[student_path] = cells.serialise(student)
        rendered[solution_path] = cells.serialise(solution)
    return rendered


def render_assignment(course: Course, assignment: Assignment, index: int):
    """The (student, solution) notebooks of one assignment."""
    where = f"{course.path}: key 'assignments[{index}]'"
    specs = layer_specs(course)
    helpers = _helper_functions(course)
    examples = _examples(course, assignment, index)

    head = [
        cells.locked_markdown("title", f"# {assignment.title}\n\n{assignment.intro.strip()}".strip()),
        cells.locked_markdown("how_to_work", HOW_TO_WORK + (EXAMPLES_NOTE if examples else "")),
        cells.locked_markdown("provided_text", _provided_text(helpers)),
        cells.locked_code("provided_code", _provided_code(helpers)),
        cells.locked_code(SELF_CHECK_SUPPORT, support_source(course.grading.numerical_step)),
    ]
    student, solution = list(head), list(head)
    for number, entry in enumerate(assignment.layers, start=1):
        spec = specs[entry.layer]
        layer_where = f"{course.path}: key 'layers.{spec.name}'"
        _require_provided(spec, helpers, layer_where)
        parts = split_class(spec.cls, layer_where)
        gid = cells.snake_case(spec.name)
        points = sum(entry.points.values())
        text = cells.locked_markdown(f"{gid}_text", _layer_text(number, spec, parts.docstring, points))
        check = cells.test_code(f"{gid}_check", layer_check_source(spec, layer_where), points)
        student += [text, cells.answer_code(f"{gid}_code", parts.student), check]
        solution += [text, cells.answer_code(f"{gid}_code", parts.solution), check]
    for example in examples:
        missing = [layer for layer in example.layers if layer not in {e.layer for e in assignment.layers}]
        if missing:
            raise CourseError(f"{where}.examples: example {example.name!r} uses {', '.join(missing)}, "
                              f"which this assignment does not ask for")
        gid = f"example_{example.name}"
        example_cells = [
            cells.locked_markdown(f"{gid}_text", example.docstring),
            cells.plain_code(f"{gid}_code", example.code),
            # Examples carry no points in course.yaml; the check still shows up in the grade report.
            cells.test_code(f"{gid}_check", example_check_source(
                example.name, example.results, example.layers, course.grading.tolerance.forward), 0),
        ]
        student += example_cells
        solution += example_cells
    return cells.lock_for_students(cells.notebook(student, where)), cells.notebook(solution, where)


# --- provided code ---------------------------------------------------------------------------

def _helper_functions(course: Course) -> list:
    """The helper functions of the reference's functions module, in source order."""
    module = _reference_submodule(course, HELPERS_MODULE, f"{course.path}: key 'reference'")
    if module is None:
        return []
    functions = [f for _, f in inspect.getmembers(module, inspect.isfunction)
                 if f.__module__ == module.__name__ and not f.__name__.startswith("_")]
    return sorted(functions, key=lambda f: f.__code__.co_firstlineno)


def _provided_text(helpers: list) -> str:
    names = ", ".join(f"`{f.__name__}`" for f in helpers)
    given = f"numpy (as `np`) and the helper functions {names}" if helpers else "numpy (as `np`)"
    return ("## Provided code\n\n"
            f"The first cell gives you {given}; use them freely in your layers. "
            "The second defines the functions the check cells use. Both are read-only.")


def _provided_code(helpers: list) -> str:
    sources = ["import numpy as np"] + [inspect.getsource(f).strip() for f in helpers]
    return "\n\n\n".join(sources)


def _require_provided(spec: LayerSpec, helpers: list, where: str) -> None:
    provided = {"np"} | {f.__name__ for f in helpers}
    unknown = sorted(module_names_used(spec.cls) - provided)
    if unknown:
        raise CourseError(f"{where}: reference class {spec.name} uses {', '.join(unknown)} from its module, "
                          f"but the notebook provides only {', '.join(sorted(provided))}")


def _layer_text(number: int, spec: LayerSpec, docstring: str, points: float) -> str:
    task = ["**Your task:** implement `forward` and `backward`."]
    grads = ", ".join(f"`d{a}`" for a in spec.diff_inputs)
    if len(spec.diff_inputs) == 1:
        task.append(f"`backward` returns {grads}.")
    else:
        task.append(f"`backward` returns the tuple ({grads}), in that order.")
    if spec.params:
        stored = [f"`self.{spec.grad_attrs[p][0]}` (the shape of `{p}`)" for p in spec.params]
        listed = stored[0] if len(stored) == 1 else ", ".join(stored[:-1]) + " and " + stored[-1]
        task.append(f"It also stores the parameter gradients in {listed}.")
    for label in spec.labels:
        task.append(f"`{label}` holds labels: it gets no gradient.")
    if spec.loss:
        task.append("This layer ends the network, so it is called as `backward(1)`.")
    return f"## {number}. `{spec.name}` ({points:g} points)\n\n{docstring}\n\n{' '.join(task)}"


# --- examples --------------------------------------------------------------------------------

def _reference_submodule(course: Course, name: str, where: str):
    full_name = f"{course.reference.__name__}.{name}"
    try:
        return importlib.import_module(full_name)
    except ModuleNotFoundError as exc:
        if exc.name == full_name:
            return None
        raise CourseError(f"{where}: importing {course.data.reference}/{name}.py failed: {exc}") from exc
    except Exception as exc:  # the instructor's code: say where it broke
        raise CourseError(f"{where}: importing {course.data.reference}/{name}.py failed: "
                          f"{type(exc).__name__}: {exc}") from exc


def _examples(course: Course, assignment: Assignment, index: int) -> list[Example]:
    if not assignment.examples:
        return []
    key = f"assignments[{index}].examples"
    where = f"{course.path}: key '{key}'"
    module_file = f"{course.data.reference}/{EXAMPLES_MODULE}.py"
    module = _reference_submodule(course, EXAMPLES_MODULE, where)
    if module is None:
        raise CourseError(f"{where}: the assignment lists examples but there is no {module_file}")
    available = {n: f for n, f in inspect.getmembers(module, inspect.isfunction)
                 if f.__module__ == module.__name__ and not n.startswith("_")}
    examples = []
    for i, name in enumerate(assignment.examples):
        if name not in available:
            known = ", ".join(sorted(available)) or "no examples"
            raise CourseError(f"{course.path}: key '{key}[{i}]': unknown example {name!r}; "
                              f"{module_file} defines: {known}")
        examples.append(_example(course, available[name], f"{course.path}: key '{key}[{i}]' ({module_file})"))
    return examples


def _example(course: Course, func, where: str) -> Example:
    parts = function_parts(func, where)
    if not parts.docstring:
        raise CourseError(f"{where}: {func.__name__} needs a docstring: it becomes the example's text")
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            results = func()
        except Exception as exc:
            raise CourseError(f"{where}: running {func.__name__} with the reference layers failed: "
                              f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(results, dict) or not results:
        raise CourseError(f"{where}: {func.__name__} must end with `return {{name: value, ...}}`, "
                          f"the results the notebook checks")
    assigned = _top_level_names(parts.tree)
    unknown = [name for name in results if name not in assigned]
    if unknown:
        raise CourseError(f"{where}: {func.__name__} returns {', '.join(map(repr, unknown))}, which its body "
                          f"never assigns: the notebook checks the variables the example cell leaves behind")
    used = {n.id for n in ast.walk(parts.tree) if isinstance(n, ast.Name)}
    layers = [name for name in course.data.layers if name in used]
    return Example(name=func.__name__, docstring=parts.docstring, code=parts.body, results=results, layers=layers)


def _top_level_names(func: ast.FunctionDef) -> set[str]:
    names = set()
    for stmt in func.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else (
            [stmt.target] if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) else [])
        for target in targets:
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names

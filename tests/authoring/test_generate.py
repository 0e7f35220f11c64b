"""`autograder generate`: stubs, solutions, nbgrader metadata, determinism and --check."""
import ast
import inspect
import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from autograder.cli import main
from autograder.course.load import load_course
from autograder.authoring.generate import generate, notebook_paths, render_course

from conftest import ROOT
METHODS = ("forward", "backward")


def copy_course(dest: Path) -> Path:
    """course.yaml and the reference package in a fresh folder; returns the course file."""
    shutil.copy(ROOT / "course.yaml", dest / "course.yaml")
    shutil.copytree(ROOT / "source_layers", dest / "source_layers",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return dest / "course.yaml"


def committed(course, kind):
    """(assignment, notebook) for every committed student (kind 0) or solution (kind 1) notebook."""
    return [(a, nbformat.read(notebook_paths(course, a)[kind], as_version=4)) for a in course.assignments]


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def answer_classes(nb):
    """Class definitions of the answer (solution) cells, by class name."""
    classes = {}
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution"):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.ClassDef):
                    classes[node.name] = node
    return classes


def methods_of(class_node):
    return {n.name: n for n in class_node.body if isinstance(n, ast.FunctionDef)}


def without_docstring(body):
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return body[1:]
    return body


def reference_bodies(spec):
    """forward/backward bodies of the reference class, parsed straight from its source."""
    node = ast.parse(textwrap.dedent(inspect.getsource(spec.cls))).body[0]
    return {name: without_docstring(m.body) for name, m in methods_of(node).items() if name in METHODS}


def dump(statements):
    return [ast.dump(s) for s in statements]


@pytest.fixture(scope="module")
def student_notebooks(course):
    return committed(course, 0)


@pytest.fixture(scope="module")
def solution_notebooks(course):
    return committed(course, 1)


def test_committed_notebooks_match_the_course(course):
    result = generate(course, check=True)
    assert result.stale == []
    assert len(result.checked) == 2 * len(course.assignments)


def test_every_student_method_is_exactly_the_stub(student_notebooks):
    for assignment, nb in student_notebooks:
        classes = answer_classes(nb)
        assert sorted(classes) == sorted(e.layer for e in assignment.layers), assignment.name
        for name, node in classes.items():
            methods = methods_of(node)
            for method in METHODS:
                body = methods[method].body
                code = without_docstring(body)
                assert len(body) - len(code) == 1, f"{name}.{method} lost its docstring"
                assert dump(code) == dump(ast.parse("raise NotImplementedError()").body), f"{name}.{method}"
                # The stub sits at the method's indentation, under the marker comment.
                lines = ast.get_source_segment(nb_source_of(nb, name), methods[method]).splitlines()
                assert lines[-2].strip() == "# YOUR CODE HERE"


def nb_source_of(nb, class_name):
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution") and f"class {class_name}" in cell.source:
            return cell.source
    raise AssertionError(class_name)


def test_solution_methods_are_the_reference(solution_notebooks, specs):
    for assignment, nb in solution_notebooks:
        for name, node in answer_classes(nb).items():
            expected = reference_bodies(specs[name])
            methods = methods_of(node)
            for method in METHODS:
                assert dump(without_docstring(methods[method].body)) == dump(expected[method]), f"{name}.{method}"
            # the class docstring moved to the markdown cell; the method docstrings stayed
            assert ast.get_docstring(node) is None
            assert ast.get_docstring(methods["forward"]) == inspect.getdoc(specs[name].cls.forward)


def test_solution_bodies_sit_between_nbgrader_markers(solution_notebooks):
    for _, nb in solution_notebooks:
        for cell in nb.cells:
            if nbgrader_meta(cell).get("solution"):
                assert cell.source.count("### BEGIN SOLUTION") == len(METHODS) * cell.source.count("class ")
                assert cell.source.count("### BEGIN SOLUTION") == cell.source.count("### END SOLUTION")


def test_no_student_notebook_contains_reference_code(student_notebooks, specs):
    reference_statements = set()
    for spec in specs.values():
        for body in reference_bodies(spec).values():
            reference_statements |= set(dump(body))
    for assignment, nb in student_notebooks:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            found = {ast.dump(n) for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.stmt)}
            leaked = found & reference_statements
            assert not leaked, f"{assignment.name}: cell {cell.id} holds reference code: {sorted(leaked)[:1]}"


ALLOWED_IN_CHECKS = (ast.Module, ast.Expr, ast.Call, ast.Name, ast.Load, ast.Attribute, ast.Constant,
                     ast.keyword, ast.Dict, ast.List, ast.Tuple, ast.UnaryOp, ast.USub)


def test_check_cells_hold_only_numbers_and_calls(student_notebooks, specs):
    for assignment, nb in student_notebooks:
        checks = [c for c in nb.cells if nbgrader_meta(c).get("grade")]
        assert len(checks) == len(assignment.layers) + len(assignment.examples)
        for cell in checks:
            tree = ast.parse(cell.source)
            bad = [type(n).__name__ for n in ast.walk(tree) if not isinstance(n, ALLOWED_IN_CHECKS)]
            assert not bad, f"{cell.id}: {bad}"
            called = {n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id
                      for n in ast.walk(tree) if isinstance(n, ast.Call)}
            assert called <= {"check_layer", "check_results", "print", "array", "float64", "globals"}


def test_nbgrader_metadata_is_valid(student_notebooks, solution_notebooks):
    from nbgrader.nbgraderformat import MetadataValidator  # slow to import: only here

    validator = MetadataValidator()
    for assignment, nb in student_notebooks + solution_notebooks:
        validator.validate_nb(nb)  # schema v3 per cell, unique grade ids
        ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
        assert len(ids) == len(set(ids))
        assert [c.id for c in nb.cells] == [nbgrader_meta(c).get("grade_id", c.id) for c in nb.cells]
        points = sum(nbgrader_meta(c)["points"] for c in nb.cells if nbgrader_meta(c).get("grade"))
        assert points == assignment.max_score
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if meta.get("solution"):
                assert (meta["grade"], meta["locked"], cell.cell_type) == (False, False, "code")
            if meta.get("grade"):
                assert meta["locked"] and cell.cell_type == "code"


def test_each_layer_check_is_worth_the_layers_points(student_notebooks):
    for assignment, nb in student_notebooks:
        points = {c.id: nbgrader_meta(c)["points"] for c in nb.cells if nbgrader_meta(c).get("grade")}
        layer_points = [p for cid, p in points.items() if not cid.startswith("example_")]
        assert layer_points == [sum(e.points.values()) for e in assignment.layers]


def test_generation_is_deterministic_and_independent_of_the_folder(tmp_path):
    course_file = copy_course(tmp_path)
    first = generate(load_course(course_file))
    assert len(first.written) == 6
    snapshot = {p: p.read_bytes() for p in first.written}
    again = generate(load_course(course_file))
    assert again.written == [] and sorted(again.unchanged) == sorted(snapshot)
    assert {p: p.read_bytes() for p in snapshot} == snapshot
    # the same course in another folder gives the very same bytes: no paths, times or ids leak in
    here = render_course(load_course(ROOT / "course.yaml"))
    for path, data in snapshot.items():
        assert data == here[ROOT / path.relative_to(tmp_path)].encode("utf-8"), path


def run_cli(*args):
    return CliRunner().invoke(main, ["generate", *args])


def test_check_names_stale_and_missing_notebooks_and_writes_nothing(tmp_path):
    course_file = copy_course(tmp_path)
    generate(load_course(course_file))
    clean = run_cli("--course", str(course_file), "--check")
    assert clean.exit_code == 0, clean.output
    assert "up to date" in clean.output

    student = tmp_path / "assignments" / "activations" / "activations.ipynb"
    nb = nbformat.read(student, as_version=4)
    nb.cells[0].source += "\nedited by hand"
    nbformat.write(nb, student)
    edited = student.read_bytes()
    solution = tmp_path / "solutions" / "affine_softmax" / "affine_softmax.ipynb"
    solution.unlink()

    stale = run_cli("--course", str(course_file), "--check")
    assert stale.exit_code == 1
    assert str(student) in stale.output and str(solution) in stale.output
    assert "computational_graph" not in stale.output
    assert student.read_bytes() == edited and not solution.exists()

    fixed = run_cli("--course", str(course_file))
    assert fixed.exit_code == 0
    assert run_cli("--course", str(course_file), "--check").exit_code == 0


def test_unknown_example_is_a_course_error_naming_the_key(tmp_path):
    course_file = copy_course(tmp_path)
    text = course_file.read_text()
    assert "examples: [apples_and_oranges, fraction_graph]" in text
    course_file.write_text(text.replace("examples: [apples_and_oranges, fraction_graph]",
                                        "examples: [apples_and_oranges, pears]"))
    result = run_cli("--course", str(course_file))
    assert result.exit_code == 2
    assert "assignments[0].examples[1]" in result.output and "'pears'" in result.output
    assert str(course_file) in result.output
    assert "apples_and_oranges, fraction_graph" in result.output  # what is available
    assert not (tmp_path / "assignments").exists()  # nothing written before the error


def test_a_layer_method_without_own_line_body_is_a_course_error(tmp_path):
    course_file = copy_course(tmp_path)
    graph = tmp_path / "source_layers" / "graph.py"
    text = graph.read_text()
    assert '        """Return x + y."""\n        return x + y\n' in text
    graph.write_text(text.replace('    def forward(self, x, y):\n        """Return x + y."""\n        return x + y\n',
                                  "    def forward(self, x, y): return x + y\n"))
    result = run_cli("--course", str(course_file))
    assert result.exit_code == 2
    assert "layers.AddLayer" in result.output and "own line" in result.output


def test_examples_become_text_code_and_a_check(student_notebooks):
    assignment, nb = student_notebooks[0]
    assert assignment.examples == ["apples_and_oranges", "fraction_graph"]
    ids = [c.id for c in nb.cells]
    for name in assignment.examples:
        at = ids.index(f"example_{name}_text")
        assert ids[at + 1: at + 3] == [f"example_{name}_code", f"example_{name}_check"]
        code = nb.cells[at + 1]
        assert "nbgrader" not in code.metadata  # a plain cell the student may play with
        assert "return" not in code.source and "def " not in code.source
    # examples come after every layer
    assert ids.index("example_apples_and_oranges_text") > ids.index("log_layer_check")


# --- what the self-check cells tell a student (run in-process: they need nothing but numpy) ---

def checker(course, assignment):
    """Run a layer's check cell against a student's class source; returns the AssertionError text or None."""
    nb = nbformat.read(notebook_paths(course, course.assignment(assignment))[0], as_version=4)
    cells = {c.id: c.source for c in nb.cells}

    def run(check_id, class_source):
        namespace = {}
        exec(cells["provided_code"], namespace)
        exec(cells["self_check_support"], namespace)
        exec(textwrap.dedent(class_source), namespace)
        try:
            exec(cells[check_id], namespace)
        except AssertionError as exc:
            return str(exc)
        return None
    return run


AFFINE = """
class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
    def forward(self, x):
        self.shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W + self.b
    def backward(self, dout):
        {body}
        return (dout @ self.W.T).reshape(self.shape)
"""


def test_check_says_which_gradient_has_the_wrong_shape(course, specs, capsys):
    run = checker(course, "affine_softmax")
    message = run("affine_check", AFFINE.format(body="self.dW = dout.T @ self.x; self.db = dout.sum(axis=0)"))
    w_shape = specs["Affine"].cases[0].shapes["W"]
    assert message.startswith(f"Affine.backward: dW has shape {w_shape[::-1]} but W has shape {w_shape}")


def test_check_accepts_aliases_and_accumulation_zeroed_in_forward_as_the_grader_does(course, capsys):
    run = checker(course, "affine_softmax")
    body = "self.gw += self.x.T @ dout; self.grad_b += dout.sum(axis=0)"
    zeroed = AFFINE.format(body=body).replace(
        "self.shape = x.shape", "self.shape = x.shape; self.gw = np.zeros(self.W.shape); self.grad_b = 0 * self.b")
    assert run("affine_check", zeroed) is None
    assert "Affine: all checks passed" in capsys.readouterr().out
    # The first backward on a fresh instance runs as written: += on None fails, as in the grader.
    on_none = AFFINE.format(body=body).replace("self.b = b", "self.b = b; self.gw = None; self.grad_b = None")
    assert "TypeError" in run("affine_check", on_none)
    # Zeroed once in __init__: right on a fresh instance, wrong once the same instance goes on.
    never_reset = AFFINE.format(body=body).replace(
        "self.b = b", "self.b = b; self.gw = np.zeros(W.shape); self.grad_b = np.zeros(b.shape)")
    assert "one instance called again and again" in run("affine_check", never_reset)


def test_check_sees_state_shared_between_instances_and_a_batch_of_one(course):
    run = checker(course, "affine_softmax")
    shared = AFFINE.format(body="self.dW = Affine.x.T @ dout; self.db = dout.sum(axis=0)").replace(
        "self.x = x.reshape", "Affine.x = self.x = x.reshape")
    assert "several instances at once" in run("affine_check", shared)
    first_shape = AFFINE.format(body="self.dW = self.x.T @ dout; self.db = dout.sum(axis=0)").replace(
        "self.shape = x.shape", "self.shape = getattr(self, 'shape', x.shape)")
    message = run("affine_check", first_shape)
    assert "one instance called again and again" in message and "a batch of 1" in message


def test_check_names_a_wrong_gradient_and_a_missing_one(course):
    run = checker(course, "affine_softmax")
    message = run("affine_check", AFFINE.format(body="self.dW = self.x.T @ dout; self.db = dout.mean(axis=0)"))
    assert message.startswith("Affine.backward: db does not match the numerical gradient of your forward")
    message = run("affine_check", AFFINE.format(body="self.dW = self.x.T @ dout"))
    assert message.startswith("Affine.backward did not store the gradient of b: set self.db")


def test_check_accepts_the_books_in_place_relu_with_a_note_and_flags_stubs(course, capsys):
    """Does the book's Relu (dout zeroed in place) pass, as the grader lets it, with a note?"""
    run = checker(course, "activations")
    relu = """
    class Relu:
        def forward(self, x):
            self.mask = x <= 0
            return np.where(self.mask, 0.0, x)
        def backward(self, dout):
            dout[self.mask] = 0
            return dout
    """
    assert run("relu_check", relu) is None
    assert "Relu.backward changed dout in place" in capsys.readouterr().out
    stub = "class Relu:\n    def forward(self, x):\n        raise NotImplementedError()\n"
    assert run("relu_check", stub) == "Relu.forward is not implemented yet (it raises NotImplementedError)"


def test_check_catches_an_overflowing_softmax(course):
    run = checker(course, "affine_softmax")
    naive = """
    class SoftmaxWithLoss:
        def forward(self, x, t):
            e = np.exp(x)
            self.y = e / e.sum(axis=1, keepdims=True)
            self.t = t
            return cross_entropy_error(self.y, t)
        def backward(self, dout=1):
            dx = self.y.copy()
            if self.t.ndim == 1:
                dx[np.arange(len(dx)), self.t] -= 1
            else:
                dx -= self.t
            return dx * dout / len(dx)
    """
    with np_errstate():
        message = run("softmax_with_loss_check", naive)
    assert message.startswith("SoftmaxWithLoss.forward returned nan or inf") and "offset by 1000" in message


def np_errstate():
    import numpy as np
    return np.errstate(all="ignore")

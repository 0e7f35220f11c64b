"""The notebook formgrader opens: built from the student's file, never trusting its outputs or metadata."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.authoring.generate import notebook_paths
from autograder.platforms.nbgrader_files import autograded_notebook

ASSIGNMENT = "affine_softmax"
LAYERS = {"ScalarAffine": [], "Affine": ["Dense", "Linear"], "SoftmaxWithLoss": []}
RESULT = {"status": "graded", "error": None, "notes": [],
          "layers": {name: {"score": 1.0, "max_score": 5.0, "found_as": name} for name in LAYERS},
          "tests": [{"layer": "Affine", "name": "backward dW", "passed": False, "message": "dW has shape (3, 6)",
                     "misconception": {"name": "transposed", "explanation": "use x.T @ dout"}}]}


def release_cells(course):
    _, solution = notebook_paths(course, course.assignment(ASSIGNMENT))
    nb = nbformat.read(solution, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def grade_ids(nb):
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]


def test_outputs_are_cleared_and_each_check_shows_the_kits_verdict(course, tmp_path):
    release = release_cells(course)
    _, solution = notebook_paths(course, course.assignment(ASSIGNMENT))
    nb = nbformat.read(solution, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [new_output("display_data", data={"text/html": "<script>steal()</script>"})]
    forged = new_code_cell("print('full marks')", metadata={"nbgrader": {**release["affine_check"].metadata["nbgrader"]}})
    nb.cells.append(forged)                       # a second cell claiming the Affine check's grade id
    path = tmp_path / "sub.ipynb"
    nbformat.write(nb, path)
    out = autograded_notebook(path, release, RESULT, LAYERS)
    assert "steal()" not in nbformat.writes(out)
    assert grade_ids(out).count("affine_check") == 1
    check = next(c for c in out.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "affine_check")
    assert "dW has shape (3, 6)" in check.outputs[0]["text"] and "use x.T @ dout" in check.outputs[0]["text"]


def test_a_free_form_notebook_gets_its_checks_back_and_its_class_cells_as_answers(course, tmp_path):
    release = release_cells(course)
    nb = new_notebook(cells=[new_markdown_cell("my work"), new_code_cell("import numpy as np\nclass dense:\n    pass"),
                             new_code_cell("class ScalarAffine:\n    pass")])
    path = tmp_path / "free.ipynb"
    nbformat.write(nb, path)
    out = autograded_notebook(path, release, RESULT, LAYERS)
    ids = grade_ids(out)
    assert {"affine_code", "scalar_affine_code", "affine_check", "scalar_affine_check", "softmax_with_loss_check"} <= set(ids)
    assert "softmax_with_loss_code" not in ids          # no class for it: no answer cell is invented
    assert out.cells[1].metadata["nbgrader"]["grade_id"] == "affine_code"   # found by its alias
    assert len(ids) == len(set(ids))

"""Notebook cells with nbgrader metadata (cell schema version 3), and stable serialisation."""
from __future__ import annotations

import copy
import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.errors import CourseError
from autograder.kit.cell_ids import snake_case  # noqa: F401  (grade ids the grader also computes)

SCHEMA_VERSION = 3
GRADE_ID = re.compile(r"^[a-zA-Z0-9_\-]+$")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}




def _nbgrader(cell_type: str, grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"cell_type": cell_type, "grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def _with_id(cell, cell_id: str):
    # Cell ids follow the grade ids, so regenerating never churns them.
    cell["id"] = cell_id
    return cell


def locked_markdown(grade_id: str, text: str):
    cell = new_markdown_cell(text, metadata={"nbgrader": _nbgrader("markdown", grade_id, locked=True)})
    return _with_id(cell, grade_id)


def locked_code(grade_id: str, source: str):
    cell = new_code_cell(source, metadata={"nbgrader": _nbgrader("code", grade_id, locked=True)})
    return _with_id(cell, grade_id)


def answer_code(grade_id: str, source: str):
    cell = new_code_cell(source, metadata={"nbgrader": _nbgrader("code", grade_id, solution=True)})
    return _with_id(cell, grade_id)


def test_code(grade_id: str, source: str, points: float):
    points = int(points) if float(points).is_integer() else float(points)
    cell = new_code_cell(source, metadata={"nbgrader": _nbgrader("code", grade_id, grade=True, locked=True,
                                                                 points=points)})
    return _with_id(cell, grade_id)


def plain_code(cell_id: str, source: str):
    """A cell nbgrader does not track: students may run and change it freely."""
    return _with_id(new_code_cell(source), cell_id)


def notebook(cells: list, where: str):
    """A notebook of the given cells; grade ids must be valid and unique."""
    seen = set()
    for cell in cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", cell["id"])
        if not GRADE_ID.match(grade_id):
            raise CourseError(f"{where}: {grade_id!r} is not a valid cell id (letters, digits, _ and - only)")
        if grade_id in seen:
            raise CourseError(f"{where}: two cells would get the id {grade_id!r}")
        seen.add(grade_id)
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    return nb


def lock_for_students(nb):
    """A copy with the editor locks nbgrader's release step sets: what students must not change."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        if meta["locked"]:
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
        elif meta["solution"]:
            cell.metadata["deletable"] = False
    return nb


def serialise(nb) -> str:
    """Stable text: nbformat sorts keys and indents by one; no outputs, counts or timestamps."""
    return nbformat.writes(nb, version=4) + "\n"

"""The files nbgrader's own steps read after autograding: autograded/ for formgrader and
feedback/ for `nbgrader release_feedback`, written from the kit's results.

autograded/<student>/<assignment>/<notebook>.ipynb is the submitted notebook with its outputs
cleared (they are the student's, possibly hostile HTML, and a TA's browser renders them), the
nbgrader metadata of each cell taken from the release (a student may have deleted or copied
it), and the kit's verdict as the output of each layer's check cell.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat

from autograder.kit.cell_ids import layer_cell_ids
from autograder.reports.atomic import atomic_write_text
from .nbgrader import NbgraderCourse, layer_comment

READ_LIMIT = 64 * 1024 * 1024   # larger files were graded on their code only; their outputs are not wanted here
SIDE_FILES = ("timestamp.txt", "submission_secret.txt")   # what release_feedback reads beside each page


def _release_cells(course_dir: NbgraderCourse, assignment: str, notebook: str) -> dict:
    path = course_dir.folder("release", ".", assignment) / f"{notebook}.ipynb"
    if not path.is_file():
        path = course_dir.folder("source", ".", assignment) / f"{notebook}.ipynb"
    release = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c
            for c in release.cells if "nbgrader" in c.metadata and "grade_id" in c.metadata["nbgrader"]}


def _class_pattern(names: list[str]) -> re.Pattern:
    return re.compile(r"^\s*class\s+(" + "|".join(map(re.escape, names)) + r")\b", re.IGNORECASE | re.MULTILINE)


def autograded_notebook(submitted: Path, release: dict, result: dict, layers: dict[str, list[str]]):
    """A check cell the student deleted comes back from the release at the end, so that the TA
    still sees each layer's grade and the kit's verdict in formgrader; a student's own cell that
    defines a layer's class (by name or alias) becomes that layer's answer cell, so the kit's
    comment appears under the code it is about."""
    release_meta = {gid: dict(cell.metadata["nbgrader"]) for gid, cell in release.items()}
    notebook = nbformat.read(submitted, as_version=4)
    answers = {layer_cell_ids(layer)[0]: _class_pattern([layer, *aliases]) for layer, aliases in layers.items()}
    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells
               if isinstance(c.metadata.get("nbgrader"), dict)} | {c.get("id") for c in notebook.cells}
    for code_id, pattern in answers.items():
        if code_id in release_meta and code_id not in present:
            owner = next((c for c in notebook.cells if c.cell_type == "code" and "nbgrader" not in c.metadata
                          and pattern.search(c.source)), None)
            if owner is not None:
                owner.metadata["nbgrader"] = {"grade_id": code_id}
    verdicts = {layer_cell_ids(layer)[1]: layer_comment(result, layer) for layer in layers}
    seen: set[str] = set()
    for cell in notebook.cells:
        own = cell.metadata.get("nbgrader", {})
        gid = own.get("grade_id") if isinstance(own, dict) else None
        gid = gid if gid in release_meta else (cell.get("id") if cell.get("id") in release_meta else None)
        cell.metadata.pop("nbgrader", None)
        if gid is not None and gid not in seen:  # one cell per grade id, as nbgrader requires
            seen.add(gid)
            cell.metadata["nbgrader"] = dict(release_meta[gid])
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if gid in verdicts:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=verdicts[gid] + "\n")]
    for gid, cell in release.items():
        if gid not in seen and cell.metadata["nbgrader"].get("grade"):
            restored = nbformat.v4.new_code_cell(cell.source, metadata={"nbgrader": dict(release_meta[gid])})
            if gid in verdicts:
                restored.outputs = [nbformat.v4.new_output("stream", name="stdout", text=verdicts[gid] + "\n")]
            notebook.cells.append(restored)
    return notebook


def write_nbgrader_files(course_dir: NbgraderCourse, assignment: str, notebook: str, results: list[dict],
                         pages: dict[str, Path], layers: dict[str, list[str]]) -> list[str]:
    """autograded/ and feedback/ for every result; returns warnings for the summary."""
    warnings: list[str] = []
    release = _release_cells(course_dir, assignment, notebook)
    for result in results:
        student = result["student"]
        submitted = Path(result["path"])
        graded_dir = course_dir.folder("autograded", student, assignment)
        feedback_dir = course_dir.folder("feedback", student, assignment)
        graded_dir.mkdir(parents=True, exist_ok=True)
        feedback_dir.mkdir(parents=True, exist_ok=True)
        try:
            if result.get("status") == "invalid" or submitted.stat().st_size > READ_LIMIT:
                raise ValueError("refused by the grader")  # never parse in this trusted process what grading refused
            text = nbformat.writes(autograded_notebook(submitted, release, result, layers))
        except Exception as exc:  # not a notebook nbformat can read: formgrader gets one that says so
            text = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
                f"The submitted file was not graded as a notebook ({type(exc).__name__}): "
                f"{result.get('error') or exc}".replace("<", "&lt;"))]))
        atomic_write_text(graded_dir / f"{notebook}.ipynb", text)
        page = pages.get(student)
        if page is not None and page.is_file():
            shutil.copyfile(page, feedback_dir / f"{notebook}.html")
        for name in SIDE_FILES:
            source = submitted.parent / name
            if source.is_file():
                shutil.copyfile(source, graded_dir / name)
                shutil.copyfile(source, feedback_dir / name)
            else:
                warnings.append(f"nbgrader: no {name} in {submitted.parent.relative_to(course_dir.root)}: "
                                f"`nbgrader release_feedback` needs it (was it collected with `nbgrader collect`?)")
    return warnings

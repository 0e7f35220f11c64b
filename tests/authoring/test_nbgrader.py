"""The solution notebook as an nbgrader source: nbgrader's own release and autograding agree with us."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.generate import notebook_paths

pytestmark = pytest.mark.slow
ASSIGNMENT = "affine_softmax"
BIN = Path(sys.executable).parent


def nbgrader(course_dir: Path, *args):
    # nbgrader runs `alembic` for its database, so the environment's scripts must be on PATH.
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course_dir, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """An nbgrader course: our solution as source, released, then alice (solution) and bob (stubs) graded."""
    course_dir = tmp_path_factory.mktemp("nbgrader_course")
    (course_dir / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "backprop"\n')
    student_nb, solution_nb = notebook_paths(course, course.assignment(ASSIGNMENT))
    filename = f"{ASSIGNMENT}.ipynb"
    source = course_dir / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy(solution_nb, source / filename)
    nbgrader(course_dir, "generate_assignment", ASSIGNMENT, "--force")
    released = course_dir / "release" / ASSIGNMENT / filename
    for student, notebook in (("alice", solution_nb), ("bob", released)):
        folder = course_dir / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / filename)
    nbgrader(course_dir, "autograde", ASSIGNMENT, "--force")
    return course_dir, released, student_nb


def scores(course_dir: Path):
    from nbgrader.api import Gradebook  # slow to import: only here

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        return {student: (gradebook.find_submission(ASSIGNMENT, student).score,
                          gradebook.find_submission(ASSIGNMENT, student).max_score)
                for student in ("alice", "bob")}


def test_solution_scores_full_marks_and_stubs_score_zero(course, graded):
    course_dir, _, _ = graded
    max_score = course.assignment(ASSIGNMENT).max_score
    assert scores(course_dir) == {"alice": (max_score, max_score), "bob": (0.0, max_score)}


def test_nbgraders_release_equals_our_student_notebook(graded):
    _, released, ours = graded
    theirs = nbformat.read(released, as_version=4)
    mine = nbformat.read(ours, as_version=4)
    assert [(c.cell_type, c.source) for c in theirs.cells] == [(c.cell_type, c.source) for c in mine.cells]
    # the same editor locks too; nbgrader adds only its checksums
    for their_cell, my_cell in zip(theirs.cells, mine.cells):
        meta = dict(their_cell.metadata)
        if "nbgrader" in meta:
            meta["nbgrader"] = {k: v for k, v in meta["nbgrader"].items() if k != "checksum"}
        assert meta == my_cell.metadata, my_cell.id

"""Student ids and assignments come from each file's own place in the folder layout."""
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.errors import ToolError
from autograder.grading.discover import find_submissions
from autograder.grading.identity import student_and_assignment

from conftest import ROOT, reference_code

ASSIGNMENTS = {"computational_graph", "activations", "affine_softmax"}
AUTOGRADER = str(Path(sys.executable).parent / "autograder")


def make(root: Path, *relative: str) -> list[Path]:
    paths = []
    for rel in relative:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("class Relu: pass\n")
        paths.append(path)
    return paths


def ids(root: Path, **kw) -> dict[str, tuple[str, str | None]]:
    return {s.path.relative_to(root).as_posix(): (s.student, s.assignment_hint)
            for s in find_submissions([root], known=ASSIGNMENTS, **kw)}


@pytest.mark.parametrize("rel, expected", [
    ("alice/activations/activations.ipynb", ("alice", "activations")),      # <root>/<student>/<assignment>/<file>
    ("alice/activations/my work.ipynb", ("alice", "activations")),
    ("activations/alice/activations.ipynb", ("alice", "activations")),     # <root>/<assignment>/<student>/<file>
    ("activations/alice.ipynb", ("alice", "activations")),                 # <root>/<assignment>/<file>
    ("alice/activations.ipynb", ("alice", "activations")),                 # <root>/<student>/<file named after it>
    ("alice/homework.py", ("alice", None)),                                # <root>/<student>/<file>
    ("alice/week 2/homework.py", ("alice", None)),
    ("alice.ipynb", ("alice", None)),                                      # <root>/<file>
    ("term/alice/affine_softmax/x.ipynb", ("alice", "affine_softmax")),
    ("submitted/alice/hw1/hw1.ipynb", ("alice", "hw1")),                   # nbgrader, any assignment name
])
def test_each_layout_names_the_student_and_assignment(tmp_path, rel, expected):
    root = tmp_path / "class"
    make(root, rel)
    assert student_and_assignment(root, root / rel, ASSIGNMENTS) == expected
    assert ids(root) == {rel: expected}


def test_a_student_folder_named_directly_gives_that_student(tmp_path):
    (alice,) = make(tmp_path / "alice", "activations/activations.ipynb")
    assert student_and_assignment(tmp_path / "alice", alice, ASSIGNMENTS) == ("alice", "activations")
    (bob,) = make(tmp_path / "bob", "affine_softmax.ipynb")
    assert student_and_assignment(tmp_path / "bob", bob, ASSIGNMENTS) == ("bob", "affine_softmax")


def test_nbgrader_layout_is_found_above_the_folder_named(tmp_path):
    (path,) = make(tmp_path, "course/submitted/alice/activations/activations.ipynb")
    assert student_and_assignment(path.parent, path, ASSIGNMENTS) == ("alice", "activations")
    assert find_submissions([path], known=ASSIGNMENTS)[0].student == "alice"


def test_gradescope_submission_folder_is_one_student(tmp_path):
    root = tmp_path / "autograder" / "submission"
    make(root, "affine_softmax.ipynb", "notes.py")
    assert student_and_assignment(root, root / "affine_softmax.ipynb", ASSIGNMENTS) == ("submission", "affine_softmax")
    assert student_and_assignment(root, root / "notes.py", ASSIGNMENTS) == ("submission", None)


CLASS = ["alice/activations/activations.ipynb", "alice/affine_softmax/affine_softmax.ipynb",
         "bob/activations/activations.ipynb", "carol/activations/activations.ipynb",
         "activations/dan.ipynb", "erin/homework.py", "frank.ipynb", "gus/affine_softmax.ipynb"]


def test_ids_never_depend_on_which_other_files_are_present(tmp_path):
    root = tmp_path / "all"
    make(root, *CLASS)
    full = ids(root)
    assert len(set(full.values())) == len(CLASS)
    # Every subset of the class (here: each file alone and every pair) gets the same ids.
    for n, subset in enumerate(itertools.chain(itertools.combinations(CLASS, 1), itertools.combinations(CLASS, 2))):
        part = tmp_path / f"part{n}"
        make(part, *subset)
        assert ids(part) == {rel: full[rel] for rel in subset}, subset


def test_an_assignment_filter_skips_other_assignments_of_any_layout(tmp_path):
    root = tmp_path / "class"
    make(root, *CLASS)
    found = ids(root, assignment="activations")
    assert set(found) == {"alice/activations/activations.ipynb", "bob/activations/activations.ipynb",
                          "carol/activations/activations.ipynb", "activations/dan.ipynb", "erin/homework.py",
                          "frank.ipynb"}


def test_a_collision_is_an_error_naming_both_files(tmp_path):
    root = tmp_path / "class"
    make(root, "activations/alice/a.py", "activations/alice/b.py")
    with pytest.raises(ToolError) as error:
        find_submissions([root], known=ASSIGNMENTS)
    message = str(error.value)
    assert "'alice'" in message and "a.py" in message and "b.py" in message and "--layout" in message


def test_the_assignments_notebook_wins_over_stray_files_with_a_warning(tmp_path):
    root = tmp_path / "class"
    make(root, "alice/activations/activations.ipynb", "alice/activations/helpers.py",
         "alice/activations/activations-Copy1.ipynb")
    warnings = []
    (only,) = find_submissions([root], known=ASSIGNMENTS, warn=warnings.append)
    assert only.path.name == "activations.ipynb" and only.student == "alice"
    assert len(warnings) == 1 and "helpers.py" in warnings[0] and "activations-Copy1.ipynb" in warnings[0]


@pytest.mark.parametrize("layout, rel, expected", [
    ("assignment/student", "activations/alice/x.ipynb", ("alice", "activations")),
    ("student/*", "alice/week1/x.ipynb", ("alice", None)),
    ("*/student", "section-a/alice/x.ipynb", ("alice", None)),
    ("file", "activations/alice/bob.ipynb", ("bob", None)),
    ("assignment", "hw/alice.ipynb", ("alice", "hw")),
])
def test_an_explicit_layout_replaces_the_guess(tmp_path, layout, rel, expected):
    root = tmp_path / "class"
    make(root, rel)
    assert ids(root, layout=layout) == {rel: expected}


def test_a_bad_layout_says_what_is_allowed(tmp_path):
    root = tmp_path / "class"
    make(root, "alice/x.ipynb")
    with pytest.raises(ToolError, match="unknown part 'name'"):
        find_submissions([root], layout="student/name")
    with pytest.raises(ToolError, match="needs 2 folder level"):
        find_submissions([root], layout="student/assignment")


def test_the_command_records_each_submissions_assignment_and_refuses_a_collision(tmp_path, course):
    root = tmp_path / "class"
    layers_of = {a.name: [e.layer for e in a.layers] for a in course.assignments}
    for rel, code in {"alice/activations/activations.py": reference_code(*layers_of["activations"]),
                      "alice/affine_softmax/affine_softmax.py": reference_code(layers_of["affine_softmax"][0]),
                      "bob/activations/activations.py": "class Relu: pass\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(code)
    out = tmp_path / "out"
    done = subprocess.run([AUTOGRADER, "grade", root, "--out", out, "--seed", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = {(s["student"], s["assignment"]): s for s in json.loads((out / "results.json").read_text())["submissions"]}
    assert set(got) == {("alice", "activations"), ("alice", "affine_softmax"), ("bob", "activations")}
    assert got[("alice", "activations")]["score"] == course.assignment("activations").max_score
    assert got[("alice", "affine_softmax")]["max_score"] == course.assignment("affine_softmax").max_score
    assert got[("bob", "activations")]["max_score"] == course.assignment("activations").max_score
    (root / "alice" / "activations" / "other.py").write_text("class Relu: pass\n")
    clash = subprocess.run([AUTOGRADER, "grade", root, "--out", out], cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
    assert clash.returncode == 2 and "activations.py" in clash.stderr and "other.py" in clash.stderr

"""`autograder grade` at a real nbgrader course root: nbgrader's own API, export, feedback release and
formgrader's rendering path see the kit's scores, messages and late penalties."""
import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.generate import notebook_paths

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "affine_softmax"
BIN = Path(sys.executable).parent
DUE = "2026-11-30 23:00:00 UTC"
LATE = (["late:", "  penalty: 10", "  per: day", "  cap: 30",
         "  extensions:", f"    - {{student: erin, assignment: {ASSIGNMENT}, days: 3}}"])


def run(cmd, cwd, check=True):
    # nbgrader runs `alembic` for its database, so the environment's scripts must be on PATH.
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def nbgrader(course_dir, *args):
    return run([str(BIN / "nbgrader"), *args], course_dir)


def grade(course_dir, course_file, *extra):
    return run([str(BIN / "autograder"), "grade", "--assignment", ASSIGNMENT, "--course", str(course_file),
                "--out", str(course_dir / "kit_grades"), "--workers", "2", "--seed", "7", *extra], course_dir)


def place(course_dir, student, notebook, timestamp, secret=True):
    """As `nbgrader collect` leaves a submission: the notebook, timestamp.txt, submission_secret.txt."""
    folder = course_dir / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    shutil.copy(notebook, folder / f"{ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text(timestamp)
    if secret:
        (folder / "submission_secret.txt").write_text(f"secret-of-{student}")


@pytest.fixture(scope="module")
def course_root(course, tmp_path_factory):
    """source/ from the kit's solution, release by nbgrader, four submissions (carol late, dave unknown)."""
    base = tmp_path_factory.mktemp("nbgrader_root")
    course_file = base / "course.yaml"
    text = (ROOT / "course.yaml").read_text()
    course_file.write_text(text.replace("title:", f"reference: {ROOT / 'source_layers'}\n" + "\n".join(LATE) +
                                        "\ntitle:", 1))
    course_dir = base / "course"
    course_dir.mkdir()
    (course_dir / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "backprop"\n')
    _, solution_nb = notebook_paths(course, course.assignment(ASSIGNMENT))
    (course_dir / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(solution_nb, course_dir / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    nbgrader(course_dir, "db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}")
    roster = base / "students.csv"
    roster.write_text("id,last_name\n" + "".join(f"{s},{s.title()}\n" for s in ("alice", "bob", "carol", "erin", "frank")))
    nbgrader(course_dir, "db", "student", "import", str(roster))
    nbgrader(course_dir, "generate_assignment", ASSIGNMENT, "--force")
    bob = ROOT / "examples" / "class" / "submitted" / "bob_dW_transposed" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    place(course_dir, "alice", solution_nb, "2026-11-30 20:00:00.000000 UTC")
    place(course_dir, "bob", bob, "2026-11-30 22:59:00.000000 UTC")
    place(course_dir, "carol", solution_nb, "2026-12-02 01:00:00.000000 UTC")   # 26 h late: 2 days
    place(course_dir, "dave", solution_nb, "2026-11-30 10:00:00.000000 UTC", secret=False)  # not in the gradebook
    place(course_dir, "erin", solution_nb, "2026-12-02 01:00:00.000000 UTC")    # late, but has an extension
    done = grade(course_dir, course_file)
    return course_dir, course_file, done


def gradebook(course_dir):
    from nbgrader.api import Gradebook  # slow to import: only here
    return Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}", "backprop")


def test_gradebook_holds_the_kits_scores_comments_and_penalty(course, course_root):
    course_dir, _, done = course_root
    total = course.assignment(ASSIGNMENT).max_score
    results = {r["student"]: r for r in __import__("autograder.grading.batch", fromlist=["x"]).load_results(
        course_dir / "kit_grades")["submissions"]}
    assert set(results) == {"alice", "bob", "carol", "dave", "erin"}   # only submitted/, never source/ or release/
    assert all(Path(r["path"]).parts[-4] == "submitted" for r in results.values())
    with gradebook(course_dir) as gb:
        for student, result in results.items():
            sub = gb.find_submission(ASSIGNMENT, student)
            assert sub.max_score == total
            assert sub.score == pytest.approx(result["raw_score"])      # raw score in the cells
        assert gb.find_submission(ASSIGNMENT, "alice").score == total
        bob = gb.find_submission(ASSIGNMENT, "bob")
        assert 0 < bob.score < total          # partial credit, not nbgrader's all-or-nothing cells
        affine = gb.find_grade("affine_check", ASSIGNMENT, ASSIGNMENT, "bob")
        assert affine.auto_score == pytest.approx(results["bob"]["layers"]["Affine"]["score"])
        assert affine.needs_manual_grade is False
        comment = gb.find_comment("affine_code", ASSIGNMENT, ASSIGNMENT, "bob").auto_comment
        dw = [t for t in results["bob"]["tests"] if t["layer"] == "Affine" and not t["passed"]]
        assert dw and dw[0]["message"] in comment and dw[0]["misconception"]["explanation"] in comment
        # carol: 26 h late = 2 started days x 10 %; erin's three-day extension makes hers on time
        carol = gb.find_submission(ASSIGNMENT, "carol")
        assert carol.late_submission_penalty == pytest.approx(0.2 * total)
        assert gb.find_submission(ASSIGNMENT, "erin").late_submission_penalty == 0
        assert gb.find_student("dave").id == "dave"
        assert len(gb.assignment_submissions(ASSIGNMENT)) == 5
    assert results["carol"]["score"] == pytest.approx(0.8 * total) and results["carol"]["late"]["periods"] == 2
    assert results["erin"]["late"] is None and results["erin"]["score"] == total
    assert "added 1 student(s) missing from the gradebook: dave" in done.stdout
    assert "submitted nothing: frank" in done.stdout
    assert "no submission_secret.txt in submitted/dave/affine_softmax" in done.stdout


def test_nbgrader_export_counts_the_penalty_once(course, course_root):
    course_dir, _, _ = course_root
    out = course_dir / "export.csv"
    nbgrader(course_dir, "export", f"--to={out}")
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    total = course.assignment(ASSIGNMENT).max_score
    assert float(rows["carol"]["raw_score"]) == total
    assert float(rows["carol"]["late_submission_penalty"]) == pytest.approx(0.2 * total)
    assert float(rows["carol"]["score"]) == pytest.approx(0.8 * total)
    assert float(rows["alice"]["score"]) == total and float(rows["frank"]["score"]) == 0
    kit = {r["SIS Login ID"]: r for r in csv.DictReader(io.StringIO((course_dir / "kit_grades" / "canvas.csv").read_text()))}
    column = [k for k in kit["carol"] if k not in ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")][0]
    assert float(kit["carol"][column]) == pytest.approx(float(rows["carol"]["score"]))   # the LMS gets the penalized score
    assert float(kit["bob"][column]) == pytest.approx(float(rows["bob"]["score"]))


def test_feedback_release_and_formgrader_views_work(course_root, tmp_path):
    course_dir, _, _ = course_root
    page = course_dir / "feedback" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert "Late:" in page.read_text() and "penalty 2 days" in page.read_text()
    assert (page.parent / "timestamp.txt").read_text().startswith("2026-12-02")
    # release_feedback reads every page with its timestamp.txt and submission_secret.txt
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    nbgrader(course_dir, "release_feedback", ASSIGNMENT, "--CourseDirectory.student_id_exclude=dave",
             f"--Exchange.root={exchange}")   # dave submitted without nbgrader: no secret
    assert len(list((exchange / "backprop" / "feedback").glob("*.html"))) == 4
    # formgrader renders autograded/<student>/<assignment>/<notebook>.ipynb with the gradebook's grades and
    # comments (GetGrades); nbgrader's own generate_feedback runs that same path on our files.
    copy = tmp_path / "copy"
    shutil.copytree(course_dir, copy, ignore=shutil.ignore_patterns("feedback"))
    nbgrader(copy, "generate_feedback", ASSIGNMENT, "--student=bob", "--force")
    html = (copy / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    for student in ("alice", "bob"):   # alice kept nbgrader's cells; bob's free-form notebook gets them back
        graded = nbformat.read(course_dir / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        checks = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "affine_check"]
        assert len(checks) == 1 and "Affine:" in checks[0].outputs[0]["text"]
    assert "Likely mistake" in html      # the kit's comment, read back from the gradebook by nbgrader


def test_rerun_updates_and_keeps_a_tas_manual_grade(course, course_root):
    from autograder.grading.batch import load_results

    course_dir, course_file, _ = course_root
    with gradebook(course_dir) as gb:
        cell = gb.find_grade("affine_check", ASSIGNMENT, ASSIGNMENT, "bob")
        cell.manual_score = 9.5
        cell.auto_score = -1.0          # a stale automatic score: the rerun must replace it
        comment = gb.find_comment("affine_code", ASSIGNMENT, ASSIGNMENT, "bob")
        comment.manual_comment = "Nice work on the reshape; see me about dW."
        gb.db.commit()
    grade(course_dir, course_file)
    bob = {r["student"]: r for r in load_results(course_dir / "kit_grades")["submissions"]}["bob"]
    with gradebook(course_dir) as gb:
        assert len(gb.assignment_submissions(ASSIGNMENT)) == 5
        assert len(gb.students) == 6
        cell = gb.find_grade("affine_check", ASSIGNMENT, ASSIGNMENT, "bob")
        comment = gb.find_comment("affine_code", ASSIGNMENT, ASSIGNMENT, "bob")
        assert cell.manual_score == 9.5
        assert cell.auto_score == pytest.approx(bob["layers"]["Affine"]["score"])
        assert comment.manual_comment == "Nice work on the reshape; see me about dW."
        assert comment.auto_comment and "Affine" in comment.auto_comment
        assert cell.needs_manual_grade is True    # flagged for review, as nbgrader's autograder does
        assert gb.find_submission(ASSIGNMENT, "carol").late_submission_penalty == pytest.approx(
            0.2 * course.assignment(ASSIGNMENT).max_score)
    assert sorted(p.name for p in (course_dir / "autograded").iterdir()) == ["alice", "bob", "carol", "dave", "erin"]


def test_formgrader_lists_every_submission_as_autograded_and_renders_it(course_root):
    """Formgrader's own API and its page template, on the kit's autograded/ files and gradebook rows."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    course_dir, _, _ = course_root
    config = Config()
    config.CourseDirectory.root = str(course_dir)
    config.CourseDirectory.course_id = "backprop"
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    assert api.get_autograded_students(ASSIGNMENT) == {"alice", "bob", "carol", "dave", "erin"}
    rows = {r["student"]: r for r in api.get_notebook_submissions(ASSIGNMENT, ASSIGNMENT)}
    with gradebook(course_dir) as gb:
        assert rows["bob"]["score"] == pytest.approx(gb.find_submission(ASSIGNMENT, "bob").score)
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    html, _ = HTMLExporter(config=config).from_filename(
        str(course_dir / "autograded" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        resources={"assignment_id": ASSIGNMENT, "notebook_id": ASSIGNMENT, "submission_id": rows["bob"]["id"],
                   "index": 0, "total": 5, "base_url": "/", "student": "bob", "last_name": "Bob",
                   "first_name": "", "notebook_path": "autograded/bob"})
    for layer in ("scalar_affine", "affine", "softmax_with_loss"):
        assert f'id="{layer}_check"' in html          # the score box of each layer
        assert f'id="{layer}_code-comment"' in html   # the comment box under each answer

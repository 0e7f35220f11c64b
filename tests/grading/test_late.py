"""Late policy: timestamps as nbgrader writes them, periods, grace, cap, extensions; and, through a
real grading run outside nbgrader, course.yaml's due date with the penalty in feedback and LMS files."""
import csv
import io
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograder.course.model import Extension, LatePolicy
from autograder.grading.late import assess, extension, parse_timestamp

ROOT = Path(__file__).resolve().parents[2]
DUE = datetime(2026, 11, 30, 23, 0, tzinfo=timezone.utc)


def test_nbgraders_timestamp_format_and_iso_are_read_as_utc():
    assert parse_timestamp("2026-11-30 23:00:00.000000 UTC\n") == DUE
    assert parse_timestamp("2026-12-01T00:00:00+01:00") == DUE
    assert parse_timestamp("2026-11-30T23:00:00Z") == DUE
    assert parse_timestamp("2026-11-30 23:00:00") == DUE     # no zone: UTC, as nbgrader stores it
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


@pytest.mark.parametrize("late, periods, penalty", [
    (timedelta(seconds=0), None, None),                 # on time
    (timedelta(seconds=1), 1, 2.0),                     # any started day counts
    (timedelta(hours=24), 1, 2.0),
    (timedelta(hours=24, seconds=1), 2, 4.0),
    (timedelta(days=10), 10, 6.0),                      # capped at 30 %
])
def test_penalty_per_started_period_with_a_cap(late, periods, penalty):
    policy = LatePolicy(penalty=10, per="day", cap=30)
    got = assess(policy, DUE, DUE + late, raw=20.0, max_score=20.0)
    assert (got and got.periods, got and got.penalty) == (periods, penalty)


def test_grace_hours_and_a_penalty_never_exceeds_the_score():
    hourly = LatePolicy(penalty=5, per="hour", grace_minutes=15)
    assert assess(hourly, DUE, DUE + timedelta(minutes=14), 10.0, 20.0).penalty == 0
    assert assess(hourly, DUE, DUE + timedelta(minutes=16), 10.0, 20.0).penalty == 1.0
    assert assess(hourly, DUE, DUE + timedelta(minutes=16 + 120), 10.0, 20.0).periods == 3
    assert assess(LatePolicy(penalty=100, per="day"), DUE, DUE + timedelta(days=1), 3.0, 20.0).penalty == 3.0
    assert assess(LatePolicy(), DUE, DUE + timedelta(days=9), 3.0, 20.0).penalty == 0   # policy none
    assert assess(LatePolicy(penalty=10), None, DUE, 3.0, 20.0) is None                  # no due date


def test_extensions_per_student_and_assignment():
    policy = LatePolicy(penalty=10, extensions=[Extension(student="ann", assignment="a1", days=2),
                                                Extension(student="ann", hours=5), Extension(student="bo", hours=1)])
    assert extension(policy, "ann", "a1") == timedelta(days=2)
    assert extension(policy, "ann", "a2") == timedelta(hours=5)
    assert extension(policy, "cy", "a1") == timedelta(0)


def test_course_yaml_rejects_an_extension_for_an_unknown_assignment(tmp_path):
    from autograder.course.load import load_course
    from autograder.errors import CourseError

    text = (ROOT / "course.yaml").read_text().replace(
        "title:", f"reference: {ROOT / 'source_layers'}\nlate:\n  penalty: 10\n  extensions:\n"
                  f"    - {{student: ann, assignment: nope, days: 1}}\ntitle:", 1)
    (tmp_path / "course.yaml").write_text(text)
    with pytest.raises(CourseError, match=r"late.extensions\[0\].assignment.*'nope'"):
        load_course(tmp_path / "course.yaml")


def test_a_late_submission_outside_nbgrader_costs_what_the_policy_says(course, tmp_path):
    """course.yaml's due date, timestamp.txt beside the notebook: the score, feedback and canvas.csv
    carry the penalty; the raw score stays in results.json."""
    from autograder.authoring.generate import notebook_paths
    from autograder.grading.batch import load_results

    text = (ROOT / "course.yaml").read_text().replace(
        "title:", f"reference: {ROOT / 'source_layers'}\nlate:\n  penalty: 25\n  per: hour\n  cap: 50\ntitle:", 1)
    text = text.replace("  - name: activations\n", "  - name: activations\n    due: 2026-11-30T23:00:00Z\n", 1)
    (tmp_path / "course.yaml").write_text(text)
    _, solution = notebook_paths(course, course.assignment("activations"))
    for student, stamp in (("ann", "2026-11-30 22:00:00.000000 UTC"), ("bo", "2026-12-01 00:30:00.000000 UTC"),
                           ("cy", "2026-12-03 00:30:00.000000 UTC"), ("di", None)):
        folder = tmp_path / "in" / "submitted" / student / "activations"
        folder.mkdir(parents=True)
        shutil.copy(solution, folder / "activations.ipynb")
        if stamp:
            (folder / "timestamp.txt").write_text(stamp)
    out = tmp_path / "out"
    done = subprocess.run([str(Path(sys.executable).parent / "autograder"), "grade", str(tmp_path / "in"),
                           "--assignment", "activations", "--course", str(tmp_path / "course.yaml"),
                           "--out", str(out), "--workers", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    full = course.assignment("activations").max_score
    results = {r["student"]: r for r in load_results(out)["submissions"]}
    assert {s: r["score"] for s, r in results.items()} == {"ann": full, "bo": full * 0.5, "cy": full * 0.5,
                                                           "di": full}
    assert results["bo"]["raw_score"] == full and results["bo"]["late"]["periods"] == 2
    assert results["ann"]["late"] is None and results["di"]["late"] is None
    page = (out / "feedback" / "bo.html").read_text()
    assert "2 hours x 25% of 18 points = 9 points" in page
    assert "capped at 50%" in (out / "feedback" / "cy.html").read_text()
    rows = list(csv.reader(io.StringIO((out / "canvas.csv").read_text())))
    by_id = {row[3]: row[-1] for row in rows[2:]}
    assert float(by_id["bo"]) == full * 0.5 and float(by_id["ann"]) == full

"""The grade files of a real multi-assignment run, read the way each LMS documents its import.

Canvas (Grades > Import): a header with Student, ID, SIS User ID, SIS Login ID, Section, then one
column per assignment; a "Points Possible" row right after the header; rows matched on an id
column; an empty cell leaves a grade unchanged. Moodle (Grades > Import > CSV): one user-id column
mapped to a user field, one column per grade item. Every value is checked against results.json.
"""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, reference_code

AUTOGRADER = str(Path(sys.executable).parent / "autograder")
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def notebook(code: str) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": code}]})


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course):
    """A class over every assignment of the course, in three layouts at once, graded by the command."""
    root = tmp_path_factory.mktemp("lms") / "class"
    everything = {a.name: reference_code(*(e.layer for e in a.layers)) for a in course.assignments}
    first, *others = [a.name for a in course.assignments]
    files = {f"ann/{name}/{name}.ipynb": notebook(code) for name, code in everything.items()}
    # One layer of the first assignment written correctly, the rest missing: partial credit.
    files[f"ben/{first}/{first}.ipynb"] = notebook(reference_code(course.assignments[0].layers[0].layer))
    files[f"{others[-1]}/ben.py"] = everything[others[-1]]
    files[f"cy/{first}.ipynb"] = "{ not json"
    files[f"dee/{others[0]}/work.py"] = everything[others[0]].replace("return dx", "return 2 * dx")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    out = root.parent / "out"
    done = subprocess.run([AUTOGRADER, "grade", root, "--out", out, "--seed", "7", "--timeout", "20"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    by_key = {(s["student"], s["assignment"]): s for s in results["submissions"]}
    assert set(by_key) == {("ann", a) for a in everything} | {("ben", first), ("ben", others[-1]), ("cy", first),
                                                              ("dee", others[0])}
    return out, by_key


def read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def test_canvas_import_has_one_row_per_student_and_each_assignments_own_points(graded, course):
    out, by_key = graded
    header, points_row, *rows = read(out / "canvas.csv")
    assert header[:5] == CANVAS_IDENTITY
    assignments = header[5:]
    assert sorted(assignments) == sorted(a.name for a in course.assignments)
    assert points_row[0].strip() == "Points Possible"
    assert {name: number(cell) for name, cell in zip(assignments, points_row[5:])} == \
        {a.name: a.max_score for a in course.assignments}
    logins = [row[3] for row in rows]
    assert sorted(logins) == ["ann", "ben", "cy", "dee"]  # one row per student, matched on SIS Login ID
    for row in rows:
        assert len(row) == len(header)
        for name, cell in zip(assignments, row[5:]):
            sub = by_key.get((row[3], name))
            if sub is None:
                assert cell == ""  # no submission: Canvas leaves the grade unchanged
            else:
                assert number(cell) == pytest.approx(sub["score"], abs=1e-6)
    ann = dict(zip(header, next(r for r in rows if r[3] == "ann")))
    assert all(number(ann[a.name]) == a.max_score for a in course.assignments)


def test_moodle_import_maps_the_id_number_to_each_grade_item(graded, course):
    out, by_key = graded
    header, *rows = read(out / "moodle.csv")
    assert header[0] == "ID number"
    assert sorted(header[1:]) == sorted(a.name for a in course.assignments)
    assert sorted(row[0] for row in rows) == ["ann", "ben", "cy", "dee"]
    for row in rows:
        for name, cell in zip(header[1:], row[1:]):
            sub = by_key.get((row[0], name))
            assert (cell == "") if sub is None else number(cell) == pytest.approx(sub["score"], abs=1e-6)


def test_grades_csv_has_a_row_per_student_and_assignment_with_its_layers(graded, course):
    out, by_key = graded
    header, *rows = read(out / "grades.csv")
    assert header[:6] == ["student", "assignment", "score", "max_score", "percent", "status"]
    assert set(header[6:]) == {e.layer for a in course.assignments for e in a.layers}
    assert len(rows) == len(by_key)
    for row in rows:
        cells = dict(zip(header, row))
        sub = by_key[(cells["student"], cells["assignment"])]
        assert cells["status"] == sub["status"]
        assert number(cells["score"]) == pytest.approx(sub["score"], abs=1e-6)
        assert number(cells["max_score"]) == course.assignment(sub["assignment"]).max_score
        own = {e.layer for e in course.assignment(sub["assignment"]).layers}
        for layer in header[6:]:
            if layer in own and sub["status"] == "graded":
                assert number(cells[layer]) == pytest.approx(sub["layers"][layer]["score"], abs=1e-6)
            else:
                assert cells[layer] == ""
    cy = next(dict(zip(header, r)) for r in rows if r[0] == "cy")
    assert cy["status"] == "invalid" and cy["score"] == "0"


def test_displayed_points_are_rounded_and_stored_points_exact(graded):
    """Points shared by three tests are thirds: pages show 0.33, results.json and the CSVs keep every digit."""
    out, by_key = graded
    thirds = [(sub, t) for sub in by_key.values() for t in sub["tests"] if round(t["max_score"], 2) != t["max_score"]]
    assert thirds, "no test of the course is worth a fraction finer than 0.01 points"
    sub, test = thirds[0]
    page = (out / sub["feedback"]).read_text()
    shown = f"{round(test['max_score'], 2):.2f}".rstrip("0").rstrip(".")
    assert f"/ {shown}<" in page
    assert f"{test['max_score']:.3f}" not in page  # never 0.333 / 0.333
    assert abs(test["max_score"] - round(test["max_score"], 2)) > 1e-3  # results.json keeps the exact share

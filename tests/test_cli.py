"""The command line as an instructor meets it: exit codes, messages, files written."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, reference_code

AUTOGRADER = str(Path(sys.executable).parent / "autograder")


def run(*args, cwd=ROOT):
    return subprocess.run([AUTOGRADER, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def course_copy(tmp_path):
    shutil.copy(ROOT / "course.yaml", tmp_path / "course.yaml")
    shutil.copytree(ROOT / "source_layers", tmp_path / "source_layers")
    return tmp_path


@pytest.mark.parametrize("edit, words", [
    (lambda t: t.replace("  seed: 20261122", "  seed: 20261122\n  colour: blue"), "grading.colour': unknown key"),
    (lambda t: t.replace("{layer: Tanh,", "{layer: Tanhh,"), "layers[2].layer': unknown layer 'Tanhh'"),
    (lambda t: t.replace("{layer: Relu, points: {forward: 2,", "{layer: Relu, points: {forwards: 2,"),
     "points.forwards': Input should be 'forward', 'backward' or 'hygiene'"),
    (lambda t: t.replace("- name: activations", "- name: computational_graph"),
     "assignments[1].name': the name 'computational_graph' is used by an earlier assignment"),
    (lambda t: t.replace("{layer: Relu, points: {forward: 2,", "{layer: Relu, points: {forward: -2,"),
     "points for forward must be >= 0"),
    (lambda t: t + "  NoSuchLayer:\n    cases:\n      - {x: [3, 4]}\n", "no reference class NoSuchLayer"),
    (lambda t: t.replace("      - {x: [4, 6], W: [6, 3], b: [3]}", "      - {x: [4, 6], W: [6, 3]}"),
     "no shape given for b"),
])
def test_a_bad_course_file_gives_one_clear_message_and_exit_2(course_copy, edit, words):
    path = course_copy / "course.yaml"
    path.write_text(edit(path.read_text()))
    result = run("generate", "--course", path, cwd=course_copy)
    assert result.returncode == 2
    assert words in result.stderr and str(path) in result.stderr
    assert result.stderr.count("\n") == 1  # one message, no traceback


def test_tool_errors_exit_2_with_a_message(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no submissions found" in run("grade", empty).stderr
    assert run("grade", empty).returncode == 2
    missing = run("grade", tmp_path / "nope")
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    (tmp_path / "a.py").write_text(reference_code("Relu"))
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the output folder should be")
    result = run("grade", tmp_path / "a.py", "--out", blocked / "inside")
    assert result.returncode == 2 and "cannot write results" in result.stderr
    unknown = run("grade", tmp_path / "a.py", "--assignment", "nonexistent", "--out", tmp_path / "o")
    assert unknown.returncode == 2 and "no assignment named 'nonexistent'" in unknown.stderr


def test_grading_writes_every_output_and_a_summary(tmp_path, course):
    folder = tmp_path / "submitted"
    everything = reference_code(*(e.layer for e in course.assignment("activations").layers))
    for student, code in {"ann": everything, "bo": "class Relu: pass\n"}.items():
        target = folder / student / "activations"
        target.mkdir(parents=True)
        (target / "activations.py").write_text(code)
    out = tmp_path / "grades"
    result = run("grade", folder, "--out", out, "--seed", "42")
    assert result.returncode == 0, result.stderr
    assert "ann" in result.stdout and "100.0%" in result.stdout and "sandbox:" in result.stdout
    assert "\r" not in result.stderr  # no progress bar when not on a terminal
    for name in ("results.json", "grades.csv", "canvas.csv", "moodle.csv", "report.html", "feedback/ann.html"):
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    assert results["seed"] == 42
    by_student = {s["student"]: s for s in results["submissions"]}
    assert by_student["ann"]["assignment"] == "activations"  # from nbgrader's folder layout
    assert by_student["ann"]["score"] == by_student["ann"]["max_score"] == course.assignment("activations").max_score
    assert by_student["bo"]["score"] == 0 and by_student["bo"]["max_score"] == course.assignment("activations").max_score


def test_gradescope_format_writes_gradescope_results(tmp_path):
    upload = tmp_path / "submission"
    upload.mkdir()
    (upload / "activations.ipynb").write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": reference_code("Relu")}]}))
    (upload / "scratch.py").write_text("x = 1\n")  # students upload extra files; the notebook is graded
    out = tmp_path / "results"
    result = run("grade", upload, "--assignment", "activations", "--out", out, "--format", "gradescope")
    assert result.returncode == 0, result.stderr
    gradescope = json.loads((out / "results.json").read_text())
    assert gradescope["score"] == pytest.approx(6.0)
    assert all(t["status"] in ("passed", "failed") for t in gradescope["tests"])
    assert json.loads((out / "autograder-results.json").read_text())["submissions"][0]["student"] == "submission"  # one student per Gradescope container
    (upload / "other.ipynb").write_text((upload / "activations.ipynb").read_text())
    (upload / "activations.ipynb").unlink()
    (upload / "third.ipynb").write_text((upload / "other.ipynb").read_text())
    ambiguous = run("grade", upload, "--assignment", "activations", "--out", out, "--format", "gradescope")
    assert ambiguous.returncode == 2 and "found 3 files" in ambiguous.stderr


def test_doctor_reports_the_protections():
    result = run("doctor")
    assert result.returncode == 0
    assert "Landlock" in result.stdout or "landlock" in result.stdout


@pytest.mark.parametrize("edit, words", [
    (lambda t: t.replace("  timeout: 60", "  timout: 60"), "grading.timout': unknown key; did you mean 'timeout'?"),
    (lambda t: t.replace("    examples: [apples_and_oranges, fraction_graph]", "    exampels: [apples_and_oranges]"),
     "unknown key; did you mean 'examples'?"),
    (lambda t: t.replace("  seed: 20261122", "  seed: 20261122\n  seed: 5"), "duplicate key 'seed' (first given on line"),
    (lambda t: t.replace("title: \"Backpropagation", "title: [\"Backpropagation"), "not valid YAML"),
])
def test_course_file_typos_and_syntax_errors_say_where(course_copy, edit, words):
    path = course_copy / "course.yaml"
    original = path.read_text()
    path.write_text(edit(original))
    result = run("generate", "--course", path, cwd=course_copy)
    assert result.returncode == 2 and words in result.stderr and str(path) in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    if "duplicate" in words:
        line = next(i for i, text in enumerate(edit(original).splitlines(), 1) if text.startswith("  seed: 5"))
        assert f"{path}:{line}:" in result.stderr
    if "YAML" in words:
        assert re.search(re.escape(str(path)) + r":\d+:\d+: not valid YAML", result.stderr)

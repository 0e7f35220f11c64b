"""Runs that end badly end gently: damaged progress logs, another kit's results, Ctrl-C,
leftover feedback pages, runs where nothing ran, and a doctor on a host named like the sandbox."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, reference_code

AUTOGRADER = str(Path(sys.executable).parent / "autograder")
RELU = reference_code("Relu")


def cli(*args, **kw):
    return subprocess.run([AUTOGRADER, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture
def graded_three(course, tmp_path):
    from autograder.grading.batch import GradeOptions, grade_paths

    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("a", "b", "c", "d"):
        (folder / f"{name}.py").write_text(RELU)
    out = tmp_path / "out"
    grade_paths(course, [folder], GradeOptions(out_dir=out, workers=2, seed=3, show_progress=False))
    return folder, out


def _resume(course, folder, out):
    from autograder.grading.batch import GradeOptions, grade_paths

    return grade_paths(course, [folder], GradeOptions(out_dir=out, workers=2, resume=True, show_progress=False))


def _graded_again(out, before: int) -> list[str]:
    lines = (out / "progress.jsonl").read_text().splitlines()
    return sorted(json.loads(line)["result"]["student"] for line in lines[before:])


def test_damaged_progress_lines_are_graded_again_and_said_so(course, graded_three):
    folder, out = graded_three
    log = out / "progress.jsonl"
    header, *entries = log.read_text().splitlines()
    by_student = {json.loads(e)["result"]["student"]: e for e in entries}
    wrong_type = json.loads(by_student["b"])
    wrong_type["result"]["score"] = "ten"                    # an edit with the wrong type
    unhashable = json.loads(by_student["c"])
    unhashable["key"] = [unhashable["key"]]                  # a key that is not a string
    reformatted = json.dumps(json.loads(by_student["d"]), indent=None, separators=(",", ":"))  # valid, other layout
    log.write_text("\n".join([header, json.dumps(wrong_type), "{{{ not json", json.dumps(unhashable),
                              reformatted, by_student["a"][:57]]))  # the last one cut by a power cut
    kept = 2  # the header and d's line survive the rewrite
    results = _resume(course, folder, out)
    assert _graded_again(out, kept) == ["a", "b", "c"]
    assert [s["student"] for s in results["submissions"]] == ["a", "b", "c", "d"]
    assert all(s["score"] == s["max_score"] > 0 for s in results["submissions"])
    warning = " ".join(results["warnings"])
    assert "4 damaged lines" in warning and "graded again" in warning and "line 2: b" in warning
    full = json.loads((out / "results.json").read_text())
    assert [s["student"] for s in full["submissions"]] == ["a", "b", "c", "d"]


def test_a_damaged_header_means_everything_is_graded_again(course, graded_three):
    folder, out = graded_three
    log = out / "progress.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(['{"header": {"course": 5}}', *lines[1:]]) + "\n")
    results = _resume(course, folder, out)
    assert "first line is damaged" in " ".join(results["warnings"])
    assert _graded_again(out, 1) == ["a", "b", "c", "d"]


def test_resume_refuses_results_of_another_kit_version(course, graded_three):
    from autograder.errors import ToolError
    from autograder.version import kit_version

    folder, out = graded_three
    document = json.loads((out / "results.json").read_text())
    assert document["kit_version"] == kit_version() and document["course_version"] == course.fingerprint
    log = out / "progress.jsonl"
    header, *rest = log.read_text().splitlines()
    for version in ("0.0.1+000000000000", None):
        first = json.loads(header)
        if version is None:
            del first["header"]["kit_version"]   # a log written before versions were recorded
        else:
            first["header"]["kit_version"] = version
        log.write_text("\n".join([json.dumps(first), *rest]) + "\n")
        with pytest.raises(ToolError, match="version .* of the kit|an earlier version of the kit"):
            _resume(course, folder, out)


def test_kit_version_follows_the_code(tmp_path, monkeypatch):
    import shutil

    from autograder import version

    first = version.kit_version()
    assert first.startswith("0.") and "+" in first
    copy = tmp_path / "autograder"
    shutil.copytree(version.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(version, "PACKAGE", copy)
    version.kit_version.cache_clear()
    try:
        assert version.kit_version() == first          # the same code, wherever it is installed
        (copy / "grading" / "checks.py").write_text((copy / "grading" / "checks.py").read_text() + "# edited\n")
        version.kit_version.cache_clear()
        assert version.kit_version() != first          # an edited verdict is another kit
    finally:
        version.kit_version.cache_clear()


def _wait_for_lines(path: Path, count: int, proc) -> None:
    while proc.poll() is None:
        if path.exists() and len(path.read_text().splitlines()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the run ended before writing {count} lines: {proc.communicate()}")


def test_ctrl_c_keeps_what_finished_and_says_how_to_resume(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for i in range(12):
        (subs / f"s{i:02d}.py").write_text("import time\ntime.sleep(0.7)\n" + RELU)
    args = [AUTOGRADER, "grade", str(subs), "--assignment", "activations", "--out", str(out), "--workers", "1",
            "--timeout", "10"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_lines(out / "progress.jsonl", 3, proc)   # the header and two finished submissions
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr
    assert "--resume" in stderr and f"--out {out}" in stderr
    document = json.loads((out / "results.json").read_text())
    finished = [s["student"] for s in document["submissions"]]
    assert 2 <= len(finished) < 12 and document["interrupted"]["total"] == 12
    grades = (out / "grades.csv").read_text()
    assert all(name in grades for name in finished)
    assert (out / "report.html").exists()
    assert sorted(p.stem for p in (out / "feedback").glob("*.html")) == sorted(finished)
    again = cli("grade", subs, "--assignment", "activations", "--out", out, "--workers", "2", "--resume")
    assert again.returncode == 0, again.stderr
    document = json.loads((out / "results.json").read_text())
    assert len(document["submissions"]) == 12 and "interrupted" not in document
    assert all(s["layers"]["Relu"]["score"] == s["layers"]["Relu"]["max_score"] for s in document["submissions"])


def test_regrading_into_the_same_folder_removes_pages_of_students_not_in_the_run(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for name in ("kept", "gone"):
        (subs / f"{name}.py").write_text(RELU)
    assert cli("grade", subs, "--out", out, "--workers", "2").returncode == 0
    (subs / "gone.py").unlink()
    second = cli("grade", subs, "--out", out, "--workers", "2")
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["kept.html"]
    assert "removed 1 feedback page of students not in this run" in second.stdout


def test_a_run_where_nothing_ran_claims_nothing_about_isolation(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "broken.ipynb").write_text("{ not a notebook")
    done = cli("grade", subs, "--out", tmp_path / "out", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "without isolation" not in done.stdout
    assert "sandbox: not used: no submission ran" in done.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to enter a UTS namespace")
def test_doctor_does_not_depend_on_the_host_name(tmp_path):
    """On a host that is itself named like the sandbox, the UTS namespace is still reported."""
    script = ("import ctypes, subprocess, sys\n"
              "libc = ctypes.CDLL(None, use_errno=True)\n"
              "assert libc.unshare(0x04000000) == 0\n"  # CLONE_NEWUTS: this host's name only
              "assert libc.sethostname(b'sandbox', 7) == 0\n"
              "sys.exit(subprocess.run([sys.argv[1], 'doctor']).returncode)\n")
    done = subprocess.run([sys.executable, "-c", script, AUTOGRADER], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "uts namespace" in line)
    assert "active" in line and "MISSING" not in line, line

"""Submissions that find the sandbox's channel and write into it, graded by the real command.

Each forger writes one framed message into every writable pipe it can find (the channel to
the grader among them) and then lets the honest child go on. The batch must complete with
results.json, grades and the class report, the forgers `crashed: malformed output`, everyone
else graded as usual, and `--resume` must work on what was written.
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, reference_code

AUTOGRADER = str(Path(sys.executable).parent / "autograder")
RELU = reference_code("Relu")

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the sandbox is Linux-only")

FORGE = '''
import fcntl, os, stat, struct

def channels():
    for fd in range(3, 256):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                yield fd
        except OSError:
            pass

def forge(header: bytes, body: bytes = b""):
    payload = struct.pack("<Q", len(header)) + header + body
    for fd in channels():
        try:
            os.write(fd, struct.pack("<Q", len(payload)) + payload)
        except OSError:
            pass

def flood(total: int, piece: int = 1 << 20):
    """`total` bytes in frames of `piece` bytes, each one small enough to pass on its own."""
    frame = struct.pack("<Q", piece) + bytes(piece)
    for fd in channels():
        try:
            for _ in range(total // piece):
                os.write(fd, frame)
        except OSError:
            pass
'''

FORGERIES = {
    "int_for_list": rb'{"meta": {"kind": "cells", "count": 1, "errors": 5, "notes": []}, "arrays": []}',
    "str_for_number": rb'{"meta": {"kind": "layer", "layer": "Sigmoid", "found_as": "Sigmoid", "timeout": "3"}, "arrays": []}',
    "short_tuple": rb'{"meta": {"kind": "layer", "layer": "Sigmoid", "errors": {}}, "arrays": [["c0/out"]]}',
    "unknown_param": rb'{"meta": {"kind": "layer", "layer": "Sigmoid", "found_attrs": {"W": "dW"}}, "arrays": []}',
    "nan": rb'{"meta": {"kind": "layer", "layer": "Sigmoid", "timeout": NaN}, "arrays": []}',
    "nested": b'{"meta": ' + b"[" * 50000 + b"]" * 50000 + b', "arrays": []}',
    "not_utf8": b'{"meta": {"kind": "layer", "layer": "\xff\xfe"}, "arrays": []}',
    "duplicate_keys": rb'{"meta": {"kind": "done"}, "meta": {"kind": "hello", "protections": []}, "arrays": []}',
}


def forger(header: bytes) -> str:
    return FORGE + f"forge({header!r})\n" + RELU


def grade_cli(subs: Path, out: Path, *extra):
    return subprocess.run([AUTOGRADER, "grade", str(subs), "--assignment", "activations", "--out", str(out),
                           "--seed", "5", "--workers", "2", "--timeout", "8", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_forged_messages_end_only_their_submission_and_resume_works(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for name, header in FORGERIES.items():
        (subs / f"{name}.py").write_text(forger(header))
    (subs / "flood.py").write_text(FORGE + "flood(300 << 20)\n" + RELU)
    (subs / "honest.py").write_text(RELU)
    done = grade_cli(subs, out)
    assert done.returncode == 0, done.stderr
    results = {s["student"]: s for s in json.loads((out / "results.json").read_text())["submissions"]}
    assert set(results) == set(FORGERIES) | {"flood", "honest"}
    for name in FORGERIES:
        assert results[name]["status"] == "crashed", (name, results[name])
        assert results[name]["error"].startswith("malformed output from the sandbox"), (name, results[name]["error"])
    assert results["flood"]["status"] == "crashed"
    assert "MB its tests can produce" in results["flood"]["error"]
    honest = results["honest"]
    assert honest["status"] == "graded" and honest["layers"]["Relu"]["score"] == honest["layers"]["Relu"]["max_score"]
    rows = {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    assert set(rows) == set(results) and rows["int_for_list"]["status"] == "crashed"
    report = (out / "report.html").read_text()
    assert all(name in report for name in FORGERIES)  # listed among the submissions that did not grade
    assert all((out / "feedback" / f"{name}.html").exists() for name in results)

    again = grade_cli(subs, out, "--resume")
    assert again.returncode == 0, again.stderr
    resumed = {s["student"]: s for s in json.loads((out / "results.json").read_text())["submissions"]}
    assert resumed == results  # nothing was graded again: the same entries, durations included


def _peak_rss_mb(subs: Path, out: Path) -> float:
    """Largest resident size of any process of one grading run (grader, workers, sandboxes), in MB."""
    probe = ("import resource, subprocess, sys\n"
             "subprocess.run(sys.argv[1:], capture_output=True, check=True)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n")
    cmd = [sys.executable, "-c", probe, AUTOGRADER, "grade", str(subs), "--assignment", "activations",
           "--out", str(out), "--seed", "5", "--workers", "1", "--timeout", "20"]
    return float(subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=600).stdout)


def test_a_flooding_submission_leaves_the_grader_memory_flat(tmp_path):
    honest, hostile = tmp_path / "honest", tmp_path / "hostile"
    honest.mkdir()
    hostile.mkdir()
    (honest / "a.py").write_text(RELU)
    # 240 MB in 1 MB messages, written piece by piece so the sandbox's own memory stays small.
    (hostile / "a.py").write_text(FORGE + "flood(240 << 20)\n" + RELU)
    baseline = _peak_rss_mb(honest, tmp_path / "out1")
    flooded = _peak_rss_mb(hostile, tmp_path / "out2")
    result = json.loads((tmp_path / "out2" / "results.json").read_text())["submissions"][0]
    assert result["status"] == "crashed"
    # Buffering the message anywhere on the trusted side would add hundreds of MB.
    print(f"peak RSS: honest {baseline:.0f} MB, flooded {flooded:.0f} MB")
    assert flooded < baseline + 64, (baseline, flooded)

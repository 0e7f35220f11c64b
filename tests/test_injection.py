"""Ids from hostile file names: grade files never hold a live formula, the terminal never gets an escape."""
import csv
import os
import pty
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, reference_code

AUTOGRADER = str(Path(sys.executable).parent / "autograder")
FORMULAS = ['=HYPERLINK("evil.example","x")', "@SUM(1+1)", "+1", "-2", "\tx", "\rx"]
TERMINAL = "t\x1b]0;pwned\x07\x1b[2K\x1b[1A\u202eevil"


def make_class(root: Path) -> None:
    for student in [*FORMULAS, TERMINAL, "plain"]:
        folder = root / student / "activations"
        folder.mkdir(parents=True)
        (folder / "activations.py").write_text(reference_code("Relu"))


def test_grade_files_escape_formulas_and_the_run_names_them(tmp_path):
    make_class(tmp_path / "class")
    out = tmp_path / "out"
    done = subprocess.run([AUTOGRADER, "grade", tmp_path / "class", "--out", out, "--seed", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ("grades.csv", "canvas.csv", "moodle.csv"):
        with open(out / name, newline="", encoding="utf-8") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        for student in FORMULAS:
            assert "'" + student in cells, (name, student)
            assert student not in cells, (name, student)
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not c[1:2].isdigit())]
    for student in ["@SUM(1+1)", "+1", "-2", '=HYPERLINK("evil.example","x")']:
        assert f"warning: student id '{student}' starts like a spreadsheet formula" in done.stderr


def test_the_terminal_gets_no_escape_codes_from_ids(tmp_path):
    make_class(tmp_path / "class")
    # Through a pseudo-terminal, so the progress bar runs too.
    controller, terminal = pty.openpty()
    process = subprocess.Popen([AUTOGRADER, "grade", tmp_path / "class", "--out", tmp_path / "out", "--seed", "1"],
                               cwd=ROOT, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=300) == 0, output.decode(errors="replace")
    os.close(controller)
    text = output.decode()
    assert "\x1b]0;pwned" not in text and "\x07" not in text and "\u202e" not in text and "\x1b[2K\x1b[1A" not in text
    assert "t\\x1b]0;pwned\\x07\\x1b[2K\\x1b[1A\\u202eevil" in text  # shown, visibly escaped
    assert "plain" in text

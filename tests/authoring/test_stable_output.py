"""Generated notebooks are the same bytes on every machine, and `--check` tolerates last digits.

numpy's exp, log, tanh ... differ in the last bits between SIMD paths (AVX-512 or not, aarch64)
and versions; nothing generated may depend on those bits."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from autograder.authoring import check_cells
from autograder.authoring.equivalence import equivalent
from autograder.authoring.generate import generate, notebook_paths, render_course
from autograder.cli import main
from autograder.course.load import load_course
from autograder.course.reference import Expected

from conftest import ROOT, second_simd_path

BIN = Path(sys.executable).parent


def _nudged(value, rng, ulps=3):
    """value moved by up to `ulps` units in the last place, element by element, either way."""
    array = np.array(value, dtype=np.float64)
    steps = rng.integers(-ulps, ulps + 1, size=array.shape)
    for _ in range(ulps):
        array = np.where(steps > 0, np.nextafter(array, np.inf), array)
        array = np.where(steps < 0, np.nextafter(array, -np.inf), array)
        steps = steps - np.sign(steps)
    return np.float64(array) if array.ndim == 0 else array


def test_last_bit_noise_in_the_reference_changes_no_byte(course, monkeypatch):
    rng = np.random.default_rng(7)
    forward, backward = check_cells.reference_forward, check_cells.reference_backward
    monkeypatch.setattr(check_cells, "reference_forward", lambda spec, values: _nudged(forward(spec, values), rng))

    def noisy_backward(spec, values):
        expected = backward(spec, values)
        return Expected(out=_nudged(expected.out, rng), grads={k: _nudged(v, rng) for k, v in expected.grads.items()})

    monkeypatch.setattr(check_cells, "reference_backward", noisy_backward)
    for path, text in render_course(course).items():
        assert text.encode("utf-8") == path.read_bytes(), f"{path} changed under last-bit noise"


@pytest.mark.slow
def test_a_second_simd_path_generates_the_same_bytes(tmp_path):
    disabled = second_simd_path()
    if disabled is None:
        pytest.skip("numpy dispatches to no optional SIMD path on this CPU")
    script = ("import hashlib, json, sys\n"
              "from autograder.course.load import load_course\n"
              "from autograder.authoring.generate import render_course\n"
              "rendered = render_course(load_course(sys.argv[1]))\n"
              "print(json.dumps({str(p): hashlib.sha256(t.encode()).hexdigest() for p, t in rendered.items()}))\n")
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": disabled}
    out = subprocess.run([sys.executable, "-c", script, str(ROOT / "course.yaml")], env=env,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    import hashlib
    for path, digest in json.loads(out).items():
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest, (path, disabled)


def test_equivalence_ignores_only_the_last_digits():
    assert equivalent('{"x": [0.1234567891, 2.0]}', '{"x": [0.1234567892, 2.0]}')
    assert equivalent('{"x": 0.0}', '{"x": 3e-13}')
    assert not equivalent('{"x": [0.12345, 2.0]}', '{"x": [0.12346, 2.0]}')
    assert not equivalent('{"x": [1.0, 2.0]}', '{"x": [1.0, 2.0, 3.0]}')
    assert not equivalent('{"x": 1.0}', '{"y": 1.0}')


def _course_copy(tmp_path: Path) -> Path:
    for folder in ("source_layers", "assignments", "solutions"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "course.yaml", tmp_path / "course.yaml")
    return tmp_path / "course.yaml"


def _scale_first_output(path: Path, factor: float) -> None:
    """Multiply the first embedded expected output by factor, as another CPU's rounding might."""
    text = path.read_text()
    marker = "'out': np.array([["
    start = text.index(marker) + len(marker)
    end = start + text[start:].index(",")
    path.write_text(text[:start] + repr(float(text[start:end]) * factor) + text[end:])


def test_check_passes_and_generate_leaves_files_alone_after_last_digit_changes(tmp_path):
    course_file = _course_copy(tmp_path)
    course = load_course(course_file)
    student, _ = notebook_paths(course, course.assignments[-1])
    _scale_first_output(student, 1 + 3e-10)
    nudged = student.read_bytes()
    result = generate(course, check=True)
    assert result.stale == [] and result.leftover == []
    generate(course)
    assert student.read_bytes() == nudged  # regenerating never dirties a checkout


def test_check_still_catches_a_real_change(tmp_path):
    course_file = _course_copy(tmp_path)
    course = load_course(course_file)
    student, _ = notebook_paths(course, course.assignments[-1])
    _scale_first_output(student, 1.001)
    assert generate(course, check=True).stale == [student]


def test_check_reports_notebooks_of_removed_assignments(tmp_path):
    course_file = _course_copy(tmp_path)
    old = tmp_path / "assignments" / "retired" / "retired.ipynb"
    old.parent.mkdir()
    old.write_text("{}")
    result = CliRunner().invoke(main, ["generate", "--check", "--course", str(course_file)])
    assert result.exit_code == 1
    assert "left over" in result.output and "retired.ipynb" in result.output

"""The stages' layering is a contract: checked statically by import-linter and at run time."""
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, reference_code

LINT = str(Path(sys.executable).parent / "lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(cwd)})


def test_import_contracts_are_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_forbidden_import_breaks_the_contract(tmp_path):
    # The contract must bite: the engine importing the course is reported.
    shutil.copytree(ROOT / "autograder", tmp_path / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    child = tmp_path / "autograder" / "engine" / "child.py"
    child.write_text(child.read_text() + "\nfrom autograder.course import layerspec  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "autograder.engine.child -> autograder.course.layerspec" in result.stdout


SNOOP = '''
import sys
_FORBIDDEN = [m for m in sys.modules
              if m.split(".")[:2] in (["autograder", "course"], ["autograder", "grading"],
                                      ["autograder", "reports"], ["autograder", "authoring"])
              or m.startswith(("source_layers", "_course_reference"))]
'''


def test_the_warm_worker_holds_no_course_grading_or_report_module(grade):
    # The sandboxed child is forked from the warm worker, so what it sees in sys.modules before
    # any import of its own is what the worker holds. A Relu that is right only when that list
    # is empty turns the worker's memory into a grade.
    code = SNOOP + reference_code("Relu").replace(
        "return np.where(self.mask, 0.0, x)", "return np.where(self.mask, 0.0, x) + len(_FORBIDDEN)")
    assert "x) + len(_FORBIDDEN)" in code
    results = grade({"snoop": code}, assignment="activations")
    relu = results["snoop"]["layers"]["Relu"]
    assert relu["score"] == relu["max_score"], relu

"""The same submission with the same --seed gets the same grade on another SIMD path of numpy."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, second_simd_path

AUTOGRADER = str(Path(sys.executable).parent / "autograder")


def _verdicts(out: Path) -> dict:
    """What a grade is made of: statuses, scores, per-test scores and named mistakes (not message digits)."""
    document = json.loads((out / "results.json").read_text())
    verdicts = {}
    for entry in document["submissions"]:
        tests = sorted((t["layer"], t["name"], t["score"], t["passed"], t["misconception"]) for t in entry["tests"])
        layers = {name: layer["score"] for name, layer in (entry["layers"] or {}).items()}
        verdicts[entry["student"]] = (entry["status"], entry["score"], layers, tests)
    return verdicts


def _grade(out: Path, env: dict) -> dict:
    subprocess.run([AUTOGRADER, "grade", str(ROOT / "examples" / "class"), "--seed", "424242",
                    "--workers", "2", "--out", str(out)], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=600)
    return _verdicts(out)


@pytest.mark.slow
def test_same_seed_same_grades_on_another_simd_path(tmp_path):
    disabled = second_simd_path()
    if disabled is None:
        pytest.skip("numpy dispatches to no optional SIMD path on this CPU")
    here = _grade(tmp_path / "default", dict(os.environ))
    there = _grade(tmp_path / "other", {**os.environ, "NPY_DISABLE_CPU_FEATURES": disabled})
    assert len(here) >= 20
    assert here == there

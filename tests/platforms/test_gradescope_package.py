"""The Gradescope autograder zip, run as Gradescope runs it: unpacked into a fake /autograder tree,
setup.sh (offline: the requirements must already be satisfied by this environment), then
run_autograder per submission; results.json checked against the kit's JSON Schema of Gradescope's spec."""
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.platforms.gradescope_schema import validation_errors

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "affine_softmax"
BIN = Path(sys.executable).parent
VISIBILITY = "gradescope:\n  layers: {Affine: after_due_date}\n  categories: {hygiene: after_published}\n"


def unzip_like_gradescope(archive: Path, dest: Path) -> None:
    """Extract with the modes stored in the zip, as `unzip` does (zipfile alone drops them)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


@pytest.fixture(scope="module")
def autograder_root(tmp_path_factory):
    base = tmp_path_factory.mktemp("gradescope")
    course_file = base / "course.yaml"
    course_file.write_text((ROOT / "course.yaml").read_text().replace(
        "title:", f"reference: {ROOT / 'source_layers'}\n{VISIBILITY}title:", 1))
    archive = base / "autograder.zip"
    done = subprocess.run([str(BIN / "autograder"), "package", "gradescope", "--assignment", ASSIGNMENT,
                           "--course", str(course_file), "--out", str(archive)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    root = base / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    unzip_like_gradescope(archive, root / "source")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_VENV=sys.prefix, AUTOGRADER_PIP_ARGS="--no-index")
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True,
                           timeout=300)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    return root, env, archive


def run_autograder(root: Path, env: dict, files: dict[str, Path | bytes]) -> dict:
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder)
        (root / folder).mkdir()
    for name, content in files.items():
        target = root / "submission" / name
        target.write_bytes(content if isinstance(content, bytes) else content.read_bytes())
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((root / "results" / "results.json").read_text())
    assert validation_errors(document) == []
    return document


def test_zip_has_what_gradescope_asks_for(autograder_root):
    root, _, archive = autograder_root
    names = set(zipfile.ZipFile(archive).namelist())
    assert {"setup.sh", "run_autograder", "requirements.txt", "course.yaml", "autograder/cli.py",
            "source_layers/__init__.py"} <= names
    assert not any(n.startswith(("solutions/", "assignments/", "tests/")) for n in names)
    pins = (root / "source" / "requirements.txt").read_text().split()
    assert pins and all("==" in p for p in pins) and any(p.startswith("numpy==") for p in pins)
    assert any(p.startswith("jsonschema==") for p in pins)


def test_setup_hides_the_course_and_the_kit_runs_from_source(autograder_root):
    root, env, _ = autograder_root
    for path in (root / "source").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path   # nothing for the sandbox's uid
    done = subprocess.run([sys.executable, "-c", "import autograder, sys; print(autograder.__file__)"],
                          env={**env, "PYTHONPATH": str(root / "source")}, capture_output=True, text=True,
                          cwd=root / "source")
    assert done.stdout.strip() == str(root / "source" / "autograder" / "__init__.py")


def test_a_buggy_submission_gets_every_test_with_its_visibility(course, autograder_root):
    root, env, _ = autograder_root
    bob = ROOT / "examples" / "class" / "submitted" / "bob_dW_transposed" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    document = run_autograder(root, env, {f"{ASSIGNMENT}.ipynb": bob, "notes.txt": b"my notes"})
    tests = document["tests"]
    assert sum(t["max_score"] for t in tests) == pytest.approx(course.assignment(ASSIGNMENT).max_score)
    assert 0 < document["score"] < course.assignment(ASSIGNMENT).max_score
    assert {t["visibility"] for t in tests if t["name"].startswith("Affine: ")} == {"after_due_date"}
    failed_dw = [t for t in tests if t["name"].startswith("Affine") and t["status"] == "failed"]
    assert failed_dw and any("dW" in t["output"] for t in failed_dw)
    # the overview is shown at once: nothing of a layer whose tests wait for the due date
    assert "dW" not in document["output"] and "Affine: shown with its tests" in document["output"]
    assert {t["visibility"] for t in tests if not t["name"].startswith("Affine")} <= {"visible", "after_published"}


def test_hygiene_tests_follow_their_category(autograder_root, course):
    root, env, _ = autograder_root
    _, solution = __import__("autograder.authoring.generate", fromlist=["x"]).notebook_paths(
        course, course.assignment(ASSIGNMENT))
    document = run_autograder(root, env, {"whatever_name.ipynb": solution})
    assert document["score"] == course.assignment(ASSIGNMENT).max_score
    results = json.loads((root / "results" / "autograder-results.json").read_text())
    categories = {f"{t['layer']}: {t['name']}": t["category"] for t in results["submissions"][0]["tests"]}
    kit_tests = results["submissions"][0]["tests"]
    assert len(document["tests"]) == len(kit_tests)
    for test, kit in zip(document["tests"], kit_tests):   # Gradescope's tests follow the kit's order
        assert test["name"].startswith(kit["layer"] + ": ")
        want = "after_due_date" if kit["layer"] == "Affine" else (
            "after_published" if kit["category"] == "hygiene" else "visible")
        assert test["visibility"] == want, test["name"]
    assert categories  # every category appears
    assert {"forward", "backward", "hygiene"} == set(categories.values())


@pytest.mark.parametrize("files, reason", [
    ({}, "no submissions found"),
    ({"a.ipynb": b"{}", "b.ipynb": b"{}"}, "2 files"),
    ({f"{ASSIGNMENT}.ipynb": b"this is not json"}, "invalid"),
])
def test_a_submission_that_cannot_be_graded_scores_zero_and_says_why(autograder_root, course, files, reason):
    root, env, _ = autograder_root
    document = run_autograder(root, env, files)
    assert document["score"] == 0
    assert [t["name"] for t in document["tests"]] == ["Notebook could not be graded"]
    assert document["tests"][0]["max_score"] == course.assignment(ASSIGNMENT).max_score
    assert reason in document["tests"][0]["output"] + document["output"]


def test_the_schema_rejects_what_gradescope_would_not_accept():
    good = {"score": 1.0, "tests": [{"name": "t", "score": 1.0, "max_score": 1.0, "status": "passed",
                                     "output": "ok", "visibility": "visible"}]}
    assert validation_errors(good) == []
    for broken in ({**good, "visibility": "later"}, {**good, "tests": [{**good["tests"][0], "status": "ok"}]},
                   {**good, "tests": [{k: v for k, v in good["tests"][0].items() if k != "visibility"}]},
                   {**good, "score": "1"}, {**good, "output_format": "markdown"}, {"tests": "none"}):
        assert validation_errors(broken), broken

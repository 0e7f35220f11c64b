"""Finding an nbgrader course root, and the errors that say what is missing there."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.platforms.nbgrader_root import nbgrader_root

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def make_root(folder: Path) -> Path:
    (folder / "submitted" / "ann" / "affine_softmax").mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text("c = get_config()\n")
    return folder


def autograder(cwd, *args):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([str(BIN / "autograder"), "grade", "--course", str(ROOT / "course.yaml"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_a_root_is_the_current_folder_or_the_single_path(tmp_path):
    root = make_root(tmp_path / "course")
    assert nbgrader_root([], cwd=root) == root.resolve()
    assert nbgrader_root([root]) == root.resolve()
    assert nbgrader_root([root / "submitted"]) is None       # a folder of submissions: ordinary discovery
    assert nbgrader_root([root, root]) is None
    (root / "nbgrader_config.py").unlink()
    assert nbgrader_root([], cwd=root) is None


def test_without_paths_outside_a_root_the_command_says_what_to_give(tmp_path):
    done = autograder(tmp_path)
    assert done.returncode == 2 and "run at an nbgrader course root" in done.stderr


@pytest.mark.slow  # imports nbgrader and makes a gradebook
def test_at_a_root_the_assignment_must_be_named_and_be_in_the_gradebook(tmp_path):
    root = make_root(tmp_path / "course")
    done = autograder(root)
    assert done.returncode == 2 and "--assignment" in done.stderr
    done = autograder(root, "--assignment", "affine_softmax")
    assert done.returncode == 2
    assert "run `nbgrader generate_assignment affine_softmax`" in done.stderr, done.stderr

"""`autograder package gradescope`: the autograder zip Gradescope asks for.

At the zip's root: setup.sh and run_autograder (Gradescope unpacks the zip into /autograder/source),
requirements.txt pinned to the versions of this environment, the kit (`autograder/`), the course
(course.yaml and its reference package). The kit is run from source/ with PYTHONPATH, never installed
into site-packages: the reference layers stay in source/, which setup.sh makes readable by root only,
so that where the container lacks namespaces and Landlock the sandbox's separate uid still keeps
student code from the course.
"""
from __future__ import annotations

import importlib.metadata as metadata
import re
import stat
import zipfile
from pathlib import Path

import autograder
from autograder.course.model import Course
from autograder.errors import ToolError

KIT_DISTRIBUTION = "backprop-autograder"
KIT_FILES = ("*.py", "*.j2", "*.html", "*.json")
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# Base image: choose Ubuntu 24.04 in the autograder settings; its python3 is 3.12 (the kit needs >= 3.11).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
VENV="${AUTOGRADER_VENV:-$ROOT/venv}"
PIP_ARGS="${AUTOGRADER_PIP_ARGS:-}"          # e.g. --no-index --find-links DIR for an offline build

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

if [ ! -x "$VENV/bin/python" ]; then
  if ! command -v python3 >/dev/null || ! python_ok python3 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv python3-pip
  fi
  if ! python_ok python3; then
    echo "setup.sh: the kit needs Python >= 3.11; choose Gradescope's Ubuntu 24.04 base image" >&2
    exit 1
  fi
  python3 -m venv "$VENV"
fi
python_ok "$VENV/bin/python" || { echo "setup.sh: $VENV/bin/python is older than 3.11" >&2; exit 1; }
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install --disable-pip-version-check $PIP_ARGS --requirement "$SRC/requirements.txt"
# The course is for root's eyes only; the environment stays readable so the sandbox can import numpy.
chown -R 0:0 "$SRC" 2>/dev/null || true
chmod -R go-rwx "$SRC"
chmod 700 "$SRC/run_autograder" "$SRC/setup.sh"
echo "setup.sh: ready (python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())'))"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this, as root, for every submission: the student's files are in submission/,
# and results/results.json is what the student sees.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
PY="${AUTOGRADER_PYTHON:-${AUTOGRADER_VENV:-$ROOT/venv}/bin/python}"
mkdir -p "$ROOT/results"
cd "$SRC" || exit 1
PYTHONPATH="$SRC" "$PY" -m autograder grade "$ROOT/submission" --assignment __ASSIGNMENT__ \
    --course "$SRC/course.yaml" --format gradescope --out "$ROOT/results" --workers 1
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  # The grader itself could not start: the student still gets a result that says so.
  printf '%s\n' '{"score": 0.0, "output": "The autograder could not run; please tell your instructor.", "output_format": "md", "tests": [{"name": "Notebook could not be graded", "score": 0.0, "max_score": __MAX_SCORE__, "status": "failed", "output": "The autograder could not run; please tell your instructor.", "visibility": "visible"}]}' \
      > "$ROOT/results/results.json"
fi
exit 0
"""


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0]


def pinned_requirements(distribution: str = KIT_DISTRIBUTION) -> list[str]:
    """`name==version` for every package the kit needs at run time, as installed here."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    environment = default_environment()
    pins: dict[str, str] = {}
    todo = [distribution]
    while todo:
        name = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ToolError(f"cannot pin {name!r}: it is not installed in this environment") from None
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in pins:
            continue
        pins[key] = dist.version
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({**environment, "extra": ""}):
                continue  # extras and other platforms
            todo.append(requirement.name)
    pins.pop(distribution.lower(), None)  # the kit itself ships as source
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _files(folder: Path, patterns=KIT_FILES):
    for pattern in patterns:
        for path in sorted(folder.rglob(pattern)):
            if path.is_file() and not SKIP_PARTS & set(path.parts):
                yield path


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the same course gives the same zip
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_gradescope_zip(course: Course, assignment: str, target: Path) -> Path:
    max_score = course.assignment(assignment).max_score
    kit = Path(autograder.__file__).parent
    reference = Path(course.reference.__file__).parent
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        _add(archive, "setup.sh", SETUP_SH.encode(), executable=True)
        run = RUN_AUTOGRADER.replace("__ASSIGNMENT__", assignment).replace("__MAX_SCORE__", repr(float(max_score)))
        _add(archive, "run_autograder", run.encode(), executable=True)
        _add(archive, "requirements.txt", ("\n".join(pinned_requirements()) + "\n").encode())
        text = course.path.read_text(encoding="utf-8")
        # The reference package sits beside course.yaml in the zip, whatever it was called here.
        text = re.sub(r"(?m)^reference:.*$", f"reference: {reference.name}", text)
        if not re.search(r"(?m)^reference:", text):
            text = f"reference: {reference.name}\n" + text
        _add(archive, "course.yaml", text.encode())
        for path in _files(kit):
            _add(archive, f"autograder/{path.relative_to(kit).as_posix()}", path.read_bytes())
        for path in _files(reference, ("*.py",)):
            _add(archive, f"{reference.name}/{path.relative_to(reference).as_posix()}", path.read_bytes())
    tmp.replace(target)
    return target

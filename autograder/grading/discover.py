"""Finding submitted files and naming whose they are."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import ToolError
from autograder.sandbox.open_beneath import describe_open_error, open_beneath

SUFFIXES = {".ipynb", ".py"}
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git", ".venv", "node_modules"}


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    assignment_hint: str | None   # the <assignment> folder of nbgrader's layout, if any
    root: Path | None = None      # the folder it was found in: it is opened beneath it, never by path

    def location(self) -> dict:
        """Where the grader opens it: beneath root, without following any link."""
        root = self.root if self.root is not None else self.path.parent
        return {"root": str(root), "relpath": os.path.relpath(self.path, root)}

    def fingerprint(self) -> str:
        """Identifies this exact file content, so --resume regrades a file that changed."""
        where = self.location()
        try:
            fd = open_beneath(where["root"], where["relpath"])
        except OSError as exc:
            return f"{self.path}:{describe_open_error(exc)}"
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError:
            return f"{self.path}:unreadable"
        return f"{self.path}:{digest.hexdigest()[:16]}"


def _walk(folder: Path):
    """Submitted files beneath folder. Linked folders are not entered; a linked file is listed
    so that it is reported, but never read (see sandbox/open_beneath.py)."""
    for path in sorted(folder.iterdir()):
        if path.is_symlink():
            if path.suffix.lower() in SUFFIXES and not path.name.startswith("."):
                yield path
            continue
        if path.is_dir():
            if path.name in SKIP_DIRS or path.name.startswith("."):
                continue
            yield from _walk(path)
        elif path.suffix.lower() in SUFFIXES and not path.name.startswith("."):
            yield path


def _identify(path: Path) -> tuple[str, str | None]:
    """nbgrader's submitted/<student>/<assignment>/file.ipynb gives the student id; else the file stem."""
    parts = path.parts
    for i in range(len(parts) - 3, -1, -1):
        if parts[i] in ("submitted", "autograded") and i + 3 < len(parts):
            return parts[i + 1], parts[i + 2]
    return path.stem, None


def find_submissions(paths: list[Path], assignment: str | None = None, known: set[str] = frozenset()) -> list[Submission]:
    """Every submission under paths; with an assignment, nbgrader-layout files of other course
    assignments are left out (a class folder holds every assignment's submissions)."""
    files: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            files.extend((file, path) for file in _walk(path))
        elif path.is_file() or path.is_symlink():
            files.append((path, path.parent))
        else:
            raise ToolError(f"{path}: no such file or folder")
    found: list[Submission] = []
    seen: dict[str, int] = {}
    for file, root in dict.fromkeys(files):  # keeps order, drops repeats
        student, hint = _identify(file)
        if assignment and hint in known and hint != assignment:
            continue
        if student in seen:
            seen[student] += 1
            student = f"{student}-{file.stem}" if f"{student}-{file.stem}" not in seen else f"{student}-{seen[student]}"
        seen.setdefault(student, 0)
        found.append(Submission(student, file, hint, root))
    if not found:
        shown = ", ".join(str(p) for p in paths)
        which = f" for assignment {assignment}" if assignment else ""
        raise ToolError(f"no submissions found{which} in {shown} (looked for .ipynb and .py files)")
    return found


def choose_one(found: list[Submission], assignment: str | None) -> Submission:
    """The one submission a Gradescope run grades, when students upload more than one file.

    The notebook named after the assignment wins, else the only notebook, else the only file.
    """
    if len(found) == 1:
        return found[0]
    notebooks = [s for s in found if s.path.suffix.lower() == ".ipynb"]
    named = [s for s in notebooks if assignment and s.path.stem == assignment]
    for candidates in (named, notebooks):
        if len(candidates) == 1:
            return candidates[0]
    names = ", ".join(s.path.name for s in found)
    raise ToolError(f"--format gradescope grades one submission, but found {len(found)} files ({names}); "
                    f"name the notebook {assignment or '<assignment>'}.ipynb or upload only one")

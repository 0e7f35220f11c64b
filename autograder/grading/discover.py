"""Finding submitted files and naming whose they are."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import ToolError
from autograder.sandbox.open_beneath import describe_open_error, open_beneath

from .identity import student_and_assignment

SUFFIXES = {".ipynb", ".py"}
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git", ".venv", "node_modules"}


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    assignment_hint: str | None   # the assignment the folder layout says this is, if any
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


def _files_with_roots(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(root, file) pairs: a folder named is the root of what is below it, a file named is in its folder's."""
    pairs: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            pairs.extend((path, file) for file in _walk(path))
        elif path.is_file() or path.is_symlink():  # a link is listed, then refused when opened
            pairs.append((path.parent, path))
        else:
            raise ToolError(f"{path}: no such file or folder")
    first_root: dict[Path, Path] = {}
    for root, file in pairs:  # a file named twice (or inside a folder also named) counts once
        first_root.setdefault(file, root)
    return [(root, file) for file, root in first_root.items()]


def find_submissions(paths: list[Path], assignment: str | None = None, known: Collection[str] = frozenset(),
                     layout: str | None = None, warn: Callable[[str], None] | None = None) -> list[Submission]:
    """Every submission under paths, one per student and assignment.

    With an assignment, files the layout places in another course assignment are left out (a class
    folder holds every assignment's submissions). Several files of one student and assignment are
    resolved by pick_one (the ones left out are named through warn); if that cannot decide, the
    run stops naming the files: two students must never share an id.
    """
    groups: dict[tuple[str, str | None], list[Submission]] = {}
    for root, file in _files_with_roots(paths):
        student, hint = student_and_assignment(root, file, known, layout)
        if assignment and hint in known and hint != assignment:
            continue
        groups.setdefault((student, hint), []).append(Submission(student, file, hint, root))
    found: list[Submission] = []
    for (student, hint), candidates in groups.items():
        if len(candidates) > 1:
            chosen = pick_one(candidates, hint or assignment)
            if chosen is None:
                names = ", ".join(str(s.path) for s in candidates)
                raise ToolError(f"{len(candidates)} files give the same student id {student!r}"
                                f"{f' for assignment {hint}' if hint else ''}: {names}; keep one notebook per "
                                f"student and assignment, or say how the folders are arranged with --layout")
            if warn:
                others = ", ".join(str(s.path) for s in candidates if s is not chosen)
                warn(f"student {student!r}: grading {chosen.path}, not {others} (same student and assignment)")
            candidates = [chosen]
        found.append(candidates[0])
    if not found:
        shown = ", ".join(str(p) for p in paths)
        which = f" for assignment {assignment}" if assignment else ""
        raise ToolError(f"no submissions found{which} in {shown} (looked for .ipynb and .py files)")
    return found


def pick_one(candidates: list[Submission], assignment: str | None) -> Submission | None:
    """The notebook named after the assignment, else the only notebook, else the only file; None if unclear."""
    if len(candidates) == 1:
        return candidates[0]
    notebooks = [s for s in candidates if s.path.suffix.lower() == ".ipynb"]
    named = [s for s in notebooks if assignment and s.path.stem == assignment]
    for group in (named, notebooks):
        if len(group) == 1:
            return group[0]
    return None


def choose_one(found: list[Submission], assignment: str | None) -> Submission:
    """The one submission a Gradescope run grades, when students upload more than one file."""
    chosen = pick_one(found, assignment)
    if chosen is not None:
        return chosen
    names = ", ".join(s.path.name for s in found)
    raise ToolError(f"--format gradescope grades one submission, but found {len(found)} files ({names}); "
                    f"name the notebook {assignment or '<assignment>'}.ipynb or upload only one")

"""Whose work a file is, and for which assignment: read from the folder layout alone.

An id depends only on the file's own path below the folder the instructor named, never on
which other files are present, so adding a student renames nobody.
"""
from __future__ import annotations

from collections.abc import Collection
from pathlib import Path, PurePath

from autograder.errors import ToolError

NBGRADER_STEPS = ("submitted", "autograded")
AUTO = "auto"
LAYOUT_TOKENS = ("student", "assignment", "*")
GRADESCOPE_SUBMISSION = ("autograder", "submission")
GRADESCOPE_STUDENT = "submission"   # Gradescope grades one student per container; its id is not in the path


def parse_layout(layout: str | None) -> tuple[str, ...] | None:
    """`student/assignment`, `assignment/student`, `student`, `assignment`, `file` ... as folder roles.

    Each part names the role of one folder level below the graded folder; `*` is a level to
    ignore; `file` (or no student part) takes the student id from the file name.
    """
    if layout is None or layout == AUTO:
        return None
    if layout == "file":
        return ()
    parts = tuple(layout.strip("/").split("/"))
    for part in parts:
        if part not in LAYOUT_TOKENS:
            raise ToolError(f"--layout {layout!r}: unknown part {part!r}; use 'auto', 'file' or folder roles "
                            f"joined by '/' from: {', '.join(LAYOUT_TOKENS)} (e.g. student/assignment)")
    for token in ("student", "assignment"):
        if parts.count(token) > 1:
            raise ToolError(f"--layout {layout!r}: {token!r} appears more than once")
    return parts


def _explicit(root: Path, rel: PurePath, roles: tuple[str, ...]) -> tuple[str, str | None]:
    folders = rel.parts[:-1]
    if len(folders) < len(roles):
        raise ToolError(f"{root / rel}: --layout {'/'.join(roles)} needs {len(roles)} folder level(s) below "
                        f"{root}, but this file has {len(folders)}")
    named = dict(zip(roles, folders))
    return named.get("student", rel.stem), named.get("assignment")


def _nbgrader(path: Path) -> tuple[str, str] | None:
    """nbgrader's <step>/<student>/<assignment>/<file>, wherever the step folder is."""
    parts = path.parts
    for i in range(len(parts) - 4, -1, -1):
        if parts[i] in NBGRADER_STEPS:
            return parts[i + 1], parts[i + 2]
    return None


def student_and_assignment(root: Path, path: Path, assignments: Collection[str],
                           layout: str | None = None) -> tuple[str, str | None]:
    """The student id and the assignment (None when the layout does not say) of a file below root.

    root is the folder the instructor named (a file named directly counts as being in its folder).
    Recognised without options, first match wins:
      - nbgrader: .../submitted/<student>/<assignment>/<file> (also autograded/);
      - Gradescope: every file under /autograder/submission is the one student's;
      - a folder named after a course assignment is the assignment level:
        <root>/<student>/<assignment>/<file>, <root>/<assignment>/<student>/<file>,
        <root>/<assignment>/<file> (the file name is the student, unless it is the assignment's own
        notebook name: then the folder graded is the student's);
      - <root>/<student>/<file> (deeper folders belong to that student), with <file> named after an
        assignment giving the assignment;
      - <root>/<file>: the file name is the student, unless it is named after an assignment (then
        root is the student's folder).
    layout (`--layout`) replaces the guess for the rare other arrangement.
    """
    rel = PurePath(path).relative_to(root)
    roles = parse_layout(layout)
    if roles is not None:
        return _explicit(root, rel, roles)
    found = _nbgrader(Path(path).absolute())
    if found:
        return found
    absolute_root = Path(root).absolute()
    if absolute_root.parts[-2:] == GRADESCOPE_SUBMISSION:
        return GRADESCOPE_STUDENT, rel.stem if rel.stem in assignments else None
    folders = rel.parts[:-1]
    levels = [i for i, name in enumerate(folders) if name in assignments]
    stem = rel.stem
    if levels:
        level = levels[-1]
        assignment = folders[level]
        if level > 0:
            return folders[level - 1], assignment
        if len(folders) > 1:
            return folders[1], assignment
        return (absolute_root.name if stem == assignment else stem), assignment
    if folders:
        return folders[0], stem if stem in assignments else None
    if stem in assignments:
        return absolute_root.name, stem
    return stem, None

"""Turn student ids into safe, unique file names.

Student ids come from submission folder names or an LMS export; they are used as file
names for per-student feedback, so they must not be able to escape the output folder
("../evil", "a/b"), hide themselves (".bashrc") or overwrite each other.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
# Names Windows refuses as files, whatever the extension; feedback folders get zipped
# and opened on all platforms.
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
MAX_STEM_LENGTH = 100
FALLBACK_STEM = "student"


def safe_stem(student_id: str) -> str:
    """A file-name stem made only of letters, digits, '.', '_' and '-', not starting with a dot."""
    # Fold accents to ASCII where possible (José -> Jose) so names stay recognisable.
    ascii_id = unicodedata.normalize("NFKD", str(student_id)).encode("ascii", "ignore").decode("ascii")
    stem = _UNSAFE_CHARS.sub("_", ascii_id).lstrip(".").strip("_")[:MAX_STEM_LENGTH].rstrip(".")
    if not stem or set(stem) <= {".", "_", "-"}:
        stem = FALLBACK_STEM
    if stem.split(".")[0].lower() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    return stem


def unique_stems(student_ids: Iterable[str]) -> list[str]:
    """Safe stems, one per id in order; clashes get -2, -3, ... appended.

    Clashes are detected case-insensitively because the default file systems on macOS
    and Windows would merge "Alice" and "alice" into one file.
    """
    used: set[str] = set()
    stems: list[str] = []
    for student_id in student_ids:
        base = safe_stem(student_id)
        stem, n = base, 1
        while stem.lower() in used:
            n += 1
            stem = f"{base}-{n}"
        used.add(stem.lower())
        stems.append(stem)
    return stems

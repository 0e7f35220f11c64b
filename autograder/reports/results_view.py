"""Small read-only helpers over the results document, shared by every report writer.

The results document is a plain dict (as loaded from results.json); these helpers
tolerate missing optional fields so that a report can still be written for a partial
or older document.
"""

from __future__ import annotations

import functools
from pathlib import PurePath
from typing import Any, Iterable

GRADED = "graded"
# Statuses for submissions that did not grade, in the order the class report lists them.
NOT_GRADED_STATUSES = ("invalid", "timeout", "memory", "crashed")

# Plain-words meaning of each status, for students and instructors.
STATUS_DESCRIPTIONS = {
    "graded": "graded",
    "invalid": "the notebook could not be read or run",
    "timeout": "grading took too long and was stopped",
    "memory": "grading used too much memory and was stopped",
    "crashed": "the grader stopped unexpectedly while running this notebook",
}

DEFAULT_ASSIGNMENT_NAME = "Autograder"


def submissions(results: dict[str, Any]) -> list[dict[str, Any]]:
    return list(results.get("submissions") or [])


def is_graded(submission: dict[str, Any]) -> bool:
    return submission.get("status") == GRADED


def points(value: Any) -> float:
    """A score as a number; a missing score counts as zero points."""
    return float(value) if value is not None else 0.0


def percent(score: Any, max_score: Any) -> float | None:
    """Score as a percentage rounded to one decimal, or None when there is nothing to score."""
    if max_score is None or float(max_score) <= 0:
        return None
    return round(100.0 * points(score) / float(max_score), 1)


def _trimmed(value: Any, digits: int) -> str:
    if value is None:
        return ""
    text = f"{round(float(value), digits):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@functools.lru_cache(maxsize=4096)  # the same few point values recur in every test row
def format_points(value: Any) -> str:
    """Points as people read them: 12.5 -> '12.5', 8.0 -> '8', 1/3 -> '0.33', None -> ''."""
    return _trimmed(value, 2)


@functools.lru_cache(maxsize=4096)
def exact_points(value: Any) -> str:
    """Points as files store them: every digit the grader keeps (1/3 -> '0.333333'), no float noise."""
    return _trimmed(value, 6)


SHOWN_PATH_PARTS = 3  # <student>/<assignment>/<file>: enough to find it, nothing of the machine


def shown_path(path: Any) -> str:
    """A submission's path as pages show it: its last few parts, never where the grading machine keeps it."""
    if not path:
        return ""
    parts = [p for p in PurePath(str(path)).parts if p not in ("/", "..", ".") and not p.endswith(("\\", ":"))]
    return "/".join(parts[-SHOWN_PATH_PARTS:])


def without_paths(text: Any, path: Any) -> str:
    """text (an error, a note) with the submission's full path, and its folder, replaced by the shown path."""
    text = "" if text is None else str(text)
    if path and str(path) in text:
        text = text.replace(str(path), shown_path(path))
    folder = str(PurePath(str(path)).parent) if path else ""
    if len(folder) > 1 and folder in text:
        text = text.replace(folder, shown_path(folder))
    return text


def assignment_name(results: dict[str, Any]) -> str:
    """The name an LMS grade column gets: the assignment, else the course, else a fixed name."""
    return results.get("assignment") or results.get("course") or DEFAULT_ASSIGNMENT_NAME


def layer_names(subs: Iterable[dict[str, Any]]) -> list[str]:
    """Union of the layers across submissions, in first-seen order (the course's order)."""
    seen: dict[str, None] = {}
    for sub in subs:
        for name in sub.get("layers") or {}:
            seen.setdefault(name, None)
        # Tests can name a layer that the layers table lacks (e.g. a partial document).
        for test in sub.get("tests") or []:
            if test.get("layer"):
                seen.setdefault(test["layer"], None)
    return list(seen)


@functools.lru_cache(maxsize=4096)  # a class repeats the same few dozen names thousands of times
def short_test_name(name: str) -> str:
    """Test name without its trailing shape details.

    "backward dW, case 1 (x (4, 6), W (6, 3))" -> "backward dW, case 1". Shapes depend on
    each student's seed, so only the short name identifies the same test across students.
    """
    name = name.strip()
    if not name.endswith(")"):
        return name
    depth = 0
    for i in range(len(name) - 1, -1, -1):
        if name[i] == ")":
            depth += 1
        elif name[i] == "(":
            depth -= 1
            if depth == 0:
                head = name[:i]
                # Only strip a parenthetical that is separated from the name by a space,
                # so "forward(x)" stays whole.
                return head.rstrip() if head.endswith(" ") and head.strip() else name
    return name


def mistake_sentence(misconception: dict[str, Any] | None) -> str:
    """'Likely mistake: dW transposed — you computed ...', or '' when no mistake was named."""
    if not misconception or not misconception.get("name"):
        return ""
    sentence = f"Likely mistake: {misconception['name']}"
    if misconception.get("explanation"):
        sentence += f" — {misconception['explanation']}"
    return sentence

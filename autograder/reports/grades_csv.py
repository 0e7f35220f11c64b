"""Grade spreadsheets: the full grades.csv and LMS import files for Canvas and Moodle."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterable

from .atomic import atomic_write_text
from .results_view import assignment_name, format_points, layer_names, percent, submissions

GRADES_FIXED_COLUMNS = ["student", "score", "max_score", "percent", "status"]

# Canvas's gradebook import expects these identity columns before the assignment columns.
CANVAS_IDENTITY_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_POSSIBLE_LABEL = "Points Possible"
MOODLE_ID_COLUMN = "ID number"
LMS_FORMATS = ("canvas", "moodle")


def _csv_text(rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # default dialect: comma separated, \r\n, minimal quoting
    writer.writerows(rows)
    return buffer.getvalue()


def grades_rows(results: dict[str, Any]) -> list[list[str]]:
    """Header plus one row per submission: totals, status, then each layer's score.

    A layer that a submission has no entry for (e.g. it did not grade) gets an empty cell,
    which spreadsheets treat as "no value" rather than zero.
    """
    subs = submissions(results)
    layers = layer_names(subs)
    rows = [GRADES_FIXED_COLUMNS + layers]
    for sub in subs:
        pct = percent(sub.get("score"), sub.get("max_score"))
        sub_layers = sub.get("layers") or {}
        rows.append(
            [
                sub.get("student", ""),
                format_points(sub.get("score")),
                format_points(sub.get("max_score")),
                "" if pct is None else f"{pct:.1f}",
                sub.get("status", ""),
                *(format_points((sub_layers.get(layer) or {}).get("score")) for layer in layers),
            ]
        )
    return rows


def write_grades_csv(results: dict[str, Any], path: Path) -> Path:
    return atomic_write_text(path, _csv_text(grades_rows(results)))


def _max_score(results: dict[str, Any]) -> float | None:
    """Points possible for the assignment: the largest max_score seen (all should agree)."""
    maxima = [s["max_score"] for s in submissions(results) if s.get("max_score") is not None]
    return max(maxima) if maxima else None


def canvas_rows(results: dict[str, Any]) -> list[list[str]]:
    """Rows for Canvas's Gradebook > Import.

    We only know one id per student, so it goes into "SIS Login ID" (the login name most
    institutions use for their folders and rosters) and into "Student" so the import
    preview is readable; Canvas's own "ID", "SIS User ID" and "Section" are left empty.
    Canvas matches rows on the id columns, not on the display name. A submission with no
    score gets an empty cell, which Canvas treats as "leave the grade unchanged".
    """
    column = assignment_name(results)
    rows = [CANVAS_IDENTITY_COLUMNS + [column]]
    rows.append([CANVAS_POINTS_POSSIBLE_LABEL, "", "", "", "", format_points(_max_score(results))])
    for sub in submissions(results):
        student = sub.get("student", "")
        rows.append([student, "", "", student, "", format_points(sub.get("score"))])
    return rows


def moodle_rows(results: dict[str, Any]) -> list[list[str]]:
    """Rows for Moodle's Grades > Import > CSV file: id number, then the grade item."""
    rows = [[MOODLE_ID_COLUMN, assignment_name(results)]]
    for sub in submissions(results):
        rows.append([sub.get("student", ""), format_points(sub.get("score"))])
    return rows


def write_lms_csv(results: dict[str, Any], path: Path, lms: str = "canvas") -> Path:
    if lms == "canvas":
        rows = canvas_rows(results)
    elif lms == "moodle":
        rows = moodle_rows(results)
    else:
        raise ValueError(f"unknown LMS {lms!r}; expected one of {', '.join(LMS_FORMATS)}")
    return atomic_write_text(path, _csv_text(rows))

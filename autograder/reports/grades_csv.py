"""Grade spreadsheets: the full grades.csv and LMS import files for Canvas and Moodle.

grades.csv has one row per student and assignment; the LMS files one row per student and one
column per assignment, each with its own points possible, as gradebook imports expect.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterable

from .atomic import atomic_write_text
from .results_view import DEFAULT_ASSIGNMENT_NAME, exact_points, layer_names, percent, submissions

GRADES_FIXED_COLUMNS = ["student", "assignment", "score", "max_score", "percent", "status"]

# Canvas's gradebook import expects these identity columns before the assignment columns.
CANVAS_IDENTITY_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_POSSIBLE_LABEL = "Points Possible"
MOODLE_ID_COLUMN = "ID number"
LMS_FORMATS = ("canvas", "moodle")

# OWASP's CSV injection guidance: a cell starting with one of these is read as a formula by
# spreadsheets (the full-width forms too, by some). Such text gets a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def needs_formula_escape(text: str) -> bool:
    return str(text).startswith(FORMULA_STARTS)


def text_cell(value: Any) -> str:
    """A cell holding text from submissions (ids, assignment names): never a formula."""
    text = "" if value is None else str(value)
    return "'" + text if needs_formula_escape(text) else text


def escaped_ids(results: dict[str, Any]) -> list[str]:
    """Student ids the grade files had to escape: they will match no LMS user as written."""
    return sorted({str(s.get("student", "")) for s in submissions(results)
                   if needs_formula_escape(str(s.get("student", "")))})


def _csv_text(rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    # Every cell quoted, as OWASP advises next to the apostrophe: a separator or quote in an id
    # can never start a new cell.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerows(rows)
    return buffer.getvalue()


def _column(results: dict[str, Any], sub: dict[str, Any]) -> str:
    """The assignment a submission counts for: its own, the run's, else the course's name."""
    return sub.get("assignment") or results.get("assignment") or results.get("course") or DEFAULT_ASSIGNMENT_NAME


def grades_rows(results: dict[str, Any]) -> list[list[str]]:
    """Header plus one row per student and assignment: totals, status, then each layer's score.

    A layer that a row has no entry for (another assignment's layer, or a submission that did
    not grade) gets an empty cell, which spreadsheets treat as "no value" rather than zero.
    """
    subs = submissions(results)
    layers = layer_names(subs)
    rows = [GRADES_FIXED_COLUMNS + layers]
    for sub in subs:
        pct = percent(sub.get("score"), sub.get("max_score"))
        sub_layers = sub.get("layers") or {}
        rows.append(
            [
                text_cell(sub.get("student", "")),
                text_cell(sub.get("assignment") or results.get("assignment") or ""),
                exact_points(sub.get("score")),
                exact_points(sub.get("max_score")),
                "" if pct is None else f"{pct:.1f}",
                text_cell(sub.get("status", "")),
                *(exact_points((sub_layers.get(layer) or {}).get("score")) for layer in layers),
            ]
        )
    return rows


def write_grades_csv(results: dict[str, Any], path: Path) -> Path:
    return atomic_write_text(path, _csv_text(grades_rows(results)))


def gradebook(results: dict[str, Any]) -> tuple[list[str], dict[str, float | None], dict[str, dict[str, Any]]]:
    """(assignment columns in first-seen order, points possible per column, student -> column -> score).

    Points possible is the largest max_score of the column's submissions (for an assignment of
    the course they all agree). A score is None when the submission has none, which an import
    leaves unchanged.
    """
    columns: dict[str, float | None] = {}
    table: dict[str, dict[str, Any]] = {}
    for sub in submissions(results):
        column = _column(results, sub)
        maximum = sub.get("max_score")
        known = columns.get(column)
        columns[column] = maximum if known is None else (known if maximum is None else max(known, maximum))
        table.setdefault(str(sub.get("student", "")), {})[column] = sub.get("score")
    return list(columns), columns, table


def canvas_rows(results: dict[str, Any]) -> list[list[str]]:
    """Rows for Canvas's Gradebook > Import.

    We only know one id per student, so it goes into "SIS Login ID" (the login name most
    institutions use for their folders and rosters) and into "Student" so the import
    preview is readable; Canvas's own "ID", "SIS User ID" and "Section" are left empty.
    Canvas matches rows on the id columns, not on the display name. A student with no
    score for an assignment gets an empty cell, which Canvas treats as "leave unchanged".
    """
    columns, possible, table = gradebook(results)
    rows = [CANVAS_IDENTITY_COLUMNS + [text_cell(c) for c in columns]]
    rows.append([CANVAS_POINTS_POSSIBLE_LABEL, "", "", "", "", *(exact_points(possible[c]) for c in columns)])
    for student, scores in table.items():
        rows.append([text_cell(student), "", "", text_cell(student), "",
                     *(exact_points(scores.get(c)) for c in columns)])
    return rows


def moodle_rows(results: dict[str, Any]) -> list[list[str]]:
    """Rows for Moodle's Grades > Import > CSV file: the id number, then one column per grade item."""
    columns, _, table = gradebook(results)
    rows = [[MOODLE_ID_COLUMN, *(text_cell(c) for c in columns)]]
    for student, scores in table.items():
        rows.append([text_cell(student), *(exact_points(scores.get(c)) for c in columns)])
    return rows


def write_lms_csv(results: dict[str, Any], path: Path, lms: str = "canvas") -> Path:
    if lms == "canvas":
        rows = canvas_rows(results)
    elif lms == "moodle":
        rows = moodle_rows(results)
    else:
        raise ValueError(f"unknown LMS {lms!r}; expected one of {', '.join(LMS_FORMATS)}")
    return atomic_write_text(path, _csv_text(rows))

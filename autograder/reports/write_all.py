"""Write every output of a grading run into one folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .class_report import write_class_report
from .feedback import FEEDBACK_DIR_NAME, write_feedback
from .grades_csv import write_grades_csv, write_lms_csv

RESULTS_JSON = "results.json"
GRADES_CSV = "grades.csv"
CANVAS_CSV = "canvas.csv"
MOODLE_CSV = "moodle.csv"
CLASS_REPORT = "report.html"


def sorted_by_student(results: dict[str, Any]) -> dict[str, Any]:
    """A copy of the results with submissions in student order, so every output lists them alike
    and re-running on the same submissions gives byte-identical files."""
    subs = sorted(results.get("submissions") or [],
                  key=lambda sub: (str(sub.get("student", "")), str(sub.get("assignment") or "")))
    return {**results, "submissions": subs}


def results_json(results: dict[str, Any]) -> str:
    """One submission per line: diff-friendly and fast (an indented dump is ten times slower)."""
    head = {k: v for k, v in results.items() if k != "submissions"}
    lines = [json.dumps(sub, ensure_ascii=False) for sub in results["submissions"]]
    body = ",\n".join(lines)
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "submissions": [\n' + body + "\n]}\n"


def write_summaries(results: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """The class-level files: grades.csv, canvas.csv, moodle.csv and report.html.

    They need each submission's scores, statuses and named mistakes, not the test messages,
    so a grading run can hand over compact results and keep its memory flat.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ordered = sorted_by_student(results)
    return {
        "grades": write_grades_csv(ordered, out_dir / GRADES_CSV),
        "canvas": write_lms_csv(ordered, out_dir / CANVAS_CSV, lms="canvas"),
        "moodle": write_lms_csv(ordered, out_dir / MOODLE_CSV, lms="moodle"),
        "report": write_class_report(ordered, out_dir / CLASS_REPORT, feedback_out_dir=out_dir),
    }


def write_reports(results: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write results.json, grades.csv, canvas.csv, moodle.csv, feedback/ and report.html.

    Each file is replaced atomically, so an interrupted run leaves every file either
    complete or as it was. Returns the written paths by name; "feedback" is the folder
    holding one page per submission.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ordered = sorted_by_student(results)
    written = {"results": atomic_write_text(out_dir / RESULTS_JSON, results_json(ordered))}
    write_feedback(ordered, out_dir)
    written["feedback"] = out_dir / FEEDBACK_DIR_NAME
    written.update(write_summaries(ordered, out_dir))
    return written

"""`autograder grade` at an nbgrader course root: before grading, which files and due dates;
after it, the gradebook, autograded/ and feedback/."""
from __future__ import annotations

from pathlib import Path

from autograder.course.model import Course
from autograder.grading.batch import load_results
from autograder.reports.feedback import feedback_paths
from .nbgrader import GradebookPlan, NbgraderCourse
from .nbgrader_files import write_nbgrader_files


def prepare(root: Path, course: Course, assignment: str) -> tuple[NbgraderCourse, GradebookPlan]:
    course_dir = NbgraderCourse(root)
    return course_dir, course_dir.plan(course, assignment)


def finish(course_dir: NbgraderCourse, plan: GradebookPlan, course: Course, assignment: str,
           out_dir: Path) -> list[str]:
    document = load_results(out_dir)
    results = document["submissions"]
    pages = dict(zip((r["student"] for r in results), feedback_paths(document, out_dir)))
    layers = {entry.layer: list(course.data.layers[entry.layer].aliases) for entry in course.assignment(assignment).layers}
    lines = course_dir.record(course, assignment, plan.notebook, results)
    lines += write_nbgrader_files(course_dir, assignment, plan.notebook, results, pages, layers)
    lines.append(f"nbgrader: autograded/ and feedback/ written for {len(results)} student(s); "
                 f"`nbgrader release_feedback {assignment}` hands the pages out")
    if plan.not_submitted:
        lines.append(f"nbgrader: {len(plan.not_submitted)} student(s) of the gradebook submitted nothing: "
                     f"{', '.join(plan.not_submitted)}")
    lines += [f"nbgrader: skipped {item}" for item in plan.skipped]
    return lines

"""Grading at an nbgrader course root: the submissions of submitted/, the gradebook's students and
due dates in, the kit's scores and messages out, through nbgrader's own API (nbgrader.api.Gradebook).

Only the automatic fields are written: a grade's auto_score, a comment's auto_comment and a
notebook's late_submission_penalty. A TA's manual score or comment is never touched, so rerunning
after manual grading keeps it, and formgrader flags the cell for review as nbgrader's own
autograder does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from autograder.course.model import Course
from autograder.errors import ToolError
from autograder.grading.late import as_utc, course_due, extension
from autograder.kit.cell_ids import layer_cell_ids
from .nbgrader_root import CONFIG_FILE


def _nbgrader():
    try:
        from nbgrader import api
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader
    except ImportError:
        raise ToolError("grading at an nbgrader course root needs nbgrader in this environment: "
                        "pip install 'nbgrader>=0.9.6,<0.10'") from None
    return api, CourseDirectory, PyFileConfigLoader


@dataclass
class GradebookPlan:
    """What grading needs to know before it starts."""
    files: list[Path]                       # one notebook per student who submitted
    notebook: str                           # the gradebook's name of the assignment's notebook
    due_dates: dict[str, datetime | None]   # per student, extensions included
    not_submitted: list[str] = field(default_factory=list)   # gradebook students without a submission
    skipped: list[str] = field(default_factory=list)         # submission folders without the notebook


class NbgraderCourse:
    """One nbgrader course folder, with the paths and database its nbgrader_config.py configures."""

    def __init__(self, root: Path):
        api, CourseDirectory, PyFileConfigLoader = _nbgrader()
        self.api = api
        self.root = Path(root)
        try:
            config = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
        except Exception as exc:  # the instructor's own Python file: say where it broke
            raise ToolError(f"{self.root / CONFIG_FILE}: cannot be read: {type(exc).__name__}: {exc}") from None
        self.coursedir = CourseDirectory(config=config)
        self.coursedir.root = str(self.root)

    def folder(self, step: str, student: str, assignment: str) -> Path:
        step_dir = getattr(self.coursedir, f"{step}_directory")
        return Path(self.coursedir.format_path(step_dir, student, assignment))

    def gradebook(self):
        return self.api.Gradebook(self.coursedir.db_url, self.coursedir.course_id)

    def _assignment(self, gradebook, name: str):
        try:
            return gradebook.find_assignment(name)
        except self.api.MissingEntry:
            raise ToolError(f"{self.coursedir.db_url}: the gradebook has no assignment {name!r}; "
                            f"run `nbgrader generate_assignment {name}` at {self.root} first") from None

    def plan(self, course: Course, assignment: str) -> GradebookPlan:
        """The notebook of each student folder in submitted/<student>/<assignment>/, nothing else."""
        with self.gradebook() as gradebook:
            row = self._assignment(gradebook, assignment)
            notebooks = [nb.name for nb in row.notebooks]
            if len(notebooks) != 1:
                raise ToolError(f"{self.coursedir.db_url}: assignment {assignment!r} has {len(notebooks)} notebooks "
                                f"({', '.join(notebooks) or 'none'}); the kit grades assignments of one notebook")
            notebook = notebooks[0]
            students = sorted(s.id for s in gradebook.students)
            nb_due = as_utc(row.duedate) if row.duedate else None
            granted = {s.student.id: s.extension for s in gradebook.assignment_submissions(assignment)}
        submitted_root = Path(self.coursedir.root) / self.coursedir.submitted_directory
        found = sorted(p.name for p in submitted_root.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if submitted_root.is_dir() else []
        files, skipped, due_dates = [], [], {}
        for student in found:
            folder = self.folder("submitted", student, assignment)
            if not folder.is_dir():
                continue
            path = folder / f"{notebook}.ipynb"
            if not path.is_file():
                skipped.append(f"{student}: no {notebook}.ipynb in {folder.relative_to(self.root)}")
                continue
            files.append(path)
            if nb_due is None:
                due_dates[student] = course_due(course, student, assignment)
            else:  # the gradebook's due date; the larger of its extension and course.yaml's
                own = granted.get(student) or timedelta(0)
                due_dates[student] = nb_due + max(own, extension(course.late, student, assignment))
        submitted = {p.parent.parent.name for p in files}
        return GradebookPlan(files, notebook, due_dates, [s for s in students if s not in submitted], skipped)

    def record(self, course: Course, assignment: str, notebook: str, results: list[dict]) -> list[str]:
        """Writes every graded submission into the gradebook; returns lines for the summary."""
        added: list[str] = []
        layers = [entry.layer for entry in course.assignment(assignment).layers]
        with self.gradebook() as gradebook:
            self._assignment(gradebook, assignment)
            for result in results:
                student = result["student"]
                try:
                    gradebook.find_student(student)
                except self.api.MissingEntry:
                    gradebook.add_student(student)
                    added.append(student)
                self._record_one(gradebook, assignment, notebook, layers, result)
        lines = [f"nbgrader: {len(results)} submission(s) of {assignment} written to {self.coursedir.db_url}"]
        if added:
            lines.append(f"nbgrader: added {len(added)} student(s) missing from the gradebook: {', '.join(added)}")
        return lines

    def _record_one(self, gradebook, assignment: str, notebook: str, layers: list[str], result: dict) -> None:
        student = result["student"]
        stamp = self.coursedir.get_existing_timestamp(str(Path(result["path"]).parent))
        kwargs = {"timestamp": stamp} if stamp else {}
        gradebook.update_or_create_submission(assignment, student, **kwargs)
        submitted = gradebook.find_submission_notebook(notebook, assignment, student)
        scores = result.get("layers") or {}
        for layer in layers:
            code_id, check_id = layer_cell_ids(layer)
            try:
                grade = gradebook.find_grade(check_id, notebook, assignment, student)
            except self.api.MissingEntry:
                continue  # a source notebook edited by hand: nothing to score there
            grade.auto_score = float((scores.get(layer) or {}).get("score") or 0.0)
            # As nbgrader's own SaveAutoGrades: a manual score stays and is flagged for review.
            grade.needs_manual_grade = grade.manual_score is not None
            try:
                comment = gradebook.find_comment(code_id, notebook, assignment, student)
            except self.api.MissingEntry:
                continue
            comment.auto_comment = layer_comment(result, layer)
        for grade in submitted.grades:  # the worked examples' checks carry no points
            if grade.auto_score is None and grade.max_score == 0:
                grade.auto_score, grade.needs_manual_grade = 0.0, False
        late = result.get("late") or {}
        submitted.late_submission_penalty = late.get("penalty") or None
        gradebook.db.commit()


def layer_comment(result: dict, layer: str) -> str:
    """What formgrader shows under the layer's code cell: the score, then each failed test's message."""
    info = (result.get("layers") or {}).get(layer)
    if result.get("status") != "graded" and not info:
        return f"Not graded ({result.get('status')}): {result.get('error') or 'no result for this layer'}"
    if not info:
        return "Not graded: the class was not found."
    if info.get("found_as") is None:
        return f"{layer}: class not found (0 / {info.get('max_score'):g})."
    tests = [t for t in result.get("tests", []) if t.get("layer") == layer]
    failed = [t for t in tests if not t.get("passed")]
    lines = [f"{layer}: {info['score']:.4g} / {info['max_score']:g}; {len(tests) - len(failed)} of {len(tests)} "
             f"tests passed" + (f" (found as {info['found_as']})" if info["found_as"] != layer else "") + "."]
    for test in failed:
        line = f"- {test['name']}: {test.get('message') or 'failed'}"
        mistake = test.get("misconception")
        if mistake:
            line += f" Likely mistake: {mistake.get('explanation') or mistake.get('name')}"
        lines.append(line)
    lines += [f"Note: {n[len(layer) + 2:]}" for n in result.get("notes", []) if n.startswith(f"{layer}: ")]
    return "\n".join(lines)

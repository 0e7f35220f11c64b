"""One submission, from its sandbox outcome to its results entry (the results.json schema)."""
from __future__ import annotations

from .checks import judge_layer
from autograder.course.model import Course
from autograder.engine.messages import Cells, Hello, LayerReport
from autograder.engine.pool import MALFORMED, Outcome
from autograder.course.layerspec import LayerSpec
from .plan import SubmissionPlan
from .scoring import DEFAULT_POINTS, LayerScore, score_layer
from .discover import Submission


def layer_points(course: Course, assignment: str | None, layer: str) -> dict[str, float]:
    """Points of a layer: from the graded assignment, else the first assignment that has it."""
    candidates = [course.assignment(assignment)] if assignment else course.assignments
    for candidate in candidates:
        for entry in candidate.layers:
            if entry.layer == layer:
                return dict(entry.points)
    return dict(DEFAULT_POINTS)


def layers_for(course: Course, specs: dict[str, LayerSpec], assignment: str | None) -> list[LayerSpec]:
    if assignment:
        return [specs[entry.layer] for entry in course.assignment(assignment).layers]
    return list(specs.values())


def submission_result(course: Course, submission: Submission, assignment: str | None, plan: SubmissionPlan,
                      outcome: Outcome, h: float) -> dict:
    """Everything an instructor and a student need to know about one graded submission."""
    notes: list[str] = []
    layer_meta: dict[str, tuple[dict, dict]] = {}
    protections: list[str] | None = None
    # Messages were validated by the engine (engine.messages): typed, bounded, one per layer.
    for meta, arrays in outcome.messages:
        if isinstance(meta, Hello) and protections is None:  # sent before any submitted code ran
            protections = list(meta.protections)[:10]
        elif isinstance(meta, Cells):
            notes.extend(f"cell {report.cell}: {report.error}" for report in meta.errors[:20])
            notes.extend(meta.notes[:10])
        elif isinstance(meta, LayerReport) and meta.layer not in layer_meta:
            layer_meta[meta.layer] = (meta.as_dict(), arrays)
    scores: list[LayerScore] = []
    if outcome.status != "invalid":
        for lp in plan.layers:
            name = lp.spec.name
            meta, arrays = layer_meta.get(name, (None, {}))
            if assignment is None and (meta is None or meta.get("missing")) and outcome.status == "graded":
                continue  # free-form grading: only the layers the submission defines count
            if meta is None and outcome.status != "graded":
                meta = {"fatal": "not tested: the grading of this submission stopped before reaching this layer"}
            verdict = judge_layer(lp, meta, arrays, h)
            if assignment is None and verdict.found_as is None:
                continue  # free-form grading: only the layers the submission defines count
            scores.append(score_layer(verdict, layer_points(course, assignment, name)))
    for layer in scores:
        notes.extend(f"{layer.layer}: {n}" for n in layer.notes)
    status = outcome.status
    if status == "crashed" and "memory" in (outcome.error or "") and not outcome.error.startswith(MALFORMED):
        status = "memory"
    return {
        "student": submission.student,
        "path": str(submission.path),
        "assignment": assignment,
        "seed": plan.seed,
        "status": status,
        "error": outcome.error,
        "score": round(sum(s.score for s in scores), 4),
        "max_score": course.assignment(assignment).max_score if assignment else
        round(sum(s.max_score for s in scores), 4),
        "layers": {s.layer: {"score": s.score, "max_score": s.max_score, "found_as": s.found_as} for s in scores},
        "tests": [{"layer": s.layer, "category": t.test.category, "name": t.test.name, "score": t.score,
                   "max_score": t.max_score, "passed": t.test.passed, "message": t.test.message,
                   "misconception": t.test.misconception} for s in scores for t in s.tests],
        "notes": notes,
        "protections": protections or [],
        "duration": outcome.duration,
    }


def invalid_result(submission: Submission, assignment: str | None, max_score: float, error: str) -> dict:
    return {"student": submission.student, "path": str(submission.path), "assignment": assignment, "seed": None,
            "status": "invalid", "error": error, "score": 0.0, "max_score": max_score, "layers": {},
            "tests": [], "notes": [], "protections": [], "duration": 0.0}


def failed_result(submission: Submission, assignment: str | None, plan: SubmissionPlan, course: Course,
                  error: str) -> dict:
    """A submission whose results the grader could not judge: crashed, with the reason."""
    max_score = course.assignment(assignment).max_score if assignment else 0.0
    return {**invalid_result(submission, assignment, max_score, error), "seed": plan.seed, "status": "crashed"}

"""One submission, from its sandbox outcome to its results entry (the results.json schema)."""
from __future__ import annotations

from .checks import judge_layer
from autograder.course.model import Course
from autograder.engine.pool import Outcome
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
    for meta, arrays in outcome.messages:
        kind = meta.get("kind")
        if kind == "hello" and protections is None:  # sent before any submitted code ran
            protections = [str(p) for p in meta.get("protections", [])][:10]
        elif kind == "cells":
            for report in meta.get("errors", [])[:20]:
                notes.append(f"cell {report.get('cell')}: {report.get('error')}")
            notes.extend(str(n) for n in meta.get("notes", [])[:10])
        elif kind == "layer" and isinstance(meta.get("layer"), str) and meta["layer"] not in layer_meta:
            layer_meta[meta["layer"]] = (meta, arrays)
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
    if status == "crashed" and "memory" in (outcome.error or ""):
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

"""Per-student feedback pages: feedback/<student>.html, one self-contained file each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .filenames import unique_stems
from .results_view import (
    STATUS_DESCRIPTIONS,
    format_points,
    is_graded,
    layer_names,
    percent,
    shown_path,
    submissions,
    without_paths,
)
from .templating import render

FEEDBACK_TEMPLATE = "feedback.html.j2"
FEEDBACK_DIR_NAME = "feedback"
# Heading for tests that belong to no layer (e.g. whole-notebook hygiene checks).
UNASSIGNED_LAYER = "Other checks"


def _test_view(test: dict[str, Any]) -> dict[str, Any]:
    misconception = test.get("misconception") or None
    return {
        "name": test.get("name", ""),
        "category": test.get("category") or "",
        "passed": bool(test.get("passed")),
        "points": f"{format_points(test.get('score')) or '0'} / {format_points(test.get('max_score'))}",
        "message": test.get("message") or "",
        "mistake": misconception if misconception and misconception.get("name") else None,
    }


def _layer_views(submission: dict[str, Any]) -> list[dict[str, Any]]:
    """Layers in course order, each with its tests; tests without a layer come last."""
    layer_table = submission.get("layers") or {}
    views: dict[str, dict[str, Any]] = {}
    for name in layer_names([submission]):
        info = layer_table.get(name) or {}
        views[name] = {
            "name": name,
            "found_as": info.get("found_as"),
            "score": info.get("score"),
            "max_score": info.get("max_score"),
            "tests": [],
        }
    for test in submission.get("tests") or []:
        name = test.get("layer") or UNASSIGNED_LAYER
        if name not in views:
            views[name] = {"name": name, "found_as": None, "score": None, "max_score": None, "tests": [], "unassigned": True}
        views[name]["tests"].append(_test_view(test))
    for view in views.values():
        view.setdefault("unassigned", False)
        view["passed_count"] = sum(t["passed"] for t in view["tests"])
    return list(views.values())


def _distinct_mistakes(layers: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each named mistake once per layer, for the "what to fix first" summary at the top."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for layer in layers:
        for test in layer["tests"]:
            if test["mistake"]:
                key = (layer["name"], test["mistake"]["name"])
                seen.setdefault(key, {"layer": layer["name"], **test["mistake"]})
    return list(seen.values())


def feedback_context(results: dict[str, Any], submission: dict[str, Any]) -> dict[str, Any]:
    layers = _layer_views(submission)
    status = submission.get("status") or "unknown"
    return {
        "course": results.get("course") or "",
        "assignment": submission.get("assignment") or results.get("assignment") or "",
        "graded_at": results.get("graded_at") or "",
        "student": submission.get("student", ""),
        "path": shown_path(submission.get("path")),
        "status": status,
        "graded": is_graded(submission),
        "status_description": STATUS_DESCRIPTIONS.get(status, status),
        "error": without_paths(submission.get("error"), submission.get("path")),
        "score": submission.get("score"),
        "max_score": submission.get("max_score"),
        "percent": percent(submission.get("score"), submission.get("max_score")),
        "layers": layers,
        "mistakes": _distinct_mistakes(layers),
        "tests_passed": sum(layer["passed_count"] for layer in layers),
        "tests_total": sum(len(layer["tests"]) for layer in layers),
        "notes": [without_paths(n, submission.get("path")) for n in submission.get("notes") or []],
    }


def render_feedback(results: dict[str, Any], submission: dict[str, Any]) -> str:
    return render(FEEDBACK_TEMPLATE, **feedback_context(results, submission))


def feedback_paths(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Where each submission's feedback goes, in submission order, always inside out_dir/feedback."""
    folder = Path(out_dir) / FEEDBACK_DIR_NAME
    subs = submissions(results)
    # A run over several assignments has a page per student and assignment: name both.
    several = len({sub.get("assignment") for sub in subs}) > 1
    stems = unique_stems(f"{sub.get('student', '')}-{sub.get('assignment') or 'any'}" if several
                         else sub.get("student", "") for sub in subs)
    return [folder / f"{stem}.html" for stem in stems]


def write_feedback(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write one feedback page per submission; returns the paths in submission order."""
    paths = feedback_paths(results, out_dir)
    for submission, path in zip(submissions(results), paths):
        # Still atomic, but not flushed to disk one by one: a thousand fsyncs would dominate
        # the run time, and every page can be rebuilt from results.json, which is.
        atomic_write_text(path, render_feedback(results, submission), durable=False)
    return paths

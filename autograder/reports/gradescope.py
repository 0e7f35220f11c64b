"""Gradescope autograder output: one submission as Gradescope's results.json."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .results_view import (
    STATUS_DESCRIPTIONS,
    format_points,
    is_graded,
    layer_names,
    mistake_sentence,
    points,
    short_test_name,
    submissions,
)

OUTPUT_FORMAT = "md"
VISIBLE = "visible"
HIDDEN = "hidden"
PASSED = "passed"
FAILED = "failed"
NOT_GRADED_TEST_NAME = "Notebook could not be graded"

# Characters with a meaning in Markdown or HTML; escaped so that text written by a student
# (error messages echo their code) is shown literally and never becomes markup.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>&|#!])")


def markdown_text(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _test_output(test: dict[str, Any]) -> str:
    parts = [test.get("message") or "", mistake_sentence(test.get("misconception"))]
    return "\n\n".join(markdown_text(p) for p in parts if p)


def test_visibility(settings: dict[str, Any] | None, layer: str | None, category: str | None) -> str:
    """course.yaml's `gradescope:` key: the layer's setting, else the test category's, else the default."""
    settings = settings or {}
    return ((settings.get("layers") or {}).get(layer) or (settings.get("categories") or {}).get(category)
            or settings.get("visibility") or VISIBLE)


def _graded_tests(submission: dict[str, Any], settings: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Tests numbered "layer.test" (both from 1) in course layer order; layerless tests come last."""
    layer_index = {name: i for i, name in enumerate(layer_names([submission]), start=1)}
    unassigned_index = len(layer_index) + 1
    seen_in_layer: dict[int, int] = {}
    out = []
    for test in submission.get("tests") or []:
        layer = test.get("layer")
        major = layer_index.get(layer, unassigned_index) if layer else unassigned_index
        seen_in_layer[major] = seen_in_layer.get(major, 0) + 1
        short = short_test_name(test.get("name") or "")
        out.append(
            {
                "name": f"{layer}: {short}" if layer else short,
                "number": f"{major}.{seen_in_layer[major]}",
                "score": points(test.get("score")),
                "max_score": points(test.get("max_score")),
                "status": PASSED if test.get("passed") else FAILED,
                "output": _test_output(test),
                "visibility": test_visibility(settings, layer, test.get("category")),
            }
        )
    return out


def _summary_output(submission: dict[str, Any], withheld: set[str] = frozenset()) -> str:
    """The overview students see at once: a layer some of whose tests are shown only later
    (after the due date, ...) is left out, with its notes, so no value leaks early."""
    status = submission.get("status") or "unknown"
    score_line = (f"**Score: {format_points(points(submission.get('score')))} / "
                  f"{format_points(submission.get('max_score')) or '?'}**")
    lines = ["Scores of some tests are shown later." if withheld else score_line, "", f"Status: {markdown_text(status)}"]
    description = STATUS_DESCRIPTIONS.get(status, status)
    if description != status:
        lines[-1] += f" ({markdown_text(description)})"
    if submission.get("error"):
        lines += ["", "Error:", "", markdown_text(submission["error"])]
    layers = submission.get("layers") or {}
    if layers:
        lines += ["", "Layers:", ""]
        for name, info in layers.items():
            if name in withheld:
                lines.append(f"- {markdown_text(name)}: shown with its tests")
                continue
            found = info.get("found_as")
            where = "class not found" if found is None else (f"found as {found}" if found != name else "found")
            lines.append(
                f"- {markdown_text(name)}: {format_points(points(info.get('score')))} / "
                f"{format_points(info.get('max_score'))} ({markdown_text(where)})"
            )
    notes = [n for n in submission.get("notes") or [] if n.split(": ", 1)[0] not in withheld]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {markdown_text(note)}" for note in notes]
    return "\n".join(lines)


def gradescope_results(results: dict[str, Any], submission_index: int = 0,
                       settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """One submission in Gradescope's results.json format.

    The top-level score is the grader's total, after any late penalty (which the overview's
    notes explain), so it can be less than the sum of the tests. A submission that did
    not grade scores 0 and carries a single failed test that explains why, so the student sees
    the reason next to the points they lost rather than an empty test list. `settings` is
    course.yaml's `gradescope:` key (visibility per layer, per test category, default).
    """
    submission = submissions(results)[submission_index]
    document: dict[str, Any] = {
        "score": 0.0,
        "execution_time": round(float(submission.get("duration") or 0.0), 3),
        "output": "",
        "output_format": OUTPUT_FORMAT,
        "visibility": VISIBLE,
        "stdout_visibility": HIDDEN,
        "tests": [],
    }
    if is_graded(submission):
        tests = _graded_tests(submission, settings)
        document["tests"] = tests
        score = submission.get("score")
        document["score"] = points(score) if score is not None else sum(t["score"] for t in tests)
        withheld = {t["name"].split(": ", 1)[0] for t in tests if t["visibility"] != VISIBLE}
        document["output"] = _summary_output(submission, withheld)
    else:
        status = submission.get("status") or "unknown"
        reason = submission.get("error") or STATUS_DESCRIPTIONS.get(status, status)
        document["output"] = _summary_output(submission)
        document["tests"] = [_not_graded_test(f"Status: {status}. {reason}", points(submission.get("max_score")))]
    return document


def _not_graded_test(reason: str, max_score: float) -> dict[str, Any]:
    return {"name": NOT_GRADED_TEST_NAME, "number": "0.1", "score": 0.0, "max_score": max_score,
            "status": FAILED, "output": markdown_text(reason), "visibility": VISIBLE}


def error_results(reason: str, max_score: float = 0.0) -> dict[str, Any]:
    """results.json when grading could not start (no notebook uploaded, several to choose from ...)."""
    return {"score": 0.0, "execution_time": 0.0, "output": markdown_text(f"Not graded: {reason}"),
            "output_format": OUTPUT_FORMAT, "visibility": VISIBLE, "stdout_visibility": HIDDEN,
            "tests": [_not_graded_test(reason, max_score)]}


def write_gradescope(results: dict[str, Any], path: Path, submission_index: int = 0,
                     settings: dict[str, Any] | None = None) -> Path:
    text = json.dumps(gradescope_results(results, submission_index, settings), indent=2, ensure_ascii=False) + "\n"
    return atomic_write_text(path, text)


def write_gradescope_error(reason: str, path: Path, max_score: float = 0.0) -> Path:
    return atomic_write_text(path, json.dumps(error_results(reason, max_score), indent=2, ensure_ascii=False) + "\n")

"""The instructor's class overview: report.html, one self-contained page."""

from __future__ import annotations

import os
import statistics
from collections import Counter
from pathlib import Path, PurePath
from typing import Any

from .atomic import atomic_write_text
from .feedback import feedback_paths
from .heatmap import heatmap_geometry
from .results_view import (
    GRADED,
    NOT_GRADED_STATUSES,
    STATUS_DESCRIPTIONS,
    is_graded,
    layer_names,
    percent,
    points,
    short_test_name,
    shown_path,
    submissions,
    without_paths,
)
from .templating import render

REPORT_TEMPLATE = "report.html.j2"
HISTOGRAM_BIN_WIDTH = 10  # percent
HISTOGRAM_BINS = 100 // HISTOGRAM_BIN_WIDTH

# Histogram drawing area, in SVG user units.
SVG_WIDTH = 560
SVG_HEIGHT = 260
SVG_MARGIN_LEFT = 40
SVG_MARGIN_RIGHT = 10
SVG_MARGIN_TOP = 20
SVG_MARGIN_BOTTOM = 40
BAR_GAP = 4


def _summary(subs: list[dict[str, Any]]) -> dict[str, Any]:
    status_counts = Counter(sub.get("status") or "unknown" for sub in subs)
    graded_percents = _graded_percents(subs)
    return {
        "submissions": len(subs),
        "graded": status_counts.get(GRADED, 0),
        # Every known failure status is listed, with zero counts, so the table is stable.
        "not_graded": [
            {"status": status, "count": status_counts.get(status, 0), "description": STATUS_DESCRIPTIONS[status]}
            for status in NOT_GRADED_STATUSES
        ]
        + [
            {"status": status, "count": count, "description": status}
            for status, count in status_counts.items()
            if status != GRADED and status not in NOT_GRADED_STATUSES
        ],
        "mean_percent": round(statistics.fmean(graded_percents), 1) if graded_percents else None,
        "median_percent": round(statistics.median(graded_percents), 1) if graded_percents else None,
    }


def _graded_percents(subs: list[dict[str, Any]]) -> list[float]:
    """Percent scores of graded submissions only: a timeout says nothing about what a student knows."""
    found = (percent(sub.get("score"), sub.get("max_score")) for sub in subs if is_graded(sub))
    return [p for p in found if p is not None]


def histogram_bins(percents: list[float]) -> list[dict[str, Any]]:
    """Counts per 10-percent bin; 100 % falls into the last bin (90–100)."""
    counts = [0] * HISTOGRAM_BINS
    for p in percents:
        index = int(p // HISTOGRAM_BIN_WIDTH)
        counts[min(max(index, 0), HISTOGRAM_BINS - 1)] += 1
    bins = []
    for i, count in enumerate(counts):
        low = i * HISTOGRAM_BIN_WIDTH
        high = low + HISTOGRAM_BIN_WIDTH
        bins.append({"low": low, "high": high, "label": f"{low}–{high}", "count": count})
    return bins


def histogram_svg_geometry(bins: list[dict[str, Any]]) -> dict[str, Any]:
    """Bar rectangles for the histogram: heights proportional to counts, tallest fills the plot."""
    plot_width = SVG_WIDTH - SVG_MARGIN_LEFT - SVG_MARGIN_RIGHT
    plot_height = SVG_HEIGHT - SVG_MARGIN_TOP - SVG_MARGIN_BOTTOM
    max_count = max((b["count"] for b in bins), default=0)
    slot = plot_width / len(bins)
    baseline = SVG_MARGIN_TOP + plot_height
    bars = []
    for i, b in enumerate(bins):
        height = plot_height * b["count"] / max_count if max_count else 0.0
        x = SVG_MARGIN_LEFT + i * slot + BAR_GAP / 2
        bars.append(
            {
                **b,
                "x": round(x, 2),
                "y": round(baseline - height, 2),
                "width": round(slot - BAR_GAP, 2),
                "height": round(height, 2),
                "label_x": round(x + (slot - BAR_GAP) / 2, 2),
            }
        )
    return {
        "width": SVG_WIDTH,
        "height": SVG_HEIGHT,
        "baseline": baseline,
        "plot_left": SVG_MARGIN_LEFT,
        "plot_right": SVG_MARGIN_LEFT + plot_width,
        "plot_top": SVG_MARGIN_TOP,
        "plot_height": plot_height,
        "max_count": max_count,
        "bars": bars,
    }


def _rate(passed: int, total: int) -> float | None:
    return round(100.0 * passed / total, 1) if total else None


def _layer_pass_rates(subs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per layer over graded submissions: share of its tests passed, and share of its points earned."""
    graded = [sub for sub in subs if is_graded(sub)]
    rows = []
    for layer in layer_names(graded):
        tests = [t for sub in graded for t in sub.get("tests") or [] if t.get("layer") == layer]
        passed = sum(bool(t.get("passed")) for t in tests)
        entries = [(sub.get("layers") or {}).get(layer) or {} for sub in graded]
        earned = sum(points(e.get("score")) for e in entries)
        possible = sum(points(e.get("max_score")) for e in entries)
        not_found = sum(1 for sub in graded if layer in (sub.get("layers") or {}) and sub["layers"][layer].get("found_as") is None)
        rows.append(
            {
                "layer": layer,
                "passed": passed,
                "total": len(tests),
                "pass_rate": _rate(passed, len(tests)),
                "points_rate": round(100.0 * earned / possible, 1) if possible else None,
                "not_found": not_found,
            }
        )
    return rows


def _test_pass_rates(subs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per test over graded submissions, keyed by layer and the test name without its shapes."""
    counts: dict[tuple[str, str], list[int]] = {}
    for sub in subs:
        if not is_graded(sub):
            continue
        for test in sub.get("tests") or []:
            key = (test.get("layer") or "", short_test_name(test.get("name") or ""))
            passed_total = counts.setdefault(key, [0, 0])
            passed_total[0] += bool(test.get("passed"))
            passed_total[1] += 1
    rows = [
        {"layer": layer, "name": name, "passed": p, "total": t, "pass_rate": _rate(p, t), "order": i}
        for i, ((layer, name), (p, t)) in enumerate(counts.items())
    ]
    # Worst first; equal rates keep the course's order, so a layer's tests stay together.
    rows.sort(key=lambda row: (row["pass_rate"], row["order"]))
    return rows


def _row_label(sub: dict[str, Any], several: bool) -> str:
    student = str(sub.get("student", ""))
    return f"{student} · {sub.get('assignment') or 'any'}" if several else student


def _student_rows(subs: list[dict[str, Any]], layers: list[str], links: dict[int, str]) -> list[dict[str, Any]]:
    """Every submission, graded or not, with what the students table and the heatmap show of it."""
    several = len({sub.get("assignment") for sub in subs}) > 1
    expected: dict[Any, dict[str, None]] = {}
    for sub in subs:
        for layer in sub.get("layers") or {}:
            expected.setdefault(sub.get("assignment"), {}).setdefault(layer, None)
    rows = []
    for index, sub in enumerate(subs):
        table = sub.get("layers") or {}
        rows.append({
            "submission": sub,
            "label": _row_label(sub, several),
            "student": str(sub.get("student", "")),
            "assignment": sub.get("assignment") or "",
            "status": sub.get("status") or "unknown",
            "score": sub.get("score"),
            "max_score": sub.get("max_score"),
            "percent": percent(sub.get("score"), sub.get("max_score")),
            "layers": table,
            "layer_cells": [table.get(layer) for layer in layers],
            "expected": set(expected.get(sub.get("assignment")) or layers),
            "link": links.get(index, ""),
        })
    return rows


def common_mistakes(subs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Named mistakes, most widespread first.

    `students` counts each student once even when the mistake fails several test cases;
    `occurrences` counts the failing tests.
    """
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for sub in subs:
        for test in sub.get("tests") or []:
            misconception = test.get("misconception") or {}
            if not misconception.get("name"):
                continue
            key = (test.get("layer") or "", misconception["name"])
            entry = found.setdefault(
                key,
                {"layer": key[0], "name": key[1], "explanation": misconception.get("explanation") or "", "students": {}, "occurrences": 0},
            )
            entry["students"].setdefault(sub.get("student", ""), None)
            entry["occurrences"] += 1
    mistakes = [{**e, "students": list(e["students"]), "count": len(e["students"])} for e in found.values()]
    mistakes.sort(key=lambda m: (-m["count"], -m["occurrences"], m["layer"], m["name"]))
    return mistakes


def report_context(results: dict[str, Any], feedback_links: dict[int, str] | None = None) -> dict[str, Any]:
    """feedback_links maps a submission's index in results to its page, relative to the report."""
    subs = submissions(results)
    bins = histogram_bins(_graded_percents(subs))
    layers = layer_names(subs)
    links = feedback_links or {}
    students = _student_rows(subs, layers, links)
    test_rates = _test_pass_rates(subs)
    return {
        "course": results.get("course") or "",
        "assignment": results.get("assignment") or "",
        "graded_at": results.get("graded_at") or "",
        "seed": results.get("seed"),
        "summary": _summary(subs),
        "histogram": histogram_svg_geometry(bins),
        "layer_rates": _layer_pass_rates(subs),
        "test_rates": [row for row in test_rates if row["pass_rate"] != 100.0],
        "all_passed_tests": [row for row in test_rates if row["pass_rate"] == 100.0],
        "layers": layers,
        "students": students,
        "several_assignments": len({sub.get("assignment") for sub in subs}) > 1,
        "heatmap": heatmap_geometry(students, layers),
        "mistakes": common_mistakes(subs),
        "not_graded": [
            {
                "student": sub.get("student", ""),
                "status": sub.get("status") or "unknown",
                "error": without_paths(sub.get("error"), sub.get("path")),
                "path": shown_path(sub.get("path")),
                "link": links.get(index, ""),
            }
            for index, sub in enumerate(subs)
            if not is_graded(sub)
        ],
        "protections": list(results.get("protections") or []),
        "links": _first_link_per_student(subs, links),
    }


def _first_link_per_student(subs: list[dict[str, Any]], links: dict[int, str]) -> dict[str, str]:
    """Student -> a feedback page, for lists that name students (the mistakes table)."""
    first: dict[str, str] = {}
    for index, sub in enumerate(subs):
        if index in links:
            first.setdefault(str(sub.get("student", "")), links[index])
    return first


def _feedback_links(results: dict[str, Any], report_path: Path, feedback_out_dir: Path) -> dict[int, str]:
    """Submission index -> its feedback page relative to the report: the page the grading run
    recorded (it wrote the pages), else the one write_feedback gives it."""
    links: dict[int, str] = {}
    pages = feedback_paths(results, feedback_out_dir)
    for index, (sub, page) in enumerate(zip(submissions(results), pages)):
        recorded = sub.get("feedback")
        if isinstance(recorded, str) and recorded and not PurePath(recorded).is_absolute() and ".." not in PurePath(recorded).parts:
            page = feedback_out_dir / recorded
        links[index] = Path(os.path.relpath(page, report_path.parent)).as_posix()
    return links


def write_class_report(results: dict[str, Any], path: Path, feedback_out_dir: Path | None = None) -> Path:
    """Write report.html; with `feedback_out_dir`, student names link to their feedback pages."""
    path = Path(path)
    links = _feedback_links(results, path, Path(feedback_out_dir)) if feedback_out_dir is not None else None
    return atomic_write_text(path, render(REPORT_TEMPLATE, **report_context(results, links)))

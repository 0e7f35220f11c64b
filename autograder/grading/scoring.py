"""Points: each category's points from course.yaml shared equally among its tests, partial credit kept."""
from __future__ import annotations

from dataclasses import dataclass

from .checks import LayerVerdict, TestResult

DEFAULT_POINTS = {"forward": 1.0, "backward": 2.0, "hygiene": 1.0}


@dataclass
class ScoredTest:
    test: TestResult
    score: float
    max_score: float


@dataclass
class LayerScore:
    layer: str
    found_as: str | None
    score: float
    max_score: float
    tests: list[ScoredTest]
    notes: list[str]


def score_layer(verdict: LayerVerdict, points: dict[str, float]) -> LayerScore:
    scored = []
    for category, category_points in points.items():
        tests = [t for t in verdict.tests if t.category == category]
        for test in tests:
            share = category_points / len(tests)
            scored.append(ScoredTest(test, round(share * test.fraction, 6), round(share, 6)))
    for test in verdict.tests:  # categories worth no points are still reported
        if test.category not in points:
            scored.append(ScoredTest(test, 0.0, 0.0))
    return LayerScore(verdict.layer, verdict.found_as, round(sum(s.score for s in scored), 4),
                      round(sum(points.values()), 4), scored, verdict.notes)

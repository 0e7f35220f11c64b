"""Late submissions: when a submission came in, when it was due, and what the course's policy takes for it.

The penalty is scoring, so it lives with grading; the raw score is kept beside the penalized
one so that a platform with its own late accounting (nbgrader) can be given each part.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autograder.course.model import Course, LatePolicy

TIMESTAMP_FILE = "timestamp.txt"   # written by `nbgrader submit` and kept by `nbgrader collect`
PERIOD = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def as_utc(moment: datetime) -> datetime:
    """Times without a zone are UTC, as nbgrader stores them."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def parse_timestamp(text: str) -> datetime:
    """nbgrader's `2026-12-01 14:03:12.123456 UTC`, or ISO 8601 with or without a zone."""
    text = text.strip()
    for zone in (" UTC", " GMT", "Z"):
        if text.endswith(zone):
            text = text[: -len(zone)] + "+00:00"
            break
    return as_utc(datetime.fromisoformat(text))


def submitted_at(path: Path) -> datetime | None:
    """The time in the timestamp.txt beside a submission, if there is one that can be read."""
    stamp = path.parent / TIMESTAMP_FILE
    try:
        text = stamp.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        return parse_timestamp(text) if text.strip() else None
    except ValueError:
        return None


def extension(policy: LatePolicy, student: str, assignment: str | None) -> timedelta:
    granted = [timedelta(days=e.days, hours=e.hours) for e in policy.extensions
               if e.student == student and e.assignment in (None, assignment)]
    return max(granted, default=timedelta(0))


def course_due(course: Course, student: str, assignment: str | None) -> datetime | None:
    """The due date from course.yaml, with the student's extension."""
    if not assignment or course.assignment(assignment).due is None:
        return None
    return as_utc(course.assignment(assignment).due) + extension(course.late, student, assignment)


@dataclass(frozen=True)
class Lateness:
    submitted_at: datetime
    due: datetime
    seconds_late: float
    periods: int          # started hours or days past the due date (after the grace period)
    penalty: float        # points taken

    def note(self, policy: LatePolicy, raw: float, max_score: float) -> str:
        when = (f"submitted {self.submitted_at:%Y-%m-%d %H:%M} UTC, due {self.due:%Y-%m-%d %H:%M} UTC "
                f"({_duration(self.seconds_late)} late)")
        if not self.penalty:
            return f"Late: {when}; no penalty."
        unit = policy.per + ("s" if self.periods != 1 else "")
        rate = f"{self.periods} {unit} x {policy.penalty:g}% of {max_score:g} points"
        capped = f", capped at {policy.cap:g}%" if self.periods * policy.penalty > policy.cap else ""
        return (f"Late: {when}; penalty {rate}{capped} = {self.penalty:.4g} points "
                f"(score {raw:.4g} before the penalty, {max(0.0, raw - self.penalty):.4g} after).")


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * (not days)
    return " ".join(parts) or "under a minute"


def assess(policy: LatePolicy, due: datetime | None, submitted: datetime | None, raw: float,
           max_score: float) -> Lateness | None:
    """None when the submission is on time or either time is unknown."""
    if due is None or submitted is None:
        return None
    late = (submitted - due).total_seconds()
    if late <= 0:
        return None
    counted = late - policy.grace_minutes * 60
    periods = max(0, math.ceil(counted / PERIOD[policy.per].total_seconds())) if counted > 0 else 0
    percent = min(policy.cap, periods * policy.penalty)
    penalty = min(max(raw, 0.0), round(max_score * percent / 100, 4))
    return Lateness(submitted, due, late, periods, penalty)


def apply_late_policy(course: Course, result: dict, due: datetime | None) -> dict:
    """Adds `raw_score` and `late` to a result and takes the penalty from its score."""
    submitted = submitted_at(Path(result["path"]))
    result["raw_score"] = result["score"]
    result["late"] = None
    if submitted is not None:
        result["submitted_at"] = submitted.strftime("%Y-%m-%dT%H:%M:%SZ")
    lateness = assess(course.late, due, submitted, result["score"], result["max_score"] or 0.0)
    if lateness is None:
        return result
    result["late"] = {"submitted_at": result["submitted_at"], "due": lateness.due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "seconds_late": round(lateness.seconds_late, 1), "periods": lateness.periods,
                      "penalty": lateness.penalty}
    result["score"] = round(result["score"] - lateness.penalty, 4)
    result["notes"] = [lateness.note(course.late, result["raw_score"], result["max_score"] or 0.0)] + result["notes"]
    return result

"""Grading a class: discover, plan, run in the sandbox pool, judge, record as we go, report."""
from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from autograder.course.model import Course
from autograder.engine.pool import SandboxPool
from autograder.errors import ToolError
from autograder.terminal import printable
from autograder.version import kit_version
from .expect import reply_expectation
from .result import failed_result, layers_for, submission_result
from autograder.course.layerspec import layer_specs
from .plan import job_for, plan_submission
from autograder.reports.atomic import atomic_write_text
from autograder.reports.feedback import FEEDBACK_DIR_NAME, feedback_paths, render_feedback
from autograder.reports.write_all import RESULTS_JSON
from .discover import Submission, choose_one, find_submissions
from .late import apply_late_policy, course_due
from .progress import PROGRESS_FILE, ProgressLog, compact  # noqa: F401 - PROGRESS_FILE is part of this API



@dataclass
class GradeOptions:
    assignment: str | None = None
    out_dir: Path = Path("grades")
    workers: int = os.cpu_count() or 1
    seed: int | None = None
    resume: bool = False
    timeout: float | None = None
    memory_mb: int | None = None
    max_processes: int | None = None
    max_file_mb: int | None = None
    max_open_files: int | None = None
    max_disk_mb: int | None = None
    max_files: int | None = None
    show_progress: bool | None = None
    single: bool = False            # grade exactly one submission (Gradescope runs one at a time)
    layout: str | None = None       # how folders name students and assignments (identity.parse_layout)
    due_dates: dict[str, datetime | None] | None = None   # per student, from a platform; else course.yaml's


def _limits(course: Course, options: GradeOptions) -> tuple[dict, dict]:
    g = course.grading
    timeout = options.timeout or g.timeout
    limits = {"memory_mb": options.memory_mb or g.memory_mb,
              "max_processes": options.max_processes or g.max_processes,
              "max_file_mb": options.max_file_mb or g.max_file_mb,
              "max_open_files": options.max_open_files or g.max_open_files,
              "max_disk_mb": options.max_disk_mb or g.max_disk_mb,
              "max_files": options.max_files or g.max_files,
              "cpu_seconds": int(timeout) + 1}
    # One slow cell or layer must leave time for the rest of the submission.
    timeouts = {"timeout": timeout, "layer_timeout": min(g.layer_timeout, timeout / 4),
                "cell_timeout": min(g.cell_timeout, timeout / 4), "max_notebook_mb": g.max_notebook_mb}
    return limits, timeouts


def _warn(message: str) -> None:
    print(f"warning: {printable(message)}", file=sys.stderr)


def _prepare_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ToolError(f"{out_dir}: cannot write results there: {exc.strerror or exc}") from None


def grade_paths(course: Course, paths: list[Path], options: GradeOptions, pool: SandboxPool | None = None) -> dict:
    """Grade every submission under paths.

    Writes results.json, the progress log and each feedback page as it goes; returns the
    results document in compact form (no test messages), which is all the class-level
    reports need. load_results() reads the full one. A pool passed in (started early, so
    its workers warm up while the course loads) is closed at the end.
    """
    if options.assignment:
        course.assignment(options.assignment)  # unknown names fail before any work
    known = {a.name for a in course.assignments}
    submissions = find_submissions(paths, options.assignment, known, options.layout, warn=_warn)
    if options.single:
        submissions = [choose_one(submissions, options.assignment)]
    _prepare_out_dir(options.out_dir)
    specs = layer_specs(course)
    header = {"course": course.title, "assignment": options.assignment, "course_version": course.fingerprint,
              "kit_version": kit_version(), "seed": options.seed if options.seed is not None else secrets.randbelow(2 ** 31)}
    log = ProgressLog(options.out_dir / PROGRESS_FILE, header, options.resume)
    run_seed = header["seed"]
    limits, timeouts = _limits(course, options)
    h = course.grading.numerical_step
    results: dict[str, dict] = {}
    pending: list[tuple[str, Submission]] = []
    keys = [sub.fingerprint() for sub in submissions]
    def assignment_of(sub: Submission) -> str | None:
        return options.assignment or (sub.assignment_hint if sub.assignment_hint in known else None)

    pages = dict(zip(keys, feedback_paths({"submissions": [{"student": s.student, "assignment": assignment_of(s)}
                                                           for s in submissions]},
                                          options.out_dir)))
    head = {"course": course.title, "assignment": options.assignment, "seed": run_seed,
            "course_version": course.fingerprint, "kit_version": header["kit_version"]}
    warnings = log.warnings + _remove_stale_pages(options.out_dir, set(pages.values()))
    for sub, key in zip(submissions, keys):
        if key in log.done:
            results[key] = log.done[key]
        else:
            pending.append((key, sub))
    show = sys.stderr.isatty() if options.show_progress is None else options.show_progress
    bar = tqdm(total=len(submissions), initial=len(results), unit="sub", disable=not show, file=sys.stderr,
               dynamic_ncols=True)
    started = time.monotonic()
    pool = pool or SandboxPool(min(options.workers, max(1, len(pending))))
    in_flight: dict[str, tuple[Submission, str | None, object]] = {}
    interrupted = False
    try:
        queue_iter = iter(pending)
        exhausted = False
        while not exhausted or in_flight:
            while not exhausted and len(in_flight) < pool.workers * 2:
                item = next(queue_iter, None)
                if item is None:
                    exhausted = True
                    break
                key, sub = item
                assignment = assignment_of(sub)
                plan = plan_submission(layers_for(course, specs, assignment),
                                       course.grading.seed ^ run_seed, sub.student)
                job, arrays = job_for(plan, str(sub.path), course, limits, timeouts)
                job.update(sub.location())
                in_flight[key] = (sub, assignment, plan)
                pool.submit(key, job, arrays, reply_expectation(plan))
            if not in_flight:
                break
            key, outcome = pool.next_result()
            sub, assignment, plan = in_flight.pop(key)
            try:
                result = submission_result(course, sub, assignment, plan, outcome, h)
                due = options.due_dates.get(sub.student) if options.due_dates is not None else \
                    course_due(course, sub.student, assignment)
                result = apply_late_policy(course, result, due)
            except Exception as exc:  # a fault of the verdicts must cost this submission only
                result = failed_result(sub, assignment, plan, course, f"the grader failed on this submission's "
                                       f"results ({type(exc).__name__}: {exc}); please report this")
            result["feedback"] = pages[key].relative_to(options.out_dir).as_posix()
            log.record(key, result)
            atomic_write_text(pages[key], render_feedback(head, result), durable=False)
            results[key] = compact(result)
            bar.update(1)
            bar.set_postfix_str(f"{printable(sub.student)}: {result['status']}", refresh=False)
    except KeyboardInterrupt:
        # Ctrl-C: what finished is kept and reported; the submissions in flight are graded on --resume.
        interrupted = True
    finally:
        pool.close(wait=not interrupted)
        bar.close()
        log.close()
    elapsed = time.monotonic() - started
    ordered = [results[key] for key in keys if key in results]
    protections = next((r["protections"] for r in ordered if r.get("protections")), [])
    document = {
        **head,
        "graded_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elapsed": round(elapsed, 3),
        "protections": protections,
    }
    if interrupted:
        document["interrupted"] = {"graded": len(ordered), "total": len(submissions)}
    log.copy_results(keys, document, options.out_dir / RESULTS_JSON)
    return {**document, "submissions": ordered, "warnings": warnings}


def _remove_stale_pages(out_dir: Path, pages: set[Path]) -> list[str]:
    """Feedback pages left in --out by an earlier run, of students this run does not grade."""
    folder = out_dir / FEEDBACK_DIR_NAME
    stale = [p for p in folder.glob("*.html") if p not in pages] if folder.is_dir() else []
    for page in stale:
        page.unlink(missing_ok=True)
    if not stale:
        return []
    return [f"removed {len(stale)} feedback page{'s' if len(stale) > 1 else ''} of students not in this run "
            f"from {folder.name}/ (e.g. {stale[0].name})"]


def load_results(out_dir: Path) -> dict:
    """The full results document of a run (grade_paths returns a compact one)."""
    return json.loads((Path(out_dir) / RESULTS_JSON).read_text(encoding="utf-8"))

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

from .course import Course
from .engine.pool import SandboxPool
from .errors import ToolError
from .grading import layers_for, submission_result
from .layerspec import layer_specs
from .plan import job_for, plan_submission
from .reports.atomic import atomic_write_text
from .submissions import Submission, find_submissions

PROGRESS_FILE = "progress.jsonl"


@dataclass
class GradeOptions:
    assignment: str | None = None
    out_dir: Path = Path("grades")
    workers: int = os.cpu_count() or 1
    seed: int | None = None
    resume: bool = False
    timeout: float | None = None
    memory_mb: int | None = None
    show_progress: bool | None = None


def _limits(course: Course, options: GradeOptions) -> tuple[dict, dict]:
    g = course.grading
    timeout = options.timeout or g.timeout
    limits = {"memory_mb": options.memory_mb or g.memory_mb, "max_processes": g.max_processes,
              "max_file_mb": g.max_file_mb, "max_open_files": g.max_open_files,
              "cpu_seconds": int(timeout) + 1}
    # One slow cell or layer must leave time for the rest of the submission.
    timeouts = {"timeout": timeout, "layer_timeout": min(g.layer_timeout, timeout / 4),
                "cell_timeout": min(g.cell_timeout, timeout / 4), "max_notebook_mb": g.max_notebook_mb}
    return limits, timeouts


class ProgressLog:
    """Each finished submission is appended at once, so an interrupted run loses nothing."""

    def __init__(self, path: Path, header: dict, resume: bool):
        self.path = path
        self.done: dict[str, dict] = {}
        if resume and path.exists():
            self._load(header)
            self.handle = open(path, "a", encoding="utf-8")
        else:
            self.handle = open(path, "w", encoding="utf-8")
            self._append({"header": header})
        self.since_sync = 0

    def _load(self, header: dict) -> None:
        with open(self.path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        try:
            first = json.loads(lines[0])["header"]
        except (IndexError, ValueError, KeyError, TypeError):
            raise ToolError(f"{self.path}: cannot resume: the progress file is damaged; grade again without --resume")
        for key in ("course", "assignment"):
            if first.get(key) != header.get(key):
                raise ToolError(f"{self.path}: cannot resume: it was made for {key} {first.get(key)!r}, "
                                f"not {header.get(key)!r}")
        header["seed"] = first["seed"]
        kept = [lines[0]]
        for line in lines[1:]:
            try:
                entry = json.loads(line)
                self.done[entry["key"]] = entry["result"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by the interruption: that submission is graded again
            kept.append(line)
        # Rewrite without the damaged tail, so appended lines start on a line of their own.
        atomic_write_text(self.path, "\n".join(kept) + "\n")

    def _append(self, obj: dict) -> None:
        self.handle.write(json.dumps(obj) + "\n")
        self.handle.flush()

    def record(self, key: str, result: dict) -> None:
        self._append({"key": key, "result": result})
        self.since_sync += 1
        if self.since_sync >= 25:
            os.fsync(self.handle.fileno())
            self.since_sync = 0

    def close(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


def _prepare_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ToolError(f"{out_dir}: cannot write results there: {exc.strerror or exc}") from None


def grade_paths(course: Course, paths: list[Path], options: GradeOptions) -> dict:
    """Grade every submission under paths; returns the results document (also written to out_dir)."""
    if options.assignment:
        course.assignment(options.assignment)  # unknown names fail before any work
    submissions = find_submissions(paths)
    _prepare_out_dir(options.out_dir)
    specs = layer_specs(course)
    known = {a.name for a in course.assignments}
    header = {"course": course.title, "assignment": options.assignment,
              "seed": options.seed if options.seed is not None else secrets.randbelow(2 ** 31)}
    log = ProgressLog(options.out_dir / PROGRESS_FILE, header, options.resume)
    run_seed = header["seed"]
    limits, timeouts = _limits(course, options)
    h = course.grading.numerical_step
    results: dict[str, dict] = {}
    pending: list[tuple[str, Submission]] = []
    keys = [sub.fingerprint() for sub in submissions]
    for sub, key in zip(submissions, keys):
        if key in log.done:
            results[key] = log.done[key]
        else:
            pending.append((key, sub))
    show = sys.stderr.isatty() if options.show_progress is None else options.show_progress
    bar = tqdm(total=len(submissions), initial=len(results), unit="sub", disable=not show, file=sys.stderr,
               dynamic_ncols=True)
    started = time.monotonic()
    pool = SandboxPool(min(options.workers, max(1, len(pending))))
    in_flight: dict[str, tuple[Submission, str | None, object]] = {}
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
                assignment = options.assignment or (sub.assignment_hint if sub.assignment_hint in known else None)
                plan = plan_submission(layers_for(course, specs, assignment),
                                       course.grading.seed ^ run_seed, sub.student)
                job, arrays = job_for(plan, str(sub.path.resolve()), course, limits, timeouts)
                in_flight[key] = (sub, assignment, plan)
                pool.submit(key, job, arrays)
            if not in_flight:
                break
            key, outcome = pool.next_result()
            sub, assignment, plan = in_flight.pop(key)
            result = submission_result(course, sub, assignment, plan, outcome, h)
            results[key] = result
            log.record(key, result)
            bar.update(1)
            bar.set_postfix_str(f"{sub.student}: {result['status']}", refresh=False)
    finally:
        pool.close()
        bar.close()
        log.close()
    elapsed = time.monotonic() - started
    ordered = [results[key] for key in keys if key in results]
    protections = next((r["protections"] for r in ordered if r.get("protections")), [])
    return {
        "course": course.title,
        "assignment": options.assignment,
        "seed": run_seed,
        "graded_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elapsed": round(elapsed, 3),
        "protections": protections,
        "submissions": ordered,
    }

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
from .result import layers_for, submission_result
from autograder.course.layerspec import layer_specs
from .plan import job_for, plan_submission
from autograder.reports.atomic import atomic_write_bytes, atomic_write_text
from autograder.reports.feedback import feedback_paths, render_feedback
from autograder.reports.write_all import RESULTS_JSON
from .discover import Submission, choose_one, find_submissions

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
    max_processes: int | None = None
    max_file_mb: int | None = None
    max_open_files: int | None = None
    show_progress: bool | None = None
    single: bool = False            # grade exactly one submission (Gradescope runs one at a time)
    layout: str | None = None       # how folders name students and assignments (identity.parse_layout)


def _limits(course: Course, options: GradeOptions) -> tuple[dict, dict]:
    g = course.grading
    timeout = options.timeout or g.timeout
    limits = {"memory_mb": options.memory_mb or g.memory_mb,
              "max_processes": options.max_processes or g.max_processes,
              "max_file_mb": options.max_file_mb or g.max_file_mb,
              "max_open_files": options.max_open_files or g.max_open_files,
              "cpu_seconds": int(timeout) + 1}
    # One slow cell or layer must leave time for the rest of the submission.
    timeouts = {"timeout": timeout, "layer_timeout": min(g.layer_timeout, timeout / 4),
                "cell_timeout": min(g.cell_timeout, timeout / 4), "max_notebook_mb": g.max_notebook_mb}
    return limits, timeouts


class ProgressLog:
    """Each finished submission is appended at once, so an interrupted run loses nothing.

    The log also remembers where each result's line starts, so results.json can be written
    at the end by copying lines instead of holding every result in memory.
    """

    def __init__(self, path: Path, header: dict, resume: bool):
        self.path = path
        self.done: dict[str, dict] = {}      # compact results of finished submissions
        self.offsets: dict[str, tuple[int, int]] = {}
        if resume and path.exists():
            self._load(header)
            self.handle = open(path, "ab")
        else:
            self.handle = open(path, "wb")
            self._append({"header": header})
        self.since_sync = 0

    def _load(self, header: dict) -> None:
        with open(self.path, "rb") as handle:
            lines = handle.read().split(b"\n")
        try:
            first = json.loads(lines[0])["header"]
        except (IndexError, ValueError, KeyError, TypeError):
            raise ToolError(f"{self.path}: cannot resume: the progress file is damaged; grade again without --resume")
        for key in ("course", "assignment"):
            if first.get(key) != header.get(key):
                raise ToolError(f"{self.path}: cannot resume: it was made for {key} {first.get(key)!r}, "
                                f"not {header.get(key)!r}")
        if first.get("course_version") != header.get("course_version"):
            raise ToolError(f"{self.path}: cannot resume: course.yaml or the reference layers changed since "
                            f"this run started; grade again without --resume")
        header["seed"] = first["seed"]
        kept = [lines[0]]
        offset = len(lines[0]) + 1
        for line in lines[1:]:
            try:
                entry = json.loads(line)
                key, result = entry["key"], entry["result"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by the interruption: that submission is graded again
            self.done[key] = compact(result)
            self.offsets[key] = (offset, len(line))
            kept.append(line)
            offset += len(line) + 1
        # Rewrite without the damaged tail, so appended lines start on a line of their own.
        atomic_write_bytes(self.path, b"\n".join(kept) + b"\n")

    def _append(self, obj: dict) -> tuple[int, int]:
        line = json.dumps(obj, ensure_ascii=False).encode()
        start = self.handle.tell()
        self.handle.write(line + b"\n")
        self.handle.flush()
        return start, len(line)

    def record(self, key: str, result: dict) -> None:
        self.offsets[key] = self._append({"key": key, "result": result})
        self.since_sync += 1
        if self.since_sync >= 25:
            os.fsync(self.handle.fileno())
            self.since_sync = 0

    def copy_results(self, keys: list[str], head: dict, target: Path) -> None:
        """results.json: the run's header, then each result's line from the log, in order."""
        opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "submissions": [\n'
        tmp = target.with_name(f".{target.name}.tmp")
        with open(self.path, "rb") as log, open(tmp, "wb") as out:
            out.write(opening.encode())
            first = True
            for key in keys:
                if key not in self.offsets:
                    continue
                start, length = self.offsets[key]
                log.seek(start)
                line = log.read(length)
                # A line is {"key": "...", "result": {...}}; quotes inside the key are escaped, so the
                # first '"result": ' is the field itself.
                result = line[line.index(b'"result": ') + len(b'"result": '):-1]
                out.write((b"" if first else b",\n") + result)
                first = False
            out.write(b"\n]}\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)

    def close(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


def compact(result: dict) -> dict:
    """What the class-level reports need of a result: no messages, notes or explanations."""
    tests = [{"layer": t["layer"], "category": t["category"], "name": t["name"], "score": t["score"],
              "max_score": t["max_score"], "passed": t["passed"],
              "misconception": {"name": t["misconception"]["name"], "explanation": t["misconception"]["explanation"]}
              if t.get("misconception") else None}
             for t in result.get("tests", [])]
    return {**{k: v for k, v in result.items() if k not in ("tests", "notes")}, "tests": tests, "notes": []}


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
              "seed": options.seed if options.seed is not None else secrets.randbelow(2 ** 31)}
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
    head = {"course": course.title, "assignment": options.assignment, "seed": run_seed}
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
                job, arrays = job_for(plan, str(sub.path.resolve()), course, limits, timeouts)
                in_flight[key] = (sub, assignment, plan)
                pool.submit(key, job, arrays)
            if not in_flight:
                break
            key, outcome = pool.next_result()
            sub, assignment, plan = in_flight.pop(key)
            result = submission_result(course, sub, assignment, plan, outcome, h)
            result["feedback"] = pages[key].relative_to(options.out_dir).as_posix()
            log.record(key, result)
            atomic_write_text(pages[key], render_feedback(head, result), durable=False)
            results[key] = compact(result)
            bar.update(1)
            bar.set_postfix_str(f"{printable(sub.student)}: {result['status']}", refresh=False)
    finally:
        pool.close()
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
    log.copy_results(keys, document, options.out_dir / RESULTS_JSON)
    return {**document, "submissions": ordered}


def load_results(out_dir: Path) -> dict:
    """The full results document of a run (grade_paths returns a compact one)."""
    return json.loads((Path(out_dir) / RESULTS_JSON).read_text(encoding="utf-8"))

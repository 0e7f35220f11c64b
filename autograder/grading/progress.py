"""The progress log of a grading run: one line per finished submission, read back by --resume.

A line cut short by a power cut, or edited by hand, must never stop a resume: every line is
checked against the shape results have (`RecordedResult`) and a damaged one only means its
submission is graded again, which the summary then says.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autograder.errors import ToolError
from autograder.reports.atomic import atomic_write_bytes

PROGRESS_FILE = "progress.jsonl"


class _Lenient(BaseModel):
    # Typed where the reports read, open to fields a newer result adds.
    model_config = ConfigDict(strict=True, extra="allow")


class _Misconception(_Lenient):
    name: str
    explanation: str


class _Test(_Lenient):
    layer: str
    category: str
    name: str
    score: float
    max_score: float
    passed: bool
    misconception: _Misconception | None = None


class _Layer(_Lenient):
    score: float
    max_score: float
    found_as: str | None


class RecordedResult(_Lenient):
    student: str
    path: str
    assignment: str | None
    seed: int | None
    status: str
    error: str | None
    score: float
    max_score: float
    layers: dict[str, _Layer]
    tests: list[_Test]
    notes: list[str]
    protections: list[str]
    duration: float


class _Entry(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    key: str = Field(min_length=1)
    result: RecordedResult


class RunHeader(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    course: str
    assignment: str | None
    course_version: str
    kit_version: str | None = None
    seed: int


class ProgressLog:
    """Each finished submission is appended at once, so an interrupted run loses nothing.

    The log also remembers where each result's line starts, so results.json can be written
    at the end by copying lines instead of holding every result in memory.
    """

    def __init__(self, path: Path, header: dict, resume: bool):
        self.path = path
        self.done: dict[str, dict] = {}      # compact results of finished submissions
        self.offsets: dict[str, tuple[int, int]] = {}
        self.warnings: list[str] = []        # for the summary: what of the log could not be used
        if resume and path.exists() and self._load(header):
            self.handle = open(path, "ab")
        else:
            self.handle = open(path, "wb")
            self._append({"header": header})
        self.since_sync = 0

    def _load(self, header: dict) -> bool:
        """Read a log to resume; False if its header is unreadable (then everything is graded again)."""
        with open(self.path, "rb") as handle:
            lines = handle.read().split(b"\n")
        try:
            first = RunHeader.model_validate(json.loads(lines[0])["header"])
        except (ValueError, KeyError, TypeError, RecursionError):  # ValidationError is a ValueError
            self.warnings.append(f"{self.path.name}: its first line is damaged, so nothing of the interrupted "
                                 f"run could be kept; every submission was graded again")
            return False
        self._check_same_run(first, header)
        header["seed"] = first.seed
        kept = [lines[0]]
        offset = len(lines[0]) + 1
        damaged: list[str] = []
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            try:
                entry = _Entry.model_validate_json(line)
            except ValidationError:
                damaged.append(f"line {number}{_who(line)}")
                continue
            self.done[entry.key] = compact(entry.result.model_dump())
            # Kept in the form copy_results expects, whatever an editor made of it.
            line = json.dumps({"key": entry.key, "result": json.loads(line)["result"]}, ensure_ascii=False).encode()
            self.offsets[entry.key] = (offset, len(line))
            kept.append(line)
            offset += len(line) + 1
        if damaged:
            shown = ", ".join(damaged[:5]) + (f" and {len(damaged) - 5} more" if len(damaged) > 5 else "")
            self.warnings.append(f"{self.path.name}: {len(damaged)} damaged line{'s' if len(damaged) > 1 else ''} "
                                 f"ignored ({shown}); those submissions were graded again")
        # Rewrite without the damaged lines, so appended lines start on a line of their own.
        atomic_write_bytes(self.path, b"\n".join(kept) + b"\n")
        return True

    def _check_same_run(self, first: RunHeader, header: dict) -> None:
        for key in ("course", "assignment"):
            if getattr(first, key) != header.get(key):
                raise ToolError(f"{self.path}: cannot resume: it was made for {key} {getattr(first, key)!r}, "
                                f"not {header.get(key)!r}")
        if first.course_version != header.get("course_version"):
            raise ToolError(f"{self.path}: cannot resume: course.yaml or the reference layers changed since "
                            f"this run started; grade again without --resume")
        if first.kit_version != header.get("kit_version"):
            made = f"version {first.kit_version}" if first.kit_version else "an earlier version"
            raise ToolError(f"{self.path}: cannot resume: it was made by {made} of the kit, and this is version "
                            f"{header.get('kit_version')}; results of two versions are not mixed, grade again "
                            f"without --resume")

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
                # A line is {"key": "...", "result": {...}} as json.dumps writes it (lines read on resume
                # are rewritten so); quotes inside the key are escaped, so the first '"result": ' is the field.
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


def _who(line: bytes) -> str:
    """': alice' when a damaged line still names its student."""
    try:
        student = json.loads(line)["result"]["student"]
        return f": {student}" if isinstance(student, str) else ""
    except (ValueError, KeyError, TypeError, RecursionError):
        return ""


def compact(result: dict) -> dict:
    """What the class-level reports need of a result: no messages, notes or explanations."""
    tests = [{"layer": t["layer"], "category": t["category"], "name": t["name"], "score": t["score"],
              "max_score": t["max_score"], "passed": t["passed"],
              "misconception": {"name": t["misconception"]["name"], "explanation": t["misconception"]["explanation"]}
              if t.get("misconception") else None}
             for t in result.get("tests", [])]
    return {**{k: v for k, v in result.items() if k not in ("tests", "notes")}, "tests": tests, "notes": []}

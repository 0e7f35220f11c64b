"""The trusted supervisor of one submission: reads it, builds the sandbox, watches the child.

Forked from the zygote for each submission. Student code never runs in this process; it
reads the file, isolates a child, relays the child's messages and reports how it ended.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from . import wire
from .child import run_child
from .deadline import BlobStream
from .source import InvalidSubmission, read_code_cells

try:
    from ..sandbox.landlock import restrict_filesystem
    from ..sandbox.limits import Limits, apply_rlimits
    from ..sandbox.namespaces import enter_namespaces
    from ..sandbox.privileges import drop_privileges, prepare_workdir, remove_workdir, sandbox_uid
except ImportError:  # the sandbox package is optional at import time; grading then runs unisolated
    enter_namespaces = None

MAX_RELAY_BYTES = 256 << 20


def _isolate_child(job: dict, workdir: Path, uid: int) -> list[str]:
    """Called in the child before any student code: limits, identity, filesystem view, environment."""
    active = []
    if enter_namespaces is not None:
        limits = Limits(**job["limits"])
        applied = apply_rlimits(limits)
        if applied:
            active.append("rlimits: " + ", ".join(applied))
        if drop_privileges(uid, uid):
            active.append(f"separate uid {uid}")
        if restrict_filesystem(read_write=[workdir, Path("/dev/null")], read_only=[Path("/dev/urandom")]):
            active.append("landlock: only its private working directory is visible")
    os.environ.clear()
    return active


def supervise(job: dict, arrays: dict, out_fd: int) -> None:
    """Grade one submission and write the summary plus the child's messages to out_fd."""
    started = time.monotonic()
    summary = {"status": "graded", "error": None}
    try:
        cells = read_code_cells(Path(job["path"]), job.get("max_notebook_mb", 20))
    except InvalidSubmission as exc:
        summary.update(status="invalid", error=str(exc))
        _emit(out_fd, summary, [], started)
        return
    protections = []
    if enter_namespaces is not None:
        spaces = enter_namespaces()
        if spaces:
            protections.append("namespaces: " + ", ".join(spaces))
        uid = sandbox_uid(job.get("worker", 0))
        workdir = prepare_workdir(uid, uid)
    else:
        uid, workdir = None, Path(os.getcwd())
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.chdir(workdir)
            active = protections + _isolate_child(job, workdir, uid)
            run_child(job, arrays, cells, write_end, active)
        finally:
            os._exit(70)
    os.close(write_end)
    stream = BlobStream(read_end, MAX_RELAY_BYTES)
    deadline = started + job["timeout"]
    blobs = stream.read_until(deadline)
    timed_out = not stream.eof and not stream.overflow
    if not stream.eof:
        os.kill(pid, signal.SIGKILL)  # PID 1 of its namespace: everything it started dies with it
    _, status = os.waitpid(pid, 0)
    os.close(read_end)
    if workdir is not None and uid is not None:
        remove_workdir(workdir)
    finished = any(_kind(b) == "done" for b in blobs)
    if stream.overflow:
        summary.update(status="crashed", error="the channel from the sandbox to the grader was corrupted "
                                                "(the submission wrote into it or sent far too much); "
                                                "grading stopped")
    elif timed_out and not finished:
        summary.update(status="timeout", error=f"grading took longer than the {job['timeout']:g} s limit "
                                                f"and was stopped; results up to that point are kept")
    elif not finished:
        summary.update(status="crashed", error=_crash_message(status, blobs))
    _emit(out_fd, summary, blobs, started)


def _kind(blob: bytes) -> str | None:
    try:
        meta, _ = wire.decode(blob)
    except wire.WireError:
        return None
    return meta.get("kind")


def _crash_message(status: int, blobs: list[bytes]) -> str:
    last_cell_memory = False
    for blob in blobs:
        try:
            meta, _ = wire.decode(blob)
        except wire.WireError:
            continue
        if meta.get("kind") == "cells":
            last_cell_memory = any(r.get("kind") == "memory" for r in meta.get("errors", []))
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        reason = {signal.SIGSEGV: "a segmentation fault", signal.SIGKILL: "it was killed (a resource limit)",
                  signal.SIGXCPU: "the CPU time limit", signal.SIGABRT: "an abort (often out of memory)"}.get(
                      sig, f"signal {sig}")
        return f"the submission's process died during grading: {reason}"
    code = os.WEXITSTATUS(status)
    if last_cell_memory:
        return "the submission ran out of memory"
    return f"the submission ended the grading process itself (exit status {code}), e.g. with os._exit"


def _emit(out_fd: int, summary: dict, blobs: list[bytes], started: float) -> None:
    summary["duration"] = round(time.monotonic() - started, 4)
    summary["messages"] = len(blobs)
    wire.write_blob(out_fd, json.dumps(summary).encode())
    for blob in blobs:
        wire.write_blob(out_fd, blob)

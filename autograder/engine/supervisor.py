"""Supervising one submission from the warm worker: sandbox it, watch it, report how it ended.

Runs in the zygote itself. The child is cloned straight into new namespaces, reads the
submission while it is still trusted, isolates itself, and only then runs student code.
"""
from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from . import wire
from .child import run_child
from .deadline import BlobStream
from .source import InvalidSubmission, read_code_cells

try:
    from autograder.sandbox.landlock import restrict_filesystem
    from autograder.sandbox.limits import Limits, apply_rlimits
    from autograder.sandbox.namespaces import fork_into_namespaces
    from autograder.sandbox.privileges import drop_privileges, empty_workdir, prepare_workdir, remove_workdir
    from autograder.sandbox import switches, worker
    SANDBOX = True
except ImportError:  # grading still works, unisolated, where the sandbox cannot be imported
    SANDBOX = False

MAX_RELAY_BYTES = 256 << 20


def _isolate(job: dict, workdir: Path, uid: int, group, program: bytes | None) -> list[str]:
    """Limits, identity, filesystem view and environment, before any student code runs."""
    active = []
    if SANDBOX:
        worker.in_child()
        off = switches.disabled()
        joined = worker.join_group(group)  # first, so everything the child does next is counted
        if joined:
            active.append(joined)
        applied = [] if "rlimits" in off else apply_rlimits(Limits(**job["limits"]))
        if applied:
            active.append("rlimits: " + ", ".join(applied))
        if "uid" not in off and drop_privileges(uid, uid):
            active.append(f"separate uid {uid}")
        if "landlock" not in off and restrict_filesystem(read_write=[workdir, Path("/dev/null")],
                                                         read_only=[Path("/dev/urandom")]):
            active.append("landlock: only its private working directory is visible")
        filtered = worker.load_syscall_filter(program)  # last: the steps above need calls it denies
        if filtered:
            active.append(filtered)
        if switches.describe():
            active.append(switches.describe())
    os.environ.clear()
    return active


# Files up to this size are read by the worker itself, before the sandbox is cloned: parsing
# costs several times less there than in a fresh child paying copy-on-write faults. Larger
# ones are read by the child, so a huge file never bloats the long-lived worker.
READ_IN_WORKER_BYTES = 1 << 20


def _read(job: dict) -> list[str] | str:
    """The submission's cells, or the reason it cannot be graded."""
    try:
        return read_code_cells(Path(job["path"]), job.get("max_notebook_mb", 20))
    except InvalidSubmission as exc:
        return str(exc)


def _child(job: dict, arrays: dict, out_fd: int, workdir: Path, uid: int, spaces: list[str],
           cells: list[str] | None, group=None, program: bytes | None = None) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    cells = _read(job) if cells is None else cells
    if isinstance(cells, str):
        wire.write_blob(out_fd, wire.encode({"kind": "invalid", "error": cells}))
        return
    os.chdir(workdir)
    protections = (["namespaces: " + ", ".join(spaces)] if spaces else []) + _isolate(job, workdir, uid, group,
                                                                                     program)
    run_child(job, arrays, cells, out_fd, protections)


# After the cells ran, each layer's message must come within its time plus this margin, or
# the fast path is taken to be stuck in that layer.
STALL_MARGIN = 2.0


@dataclass
class Attempt:
    """One run of the sandboxed child and how it ended."""

    blobs: list[bytes]
    metas: list[dict]
    status: int            # wait status of the child
    eof: bool              # the child closed its channel (ended by itself)
    overflow: bool
    stalled: bool          # killed because a layer's message did not come in time
    usage: object = None   # the submission's cgroup counters (sandbox.cgroups.Usage), if it had one

    def kinds(self) -> list[str]:
        return [m.get("kind") for m in self.metas]

    def layers_reported(self) -> set[str]:
        return {m.get("layer") for m in self.metas if m.get("kind") == "layer"}


_workdirs: dict[int, Path] = {}


def _workdir(uid: int) -> Path:
    """This worker's private directory, emptied between submissions, recreated if tampered with."""
    path = _workdirs.get(uid)
    if path is not None and empty_workdir(path, uid):
        return path
    if path is not None:
        remove_workdir(path)
    path = _workdirs[uid] = prepare_workdir(uid, uid)
    return path


def release_workdirs() -> None:
    for path in _workdirs.values():
        remove_workdir(path)
    _workdirs.clear()
    if SANDBOX:
        worker.release()


def _run(job: dict, arrays: dict, deadline: float, cells: list[str] | None) -> Attempt:
    group = program = None
    if SANDBOX:
        uid = worker.worker_uid(job.get("worker", 0))
        workdir = _workdir(uid)
        group = worker.submission_group(job["limits"]["memory_mb"], job["limits"]["max_processes"])
        program = worker.syscall_filter()
    else:
        uid, workdir = None, Path(os.getcwd())
    read_end, write_end = os.pipe()
    wire.widen_pipe(write_end)
    pid, spaces = fork_into_namespaces(switches.skipped_namespaces()) if SANDBOX else (os.fork(), [])
    if pid == 0:
        os.close(read_end)
        try:
            _child(job, arrays, write_end, workdir, uid, spaces, cells, group, program)
        finally:
            os._exit(0)
    os.close(write_end)
    if group is not None:
        group.close_fds()
    stream = BlobStream(read_end, MAX_RELAY_BYTES)
    blobs, metas, stalled = [], [], False
    cells_done = False
    while not stream.eof and not stream.overflow:
        now = time.monotonic()
        until = min(deadline, now + job["layer_timeout"] + STALL_MARGIN) if cells_done else deadline
        got = stream.read_until(until, want=1)
        for blob in got:
            blobs.append(blob)
            metas.append(_meta(blob))
            cells_done = cells_done or metas[-1].get("kind") == "cells"
        if not got and not stream.eof:
            stalled = time.monotonic() < deadline
            break
    if not stream.eof:
        os.kill(pid, signal.SIGKILL)  # PID 1 of its namespace: everything it started dies with it
    _, status = os.waitpid(pid, 0)
    os.close(read_end)
    usage = None
    if group is not None:  # read before removal; removal kills whatever the submission left running
        usage = group.usage()
        group.remove()
    if SANDBOX and not empty_workdir(workdir, uid):  # nothing of this student lingers for the next
        remove_workdir(workdir)
        _workdirs.pop(uid, None)
    return Attempt(blobs, metas, status, stream.eof, stream.overflow, stalled, usage)


def supervise(job: dict, arrays: dict, out_fd: int) -> None:
    """Grade one submission and write the summary plus the child's messages to out_fd.

    The first run probes the layers in the child itself. If it hangs or dies in a layer, the
    layers not yet reported are graded again in a run that gives every layer a process of
    its own, so one bad layer still costs only itself.
    """
    started = time.monotonic()
    deadline = started + job["timeout"]
    summary = {"status": "graded", "error": None}
    try:
        small = os.stat(job["path"]).st_size <= READ_IN_WORKER_BYTES
    except OSError:
        small = True  # _read says what is wrong with the file
    cells = _read(job) if small else None
    if isinstance(cells, str):
        summary.update(status="invalid", error=cells)
        _emit(out_fd, summary, [], started)
        return
    first = _run(job, arrays, deadline, cells)
    kinds = first.kinds()
    if kinds[:1] == ["invalid"]:
        summary.update(status="invalid", error=str(first.metas[0].get("error")))
        _emit(out_fd, summary, [], started)
        return
    final, blobs = first, list(first.blobs)
    missing = [layer for layer in job["layers"] if layer["name"] not in first.layers_reported()]
    if "done" not in kinds and "cells" in kinds and missing and not first.overflow \
            and time.monotonic() < deadline:
        retry = _run({**job, "careful": True, "layers": missing}, arrays, deadline, cells)
        blobs += [b for b, m in zip(retry.blobs, retry.metas) if m.get("kind") in ("layer", "done")]
        final = retry
    finished = _meta(blobs[-1]).get("kind") == "done" if blobs else False
    if final.overflow:
        summary.update(status="crashed", error="the channel from the sandbox to the grader was corrupted "
                                                "(the submission wrote into it or sent far too much); "
                                                "grading stopped")
    elif not finished and not final.eof:
        summary.update(status="timeout", error=f"grading took longer than the {job['timeout']:g} s limit "
                                                f"and was stopped; results up to that point are kept")
    elif not finished:
        summary.update(status="crashed", error=_crash_message(final.status, final.blobs, final.usage))
    _emit(out_fd, summary, blobs, started)


def _meta(blob: bytes) -> dict:
    return wire.peek_meta(blob)


def _crash_message(status: int, blobs: list[bytes], usage=None) -> str:
    out_of_memory = any(r.get("kind") == "memory" for b in blobs if _meta(b).get("kind") == "cells"
                        for r in _meta(b).get("errors", []))
    if usage is not None and usage.memory_limit_hit and os.WIFSIGNALED(status) \
            and os.WTERMSIG(status) == signal.SIGKILL:
        peak = f" (peak {usage.peak_memory_mb:g} MB)" if usage.peak_memory_mb is not None else ""
        return (f"the submission ran out of memory: all its processes together reached the memory limit"
                f"{peak} and it was killed")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        reason = {signal.SIGSEGV: "a segmentation fault", signal.SIGKILL: "it was killed (a resource limit)",
                  signal.SIGXCPU: "the CPU time limit", signal.SIGABRT: "an abort (often out of memory)"}.get(
                      sig, f"signal {sig}")
        return f"the submission's process died during grading: {reason}"
    if out_of_memory:
        return "the submission ran out of memory"
    return (f"the submission ended the grading process itself (exit status {os.WEXITSTATUS(status)}), "
            f"e.g. with os._exit")


def _emit(out_fd: int, summary: dict, blobs: list[bytes], started: float) -> None:
    summary["duration"] = round(time.monotonic() - started, 4)
    summary["messages"] = len(blobs)
    wire.write_blob(out_fd, json.dumps(summary).encode())
    for blob in blobs:
        wire.write_blob(out_fd, blob)

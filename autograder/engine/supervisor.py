"""Supervising one submission: sandbox it, watch it, report how it ended.

Runs in the per-submission process (engine/submission.py). Each sandboxed child is cloned
straight into new namespaces and takes on its isolation in one ordered sequence of steps,
each reporting whether it took effect, before any student code runs.
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

try:
    from autograder.sandbox.landlock import restrict_filesystem
    from autograder.sandbox.limits import Limits, apply_rlimits
    from autograder.sandbox.mounts import DEVICES, landlock_readable, mount_submission_fs, work_folder
    from autograder.sandbox.namespaces import fork_into_namespaces
    from autograder.sandbox.privileges import (close_inherited_fds, drop_privileges, prepare_workdir,
                                               remove_tree, sandbox_uid)
    from autograder.sandbox import switches, worker
    SANDBOX = True
except ImportError:  # grading still works, unisolated, where the sandbox cannot be imported
    SANDBOX = False

MAX_RELAY_BYTES = 256 << 20


def _isolate(job: dict, spaces: list[str], folder: Path | None, uid: int, out_fd: int,
             rooted: bool, group=None, program: bytes | None = None) -> tuple[list[str], Path]:
    """Every protection, in order, before any student code runs: (what took effect, work folder)."""
    active = ["namespaces: " + ", ".join(spaces)] if spaces else []
    if not SANDBOX:
        return active, Path(os.getcwd())
    worker.in_child()
    off = switches.disabled()
    # 0. The submission's control group, first, so everything the child does next is counted.
    joined = worker.join_group(group)
    if joined:
        active.append(joined)
    own_pids = "pid" in spaces and os.getpid() == 1
    disk_mb, files = job["limits"].get("max_disk_mb", 256), job["limits"].get("max_files", 10000)
    # 1. File system: the minimal root of the worker plus a fresh tmpfs of this child's own.
    workdir = work_folder() if rooted else folder
    mounted = mount_submission_fs(uid, disk_mb, files, own_pids, job.get("hide", []), workdir) if "mnt" in spaces \
        else []
    if rooted and not mounted:
        raise OSError("the sandbox's private file system could not be mounted")
    if rooted:
        active.append("minimal root: interpreter, libraries and sandbox code read-only; no host /tmp, /home, "
                      "sockets, course or other submissions")
    active += mounted
    if mounted:
        workdir = Path(".") if not rooted else workdir  # its host path may now lie under the private /tmp
    else:
        os.chdir(workdir)
    # 2. Resource limits (they read this process's size, so before anything is closed).
    limits = {k: v for k, v in job["limits"].items() if k in Limits.__dataclass_fields__}
    applied = [] if "rlimits" in off else apply_rlimits(Limits(**limits))
    if applied:
        active.append("rlimits: " + ", ".join(applied))
    # 3. Nothing inherited but the channel to the supervisor.
    close_inherited_fds(keep=[0, 1, 2, out_fd])
    # 4. Identity (what Landlock will allow is listed first: the libraries may be unreadable after).
    readable = landlock_readable(rooted, job.get("hide", []))
    if "uid" not in off and drop_privileges(uid, uid):
        active.append(f"separate uid {uid}")
    # 5. Landlock, defence in depth: reads of the libraries only, writes of the work folder only.
    if "landlock" not in off and restrict_filesystem(read_write=[workdir, Path("/dev/null")],
                           read_only=readable + [d for d in DEVICES if d.name != "null"]):
        active.append("landlock: reads only the libraries, writes only its work folder")
    # 6. System-call filter, last: the steps above need calls it denies.
    filtered = worker.load_syscall_filter(program)
    if filtered:
        active.append(filtered)
    if switches.describe():
        active.append(switches.describe())
    # 7. Environment.
    os.environ.clear()
    return active, workdir


def _child(job: dict, arrays: dict, out_fd: int, folder: Path | None, uid: int, spaces: list[str],
           cells: list[str], rooted: bool, group=None, program: bytes | None = None) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)
    try:
        protections, _ = _isolate(job, spaces, folder, uid, out_fd, rooted, group, program)
    except Exception as exc:  # nothing of the submission has run: a fault of the sandbox itself
        wire.write_blob(out_fd, wire.encode({"kind": "broken", "error": f"{type(exc).__name__}: {exc}"}))
        return
    run_child(job, arrays, cells, out_fd, protections, own_pid_namespace="pid" in spaces and os.getpid() == 1)


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


def _run(job: dict, arrays: dict, deadline: float, cells: list[str], rooted: bool) -> tuple[Attempt, bool]:
    """One sandboxed child from clone to reaping; (how it ended, whether its files are gone)."""
    uid = worker.worker_uid(job.get("worker", 0)) if SANDBOX else None
    group = worker.submission_group(job["limits"]["memory_mb"], job["limits"]["max_processes"]) if SANDBOX else None
    program = worker.syscall_filter() if SANDBOX else None
    folder = None
    if SANDBOX and not rooted:  # no minimal root: a fresh folder of its own, covered by a tmpfs where possible
        folder = prepare_workdir(uid, uid, parent=Path(os.getcwd()))
    read_end, write_end = os.pipe()
    wire.widen_pipe(write_end)
    pid, spaces = fork_into_namespaces(switches.skipped_namespaces()) if SANDBOX else (os.fork(), [])
    own_pids = "pid" in spaces
    if pid == 0:
        os.close(read_end)
        try:
            _child(job, arrays, write_end, folder, uid, spaces, cells, rooted, group, program)
        finally:
            os._exit(0)
    os.close(write_end)
    if group is not None:
        group.close_fds()
    stream = BlobStream(read_end, job.get("max_reply_bytes", MAX_RELAY_BYTES))
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
    if not own_pids:
        _end_group(pid)
    _, status = os.waitpid(pid, 0)
    os.close(read_end)
    # With a tmpfs the files vanished with the child's mount namespace; only a plain folder is removed.
    clean = folder is None or remove_tree(folder)
    usage = None
    if group is not None:  # read before removal; removal kills whatever the submission left running
        usage = group.usage()
        group.remove()
    return Attempt(blobs, metas, status, stream.eof, stream.overflow, stalled, usage), clean


def _end_group(pid: int) -> None:
    """Without a pid namespace: the process group the child made for its cells (its own pid).

    Called before the child is reaped, so that id cannot yet belong to anyone else.
    """
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # the child is gone, not yet reaped
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def supervise(job: dict, arrays: dict, cells: list[str] | str, out_fd: int, rooted: bool) -> bool:
    """Grade one submission and write the summary plus the child's messages to out_fd.

    `cells` is the submission's code, or the reason it cannot be graded. The first run probes
    the layers in the child itself. If it hangs or dies in a layer, the layers not yet
    reported are graded again in a run that gives every layer a process of its own, so one
    bad layer still costs only itself. Returns False when a submission's files could not be
    removed (the worker is then replaced).
    """
    started = time.monotonic()
    deadline = started + job["timeout"]
    summary = {"status": "graded", "error": None}
    if isinstance(cells, str):
        summary.update(status="invalid", error=cells)
        _emit(out_fd, summary, [], started)
        return True
    first, clean = _run(job, arrays, deadline, cells, rooted)
    kinds = first.kinds()
    if kinds[:1] == ["broken"]:
        summary.update(status="crashed", error=f"the sandbox could not be prepared: {first.metas[0].get('error')}")
        _emit(out_fd, summary, [], started)
        return False
    final, blobs = first, list(first.blobs)
    missing = [layer for layer in job["layers"] if layer["name"] not in first.layers_reported()]
    if "done" not in kinds and "cells" in kinds and missing and not first.overflow \
            and time.monotonic() < deadline and clean:
        retry, clean = _run({**job, "careful": True, "layers": missing}, arrays, deadline, cells, rooted)
        blobs += [b for b, m in zip(retry.blobs, retry.metas) if m.get("kind") in ("layer", "done")]
        final = retry
    finished = _meta(blobs[-1]).get("kind") == "done" if blobs else False
    if final.overflow:
        limit = job.get("max_reply_bytes", MAX_RELAY_BYTES) / 2 ** 20
        summary.update(status="crashed", error=f"the channel from the sandbox to the grader was corrupted "
                                                f"(the submission wrote into it or sent more than the "
                                                f"{limit:.1f} MB its tests can produce); grading stopped")
    elif not finished and not final.eof:
        summary.update(status="timeout", error=f"grading took longer than the {job['timeout']:g} s limit "
                                                f"and was stopped; results up to that point are kept")
    elif not finished:
        summary.update(status="crashed", error=_crash_message(final.status, final.blobs, final.usage))
    _emit(out_fd, summary, blobs, started)
    return clean


def _meta(blob: bytes) -> dict:
    return wire.route_meta(blob)  # typed: routing never trips over what the child wrote


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

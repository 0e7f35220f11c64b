"""The trusted side of execution: a pool of warm zygote processes and the jobs sent to them."""
from __future__ import annotations

import json
import os
import queue
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import messages, wire
from .deadline import BlobStream
from .expectation import DEFAULT_MAX_BYTES, ReplyExpectation
from .messages import Malformed

from autograder.sandbox.open_beneath import describe_open_error, open_beneath

try:
    from autograder.sandbox.worker import give_back, take_for_worker
except ImportError:  # grading still works, without leased uids, where the sandbox cannot be imported
    give_back = take_for_worker = None

PASS_THROUGH_ENV = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT",
                    # settings, not secrets: numpy's CPU dispatch must be the grader's, so a run can be reproduced
                    "NPY_DISABLE_CPU_FEATURES",
                    # the sandbox's own settings: protections switched off, uid range, state folder
                    "AUTOGRADER_DISABLE", "AUTOGRADER_UID_BASE", "AUTOGRADER_UID_COUNT", "AUTOGRADER_STATE_DIR",
                    "AUTOGRADER_TEST_NO_ROOT")
WATCHDOG_MARGIN = 15.0
SUMMARY_BYTES = 64 << 10
MALFORMED = "malformed output from the sandbox"


def _too_much(limit: int) -> str:
    return (f"the submission sent more than the {limit / 2 ** 20:.1f} MB its tests can produce "
            f"(it wrote into the grader's channel, or its layers return far larger arrays than expected); "
            f"grading stopped")


@dataclass
class Outcome:
    """How the sandbox ended for one submission, with every message decoded into plain arrays."""

    status: str
    error: str | None
    # Validated messages (engine.messages models) with their float64 arrays.
    messages: list[tuple[object, dict[str, np.ndarray]]] = field(default_factory=list)
    duration: float = 0.0
    worker_failed: bool = False   # the worker itself misbehaved: it is replaced before the next job


def _worker_failure(error: str) -> Outcome:
    return Outcome("crashed", error, worker_failed=True)


def _zygote_env() -> dict[str, str]:
    """A clean environment: the grader's own variables (tokens, paths) never reach a submission."""
    env = {k: os.environ[k] for k in PASS_THROUGH_ENV if k in os.environ}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return env


def _open_submission(job: dict) -> int:
    """The submission, opened beneath its folder by the trusted side: links are never followed."""
    root, relative = job.get("root"), job.get("relpath")
    if not root or not relative:
        root, relative = os.path.dirname(job["path"]) or ".", os.path.basename(job["path"])
    return open_beneath(root, relative)


STATUS = struct.Struct("<i")


class Zygote:
    def __init__(self, index: int):
        self.index = index
        self.workdir = tempfile.mkdtemp(prefix="autograder-worker-")
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # The uid lease is held here, where the host stays visible, for the worker's whole life.
        self.lease, lease_env = take_for_worker() if take_for_worker else (None, {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.engine.zygote", str(index), str(theirs.fileno())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),), cwd=self.workdir, env={**_zygote_env(), **lease_env},
            start_new_session=True)
        theirs.close()
        self.replace = False   # set when the worker must not grade another submission
        self._statuses = b""

    def grade(self, job: dict, arrays: dict, expect: ReplyExpectation | None = None) -> Outcome:
        try:
            fd = _open_submission(job)
        except OSError as exc:
            return Outcome("invalid", f"{job.get('name') or job['path']} {describe_open_error(exc)}")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            return self._grade(job, arrays, expect, fd, ours, theirs)
        finally:
            os.close(fd)
            ours.close()
            theirs.close()

    def _grade(self, job: dict, arrays: dict, expect: ReplyExpectation | None, fd: int,
               ours: socket.socket, theirs: socket.socket) -> Outcome:
        limit = expect.max_bytes if expect else DEFAULT_MAX_BYTES
        payload = wire.encode({}, arrays)
        try:
            socket.send_fds(self.control, [b"J"], [theirs.fileno()])
            theirs.close()
            socket.send_fds(ours, [b"F"], [fd])
            wire.write_blob(ours.fileno(), json.dumps({**job, "max_reply_bytes": limit}).encode())
            wire.write_blob(ours.fileno(), payload)
        except OSError:
            return _worker_failure("the grading worker stopped unexpectedly; the submission was not graded")
        # The submission's process relays at most two runs of the child (the fast one and the
        # careful rerun), each capped at max_bytes by that process itself, plus its own summary.
        stream = BlobStream(ours.fileno(), 2 * limit + SUMMARY_BYTES)
        deadline = time.monotonic() + job["timeout"] + WATCHDOG_MARGIN
        first = stream.read_until(deadline, want=1)
        if stream.overflow:
            return _worker_failure(_too_much(limit))
        if not first:
            return _worker_failure("the grading worker did not answer in time; the submission was not graded")
        try:
            summary = messages.summary(first[0])
        except Malformed:
            return _worker_failure("the grading worker answered garbage")
        blobs = first[1:]
        if len(blobs) < summary.messages:
            blobs += stream.read_until(deadline, want=summary.messages - len(blobs))
        if stream.overflow:
            return _worker_failure(_too_much(limit))
        if len(blobs) != summary.messages:
            return _worker_failure("the grading worker stopped in the middle of its answer")
        outcome = Outcome(summary.status, summary.error, duration=summary.duration)
        try:
            outcome.messages = messages.read_reply(blobs, expect)
        except Malformed as exc:
            also = f"; {summary.error}" if summary.status == "crashed" and summary.error else ""
            outcome.status = "crashed"
            outcome.error = f"{MALFORMED}: {exc}{also}"
        self._read_statuses()
        return outcome

    def _read_statuses(self) -> None:
        """The worker's word on how earlier submissions' processes ended, as far as it has come.

        Any process that did not end cleanly (its files could not be removed) retires the worker.
        """
        while True:
            ready, _, _ = select.select([self.control], [], [], 0)
            if not ready:
                return
            try:
                chunk = self.control.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                self.replace = True
                return
            self._statuses += chunk
            while len(self._statuses) >= STATUS.size:
                (status,) = STATUS.unpack_from(self._statuses)
                self._statuses = self._statuses[STATUS.size:]
                if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                    self.replace = True

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """The worker and every process of its session that is still in its group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own group: started with a new session
        except OSError:
            pass
        self.proc.wait()

    def stop(self) -> None:
        if self.alive():
            try:
                self.control.shutdown(socket.SHUT_RDWR)
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self.control.close()
        if give_back is not None and self.lease is not None:
            give_back(self.lease)
            self.lease = None
        try:
            os.rmdir(self.workdir)
        except OSError:
            pass


class SandboxPool:
    """Runs jobs on N zygotes in parallel; one misbehaving job costs only its own result."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self.jobs: queue.Queue = queue.Queue(maxsize=self.workers * 4)
        self.results: queue.Queue = queue.Queue()
        self.zygotes: dict[int, Zygote] = {}
        self.closed = False
        self.threads = [threading.Thread(target=self._serve, args=(i,), daemon=True) for i in range(self.workers)]
        for thread in self.threads:
            thread.start()

    def _serve(self, index: int) -> None:
        zygote = self.zygotes[index] = Zygote(index)
        try:
            while True:
                item = self.jobs.get()
                if item is None:
                    return
                key, job, arrays, expect = item
                try:
                    outcome = zygote.grade(job, arrays, expect)
                except Exception as exc:  # the pool must survive anything a job does
                    outcome = _worker_failure(f"grading failed: {type(exc).__name__}: {exc}")
                if outcome.worker_failed or zygote.replace or not zygote.alive():
                    zygote.kill()
                    zygote.stop()
                    zygote = self.zygotes[index] = Zygote(index)
                self.results.put((key, outcome))
        finally:
            zygote.stop()

    def submit(self, key, job: dict, arrays: dict, expect: ReplyExpectation | None = None) -> None:
        """Grade one job; expect (what its plan can produce) bounds and checks what comes back."""
        self.jobs.put((key, job, arrays, expect))

    def next_result(self, timeout: float | None = None):
        return self.results.get(timeout=timeout)

    def close(self, wait: bool = True) -> None:
        """Stop the workers after their current job; without wait (Ctrl-C), return at once: each
        worker still finishes and stops its sandbox, then exits when it finds its channel closed."""
        if self.closed:
            return
        self.closed = True
        for _ in self.threads:
            try:
                self.jobs.put(None, block=wait)
            except queue.Full:   # busy workers: they stop when the grader exits
                break
        if wait:
            for thread in self.threads:
                thread.join(timeout=10)

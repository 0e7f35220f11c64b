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

from . import wire
from .deadline import BlobStream

from autograder.sandbox.open_beneath import describe_open_error, open_beneath

PASS_THROUGH_ENV = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT",
                    "AUTOGRADER_TEST_NO_ROOT")
WATCHDOG_MARGIN = 15.0


@dataclass
class Outcome:
    """How the sandbox ended for one submission, with every message decoded into plain arrays."""

    status: str
    error: str | None
    messages: list[tuple[dict, dict[str, np.ndarray]]] = field(default_factory=list)
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
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.engine.zygote", str(index), str(theirs.fileno())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),), cwd=self.workdir, env=_zygote_env(), start_new_session=True)
        theirs.close()
        self.replace = False   # set when the worker must not grade another submission
        self._statuses = b""

    def grade(self, job: dict, arrays: dict) -> Outcome:
        try:
            fd = _open_submission(job)
        except OSError as exc:
            return Outcome("invalid", f"{job.get('name') or job['path']} {describe_open_error(exc)}")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            return self._grade(job, arrays, fd, ours, theirs)
        finally:
            os.close(fd)
            ours.close()
            theirs.close()

    def _grade(self, job: dict, arrays: dict, fd: int, ours: socket.socket, theirs: socket.socket) -> Outcome:
        payload = wire.encode({}, arrays)
        try:
            socket.send_fds(self.control, [b"J"], [theirs.fileno()])
            theirs.close()
            socket.send_fds(ours, [b"F"], [fd])
            wire.write_blob(ours.fileno(), json.dumps(job).encode())
            wire.write_blob(ours.fileno(), payload)
        except OSError:
            return _worker_failure("the grading worker stopped unexpectedly; the submission was not graded")
        stream = BlobStream(ours.fileno(), 512 << 20)
        deadline = time.monotonic() + job["timeout"] + WATCHDOG_MARGIN
        first = stream.read_until(deadline, want=1)
        if not first:
            return _worker_failure("the grading worker did not answer in time; the submission was not graded")
        try:
            summary = json.loads(first[0])
        except ValueError:
            return _worker_failure("the grading worker answered garbage")
        count = int(summary.get("messages", 0))
        blobs = first[1:]
        if len(blobs) < count:
            blobs += stream.read_until(deadline, want=count - len(blobs))
        outcome = Outcome(summary.get("status", "crashed"), summary.get("error"),
                          duration=float(summary.get("duration", 0.0)))
        for blob in blobs[:count]:
            try:
                outcome.messages.append(wire.decode(blob))
            except wire.WireError as exc:
                outcome.status = "crashed"
                outcome.error = f"the submission's results could not be read ({exc}); it may have written into " \
                                f"the grader's channel"
                break
        if len(blobs) < count:
            return _worker_failure("the grading worker stopped in the middle of its answer")
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
                key, job, arrays = item
                try:
                    outcome = zygote.grade(job, arrays)
                except Exception as exc:  # the pool must survive anything a job does
                    outcome = _worker_failure(f"grading failed: {type(exc).__name__}: {exc}")
                if outcome.worker_failed or zygote.replace or not zygote.alive():
                    zygote.kill()
                    zygote.stop()
                    zygote = self.zygotes[index] = Zygote(index)
                self.results.put((key, outcome))
        finally:
            zygote.stop()

    def submit(self, key, job: dict, arrays: dict) -> None:
        self.jobs.put((key, job, arrays))

    def next_result(self, timeout: float | None = None):
        return self.results.get(timeout=timeout)

    def close(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join(timeout=10)

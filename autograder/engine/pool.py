"""The trusted side of execution: a pool of warm zygote processes and the jobs sent to them."""
from __future__ import annotations

import json
import os
import queue
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

PASS_THROUGH_ENV = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT",
                    # the sandbox's own settings: protections switched off, uid range, state folder
                    "AUTOGRADER_DISABLE", "AUTOGRADER_UID_BASE", "AUTOGRADER_UID_COUNT", "AUTOGRADER_STATE_DIR")
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


class Zygote:
    def __init__(self, index: int):
        self.index = index
        self.workdir = tempfile.mkdtemp(prefix="autograder-worker-")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.engine.zygote", str(index)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=self.workdir, env=_zygote_env(), bufsize=0, start_new_session=True)
        wire.widen_pipe(self.proc.stdout.fileno())
        wire.widen_pipe(self.proc.stdin.fileno())

    def grade(self, job: dict, arrays: dict) -> Outcome:
        payload = wire.encode({}, arrays)
        try:
            wire.write_blob(self.proc.stdin.fileno(), json.dumps(job).encode())
            wire.write_blob(self.proc.stdin.fileno(), payload)
        except (BrokenPipeError, OSError):
            return _worker_failure("the grading worker stopped unexpectedly; the submission was not graded")
        stream = BlobStream(self.proc.stdout.fileno(), 512 << 20)
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
        return outcome

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
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
                if outcome.worker_failed or not zygote.alive():
                    zygote.proc.kill()
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

"""A warm worker: imports numpy once, then forks one supervising process per submission.

It is started as a fresh interpreter with a clean environment, imports nothing of the
course, and stays pristine: it never reads a job, an array or a byte of a submission. For
each submission the pool sends it one end of a fresh socket pair; the worker forks a
per-submission process (engine/submission.py) that receives everything job-specific over
that socket, supervises the sandboxed child(ren) and exits. Whatever a submission leaves in
memory therefore dies with its own process, and the next submission is forked from a worker
that never held it. Where the machine allows, the worker first moves into a private mount
namespace with a minimal root (sandbox/mounts.py), built once and shared by every child.

Control protocol on the socket given as argv[2]: the pool sends one byte with a channel fd
attached (SCM_RIGHTS); the worker sends each per-submission process's wait status once it has
reaped it (without waiting for it before the next submission starts).
"""
from __future__ import annotations

import gc
import os
import socket
import struct
import sys

# Imported before any fork so that children neither pay for them nor need to read them from
# disk after the sandbox hides the filesystem.
import collections, copy, dataclasses, decimal, fractions, functools, itertools, math, operator  # noqa: E401,F401
import random, re, statistics, string, time, traceback, typing  # noqa: E401,F401
import encodings.ascii, encodings.idna, encodings.latin_1, encodings.utf_8  # noqa: E401,F401
import numpy as np
import numpy.fft  # noqa: F401
import numpy.linalg  # noqa: F401
import numpy.random  # noqa: F401

from . import source, wire  # noqa: F401 - source pulls in IPython's parser once, here
from .submission import run_submission

try:
    from autograder.sandbox import switches, worker
    from autograder.sandbox.mounts import enter_minimal_root, plan_root
except ImportError:  # pragma: no cover - grading still works without the sandbox package
    enter_minimal_root = plan_root = None

STATUS = struct.Struct("<i")


def _enter_root() -> bool:
    """The minimal root, once per worker; the empty folder the pool made for us is its mount point."""
    if enter_minimal_root is None:
        return False
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from pathlib import Path

    plan = plan_root(Path(package))  # also what Landlock allows where no root can be built
    writable = worker.prepare()  # needs the host's view: lease files, control groups
    if os.environ.get("AUTOGRADER_TEST_NO_ROOT") or switches.is_disabled("mountns"):
        return False
    if not enter_minimal_root(dataclasses.replace(plan, writable=writable), Path(os.getcwd())):
        return False
    # Folders that no longer exist are dropped so imports do not keep probing them.
    sys.path[:] = [p for p in sys.path if p and os.path.isdir(p)]
    sys.path_importer_cache.clear()
    return True


def serve(worker: int, control: socket.socket) -> None:
    rooted = _enter_root()
    # Objects that exist now live as long as the worker: keeping the collector away from them
    # spares every forked child the copy-on-write faults a collection would cause.
    gc.freeze()
    sys.stdout = open(os.devnull, "w")
    running: set[int] = set()
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1, 1)
        except (OSError, ValueError):
            message, fds = b"", []
        # The previous submission's process may still be exiting: it is reaped now, not waited
        # for, so the next submission starts at once.
        if not _report_ended(control, running, block=not message):
            return
        if not message:
            return  # the pool closed its end: we are done
        if not fds:
            continue
        channel = fds[0]
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                control.close()  # a submission must never reach the pool's control channel
                code = run_submission(channel, worker, rooted)
            finally:
                os._exit(code)
        os.close(channel)
        running.add(pid)


def _report_ended(control: socket.socket, running: set[int], block: bool) -> bool:
    """Reap finished submission processes and send their wait statuses; False if the pool is gone."""
    while running:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            running.clear()
            break
        if not pid:
            break
        running.discard(pid)
        try:
            control.sendall(STATUS.pack(status))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    np.seterr(all="ignore")
    serve(int(sys.argv[1]), socket.socket(fileno=int(sys.argv[2])))

"""Running one function in a forked child, with a deadline, and getting its JSON answer back.

Used by `autograder doctor` to try each protection for real in a process of its own, and by
the tests of the sandbox primitives.
"""
from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from typing import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Make a grandchild die with its parent, so nothing outlives a check."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def run_in_child(fn: Callable[[], object], timeout: float = 5.0,
                 tied_to_parent: bool = False) -> tuple[dict | None, int]:
    """Run fn in a forked child; return ({"result": ...} or {"error": ...} or None, wait status).

    None means the child died or timed out before answering, which some checks expect (the
    CPU limit kills its child). The child leads its own process group, killed at the end, so
    nothing it started outlives the call.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into the caller's code
        status = 0
        try:
            os.close(rfd)
            if tied_to_parent:
                die_with_parent()
            else:
                os.setpgid(0, 0)
            try:
                message = {"result": fn()}
            except BaseException as exc:  # report everything, the parent decides
                message = {"error": f"{type(exc).__name__}: {exc}"}
            os.write(wfd, (json.dumps(message) + "\n").encode())
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(wfd)
    if not tied_to_parent:
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child did it first, or already exited
    data = b""
    deadline = time.monotonic() + timeout
    try:
        # Read up to the newline, not EOF: grandchildren inherit the pipe.
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([rfd], [], [], remaining)
            if not ready:
                break
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(rfd)
    status = _reap(pid, deadline)
    if not tied_to_parent:
        _kill_group(pid)
    message = None
    if b"\n" in data:
        try:
            message = json.loads(data.split(b"\n", 1)[0])
        except ValueError:
            message = None
    return message, status


def _reap(pid: int, deadline: float) -> int:
    """Wait for the child until the deadline, then kill its group and reap it."""
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return 0
        if done:
            return status
        if time.monotonic() >= deadline:
            _kill_group(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                return os.waitpid(pid, 0)[1]
            except ChildProcessError:
                return 0
        time.sleep(0.005)

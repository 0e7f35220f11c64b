"""Running one doctor check in a forked child, and helpers those children share."""
from __future__ import annotations

import errno
import os
import signal
import socket
from typing import Callable

from ..forked import run_in_child
from ..privileges import MAX_WORKERS, SANDBOX_UID_BASE
from .report import Protection

#: The uid the checks switch to: a uid leased like a worker's (run_doctor sets it), else one
#: no grading worker uses, so process counts never mix with submissions graded meanwhile.
_uid = [SANDBOX_UID_BASE + MAX_WORKERS]


def doctor_uid() -> int:
    return _uid[0]


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"check process killed by {name}"
    if os.WIFEXITED(status):
        return f"check process exited with status {os.WEXITSTATUS(status)} without reporting"
    return "check process did not report"


def _check(name: str, check: Callable[[], tuple[bool, str]], timeout: float = 5.0) -> Protection:
    try:
        report, status = run_in_child(check, timeout)
    except OSError as exc:
        return Protection(name, False, f"could not run the check: {exc}")
    if report is None:
        return Protection(name, False, _describe_status(status))
    if "error" in report:
        return Protection(name, False, f"check failed: {report['error']}")
    active, detail = report["result"]
    return Protection(name, bool(active), str(detail))


def _in_grandchild(fn: Callable[[], object], timeout: float = 3.0) -> object:
    """fn's result from a child: after unshare(CLONE_NEWPID) only children enter the namespace."""
    report, _ = run_in_child(fn, timeout, tied_to_parent=True)
    return report.get("result") if report else None


def _errname(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


# --------------------------------------------------------------------------
# Helpers used inside the children


def _try_connect(port: int, timeout: float = 1.0) -> str | None:
    """None if a TCP connect to 127.0.0.1:port works, else the error name."""
    # A plain connect, not create_connection: getaddrinfo needs the idna
    # codec, which a confined process may be unable to import.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        return None
    except OSError as exc:
        return _errname(exc) if exc.errno else type(exc).__name__
    finally:
        sock.close()


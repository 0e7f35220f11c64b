"""`autograder doctor`: prove, on this machine, which protections work.

Every check does the real thing in a forked child (enter the namespaces, drop to a sandbox
uid, apply Landlock, an rlimit, a control group or the system-call filter) and then tries
what the protection must stop; the child reports through a pipe. The doctor process itself
is never confined. Every child runs in its own process group and is killed with it at its
timeout, so a check can fail but never hang.
"""
from __future__ import annotations

import os
import signal
import socket
import tempfile
from pathlib import Path

from ..limits import Limits
from ..privileges import drop_privileges, prepare_workdir, remove_workdir
from . import running
from .landlock_checks import _landlock_checks
from .limits_checks import cgroup_checks, seccomp_check, switch_check, uid_lease_check
from .namespace_checks import _namespace_checks
from .report import CONSEQUENCES, Protection, format_report
from .rlimit_checks import _rlimit_checks
from .running import _check

__all__ = ["CONSEQUENCES", "Protection", "format_report", "run_doctor"]


def _uid_check(tmp: Path) -> Protection:
    uid = running.doctor_uid()
    if os.geteuid() != 0:
        return Protection("separate uid", False, "not running as root, so cannot switch to a sandbox uid")
    secret = tmp / "secret.txt"
    secret.write_text("grader only\n")
    os.chmod(tmp, 0o755)
    os.chmod(secret, 0o700)
    parent = os.getpid()

    def check() -> tuple[bool, str]:
        if not drop_privileges(uid, uid):
            return False, "setuid failed"
        try:
            secret.read_text()
            return False, f"uid {uid} could read a 0700 root file"
        except PermissionError:
            pass
        try:
            os.kill(parent, 0)
            signal_note = "but can signal the grader"
            return False, f"uid {uid} cannot read a 0700 root file {signal_note}"
        except PermissionError:
            return True, f"runs as uid {uid}: cannot read a 0700 root file or signal the grader"

    return _check("separate uid", check)



def run_doctor(limits: Limits | None = None) -> list[Protection]:
    """Check every protection for real; one Protection per check, in report order."""
    limits = limits or Limits()
    leased, lease = uid_lease_check()
    if lease is not None:
        running._uid[0] = lease.uid
    uid = running.doctor_uid()
    tmp = Path(tempfile.mkdtemp(prefix="autograder-doctor-"))
    workdir = prepare_workdir(uid, uid)
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        outside = tmp / "outside.txt"
        outside.write_text("not for students\n")
        protections = _namespace_checks(port)
        protections.append(_uid_check(tmp))
        protections.append(leased)
        protections += _landlock_checks(workdir, outside, port)
        protections += _rlimit_checks(limits, workdir)
        protections += cgroup_checks()
        protections.append(seccomp_check())
        protections.append(switch_check())
        from ..doctor_view import view_checks  # the file-system view: minimal root, imports

        protections += view_checks(uid)
        return protections
    finally:
        listener.close()
        remove_workdir(workdir)
        remove_workdir(tmp)
        if lease is not None:
            lease.release()

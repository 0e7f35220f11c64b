"""`autograder doctor`: prove, on this machine, which protections work.

Every check does the real thing in a forked child (enter the namespaces,
drop to a sandbox uid, apply Landlock or an rlimit) and then tries what the
protection must stop; the child reports through a pipe. The doctor process
itself is never confined. Every child runs in its own process group and
is killed with it at its timeout, so a check can fail but never hang.
"""
from __future__ import annotations

import errno
import os
import signal
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .forked import die_with_parent, run_in_child
from .landlock import landlock_abi, restrict_filesystem
from .limits import Limits, apply_rlimits
from .namespaces import enter_namespaces, namespace_id
from .privileges import MAX_WORKERS, SANDBOX_UID_BASE, drop_privileges, prepare_workdir, remove_workdir

#: A uid no grading worker uses, so the process-limit check does not count
#: (or get counted against) submissions being graded at the same time.
DOCTOR_UID = SANDBOX_UID_BASE + MAX_WORKERS



@dataclass
class Protection:
    name: str
    active: bool
    detail: str


# What student code can do when a protection is missing; shown in the report.
CONSEQUENCES = {
    "network namespace": "student code can reach services listening on this machine",
    "no network": "student code can talk to other machines",
    "pid namespace": "student code sees other processes and may leave some behind",
    "ipc namespace": "student code can use this machine's shared memory and message queues",
    "uts namespace": "student code can see this machine's host name",
    "separate uid": "student code can read every file the grader can read",
    "Landlock filesystem": "student code can read or write files outside its work directory",
    "Landlock TCP": "TCP is blocked only by the network namespace",
    "Landlock scopes": "student code may signal processes of its own uid outside the sandbox",
    "memory limit": "a submission can exhaust the machine's memory",
    "process limit": "a fork bomb can exhaust the machine's process table",
    "file size limit": "a submission can fill the disk",
    "open files limit": "a submission can exhaust file descriptors",
    "CPU time limit": "only the wall-clock timeout stops a busy loop",
    "minimal root": "student code can see the host's files, metadata and UNIX sockets that Landlock does not cover "
                    "(stat, readlink, connect), and its disk use is not bounded by a tmpfs",
    "standard library imports": "correct code that imports these modules loses points",
}


# --------------------------------------------------------------------------
# Running one check in a child


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


# --------------------------------------------------------------------------
# The checks


def _namespace_checks(port: int) -> list[Protection]:
    def net() -> tuple[bool, str]:
        before = namespace_id("net")
        if "net" not in enter_namespaces():
            return False, "unshare(CLONE_NEWNET) failed"
        error = _try_connect(port)
        if error is None:
            return False, f"127.0.0.1:{port} still reachable after unshare"
        return namespace_id("net") != before, f"connect to a port listening on 127.0.0.1 fails ({error})"

    def outside() -> tuple[bool, str]:
        enter_namespaces()
        # TEST-NET-1 never answers; with no route the kernel fails at once.
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.connect(("192.0.2.1", 53))
            return False, "a route to other machines exists"
        except OSError as exc:
            names = [n for _, n in socket.if_nameindex()]
            return True, f"no route to other hosts ({_errname(exc)}); interfaces: {', '.join(names) or 'none'}"
        finally:
            sock.close()

    def pid() -> tuple[bool, str]:
        if "pid" not in enter_namespaces():
            return False, "unshare(CLONE_NEWPID) failed"
        inner = _in_grandchild(os.getpid)
        return inner == 1, f"the sandboxed process has PID {inner} in its namespace"

    def ipc() -> tuple[bool, str]:
        before = namespace_id("ipc")
        if "ipc" not in enter_namespaces():
            return False, "unshare(CLONE_NEWIPC) failed"
        after = namespace_id("ipc")
        return after != before, f"IPC namespace {before} -> {after}"

    def uts() -> tuple[bool, str]:
        # Compared by namespace, not by name: a host may itself be called what the sandbox sets.
        before = namespace_id("uts")
        if "uts" not in enter_namespaces():
            return False, "unshare(CLONE_NEWUTS) failed"
        after = namespace_id("uts")
        return after is not None and after != before, \
            f"UTS namespace {before} -> {after}; host name seen by student code: {socket.gethostname()!r}"

    return [
        _check("network namespace", net),
        _check("no network", outside),
        _check("pid namespace", pid),
        _check("ipc namespace", ipc),
        _check("uts namespace", uts),
    ]


def _uid_check(tmp: Path) -> Protection:
    if os.geteuid() != 0:
        return Protection("separate uid", False, "not running as root, so cannot switch to a sandbox uid")
    secret = tmp / "secret.txt"
    secret.write_text("grader only\n")
    os.chmod(tmp, 0o755)
    os.chmod(secret, 0o700)
    parent = os.getpid()

    def check() -> tuple[bool, str]:
        if not drop_privileges(DOCTOR_UID, DOCTOR_UID):
            return False, "setuid failed"
        try:
            secret.read_text()
            return False, f"uid {DOCTOR_UID} could read a 0700 root file"
        except PermissionError:
            pass
        try:
            os.kill(parent, 0)
            signal_note = "but can signal the grader"
            return False, f"uid {DOCTOR_UID} cannot read a 0700 root file {signal_note}"
        except PermissionError:
            return True, f"runs as uid {DOCTOR_UID}: cannot read a 0700 root file or signal the grader"

    return _check("separate uid", check)


def _landlock_checks(workdir: Path, outside_file: Path, port: int) -> list[Protection]:
    abi = landlock_abi()
    if abi < 1:
        reason = "Landlock is not available in this kernel"
        return [Protection("Landlock filesystem", False, reason),
                Protection("Landlock TCP", False, reason),
                Protection("Landlock scopes", False, reason)]
    course = Path("course.yaml").resolve()
    forbidden = [outside_file, Path("/etc/passwd")] + ([course] if course.is_file() else [])

    def fs() -> tuple[bool, str]:
        allowed = workdir / "allowed.txt"
        allowed.write_text("ok")
        if not restrict_filesystem(read_write=[workdir], read_only=[]):
            return False, "landlock_restrict_self failed"
        (workdir / "written.txt").write_text("ok")
        readable = []
        for path in forbidden:
            try:
                path.read_bytes()
                readable.append(str(path))
            except PermissionError:
                pass
        if readable:
            return False, f"could still read {', '.join(readable)}"
        shown = ", ".join(p.name for p in forbidden)
        return allowed.read_text() == "ok", f"ABI {abi}: work directory usable, denied reading {shown}"

    def tcp() -> tuple[bool, str]:
        if abi < 4:
            return False, f"needs Landlock ABI 4, kernel has {abi}"
        if not restrict_filesystem(read_write=[workdir], read_only=[]):
            return False, "landlock_restrict_self failed"
        error = _try_connect(port)
        if error is None:
            return False, "TCP connect still allowed"
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
            return False, "TCP bind still allowed"
        except PermissionError:
            pass
        return True, f"TCP connect ({error}) and bind denied even on loopback"

    def scopes() -> tuple[bool, str]:
        if abi < 6:
            return False, f"needs Landlock ABI 6, kernel has {abi}"
        target = os.getppid()
        if not restrict_filesystem(read_write=[workdir], read_only=[]):
            return False, "landlock_restrict_self failed"
        try:
            os.kill(target, 0)
            return False, "can still signal a process outside the sandbox"
        except PermissionError:
            return True, "cannot signal processes or reach abstract unix sockets outside the sandbox"

    return [_check("Landlock filesystem", fs), _check("Landlock TCP", tcp), _check("Landlock scopes", scopes)]


def _rlimit_checks(limits: Limits, workdir: Path) -> list[Protection]:
    def memory() -> tuple[bool, str]:
        import numpy as np

        apply_rlimits(limits)
        too_much = (limits.memory_mb + 256) * 1024 * 1024
        try:
            # np.empty maps without touching pages, so a missing limit costs nothing.
            np.empty(too_much, dtype=np.uint8)
            return False, f"allocating {limits.memory_mb + 256} MiB succeeded"
        except MemoryError:
            pass
        small = np.ones((200, 200)) @ np.ones((200, 200))
        return bool(small[0, 0] == 200), (f"allocating {limits.memory_mb + 256} MiB raises MemoryError, "
                                          f"numpy still works")

    def processes() -> tuple[bool, str]:
        apply_rlimits(Limits(limits.memory_mb, 4, limits.max_file_mb, limits.max_open_files, limits.cpu_seconds))
        dropped = drop_privileges(DOCTOR_UID, DOCTOR_UID)
        if not dropped and os.geteuid() == 0:
            return False, "RLIMIT_NPROC does not apply to root and the uid could not be dropped"
        started, refused = [], None
        try:
            for _ in range(10):
                try:
                    pid = os.fork()
                except BlockingIOError as exc:
                    refused = _errname(exc)
                    break
                if pid == 0:
                    die_with_parent()
                    time.sleep(10)
                    os._exit(0)
                started.append(pid)
        finally:
            for pid in started:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except OSError:
                    pass
        if refused is None:
            return False, "10 forks succeeded with max_processes=4"
        return True, f"with max_processes=4, fork number {len(started) + 1} fails ({refused})"

    def file_size() -> tuple[bool, str]:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        apply_rlimits(Limits(limits.memory_mb, limits.max_processes, 1, limits.max_open_files, limits.cpu_seconds))
        try:
            with open(workdir / "big.bin", "wb") as fh:
                fh.write(b"\0" * (2 * 1024 * 1024))
            return False, "wrote a 2 MiB file with max_file_mb=1"
        except OSError as exc:
            return exc.errno == errno.EFBIG, f"writing 2 MiB with max_file_mb=1 fails ({_errname(exc)})"

    def open_files() -> tuple[bool, str]:
        apply_rlimits(Limits(limits.memory_mb, limits.max_processes, limits.max_file_mb, 32, limits.cpu_seconds))
        opened = []
        try:
            for _ in range(64):
                opened.append(os.open(os.devnull, os.O_RDONLY))
            return False, "opened 64 files with max_open_files=32"
        except OSError as exc:
            return exc.errno == errno.EMFILE, f"with max_open_files=32 opening fails ({_errname(exc)})"
        finally:
            for fd in opened:
                os.close(fd)

    protections = [
        _check("memory limit", memory),
        _check("process limit", processes),
        _check("file size limit", file_size),
        _check("open files limit", open_files),
    ]

    def spin() -> tuple[bool, str]:
        apply_rlimits(Limits(limits.memory_mb, limits.max_processes, limits.max_file_mb, limits.max_open_files, 1))
        end = time.monotonic() + 4
        while time.monotonic() < end:
            pass
        return False, "4 s of busy loop with cpu_seconds=1 was not stopped"

    started = time.monotonic()
    try:
        report, status = run_in_child(spin, timeout=5.0)
    except OSError as exc:
        protections.append(Protection("CPU time limit", False, f"could not run the check: {exc}"))
        return protections
    if report is not None:
        detail = report["result"][1] if "result" in report else report.get("error", "")
        protections.append(Protection("CPU time limit", False, detail))
    elif os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        took = time.monotonic() - started
        protections.append(Protection("CPU time limit", True,
                                      f"busy loop killed by {signal.Signals(os.WTERMSIG(status)).name} "
                                      f"after {took:.1f} s with cpu_seconds=1"))
    else:
        protections.append(Protection("CPU time limit", False, _describe_status(status)))
    return protections


def run_doctor(limits: Limits | None = None) -> list[Protection]:
    """Check every protection for real; one Protection per check, in report order."""
    limits = limits or Limits()
    tmp = Path(tempfile.mkdtemp(prefix="autograder-doctor-"))
    workdir = prepare_workdir(DOCTOR_UID, DOCTOR_UID)
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        outside = tmp / "outside.txt"
        outside.write_text("not for students\n")
        protections = _namespace_checks(port)
        protections.append(_uid_check(tmp))
        protections += _landlock_checks(workdir, outside, port)
        protections += _rlimit_checks(limits, workdir)
        from .doctor_view import view_checks

        protections += view_checks(DOCTOR_UID)
        return protections
    finally:
        listener.close()
        remove_workdir(workdir)
        remove_workdir(tmp)


def format_report(protections: list[Protection]) -> str:
    """A table of protections, then one sentence on what grading guarantees."""
    width = max([len(p.name) for p in protections] + [10])
    lines = ["Sandbox protections on this machine:", ""]
    for p in protections:
        status = "active" if p.active else "MISSING"
        lines.append(f"  {p.name:<{width}}  {status:<7}  {p.detail}")
    missing = [p for p in protections if not p.active]
    lines.append("")
    if not missing:
        lines.append(f"All {len(protections)} protections are active: student code runs without network, "
                     "under its own uid, confined to its work directory, with bounded memory, processes, "
                     "file size and CPU time.")
        return "\n".join(lines)
    lines.append(f"{len(protections) - len(missing)} of {len(protections)} protections active. Without the "
                 "missing ones:")
    for p in missing:
        lines.append(f"  - {p.name}: {CONSEQUENCES.get(p.name, 'this protection is not enforced')}")
    lines.append("Grading still runs every submission in its own process, killed at its time limit, so a "
                 "crash or endless loop costs only that submission and cannot change another's grade; "
                 "but only grade untrusted code when the missing protections above are acceptable.")
    return "\n".join(lines)

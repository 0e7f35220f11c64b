"""Kernel namespaces that cut the sandbox off from the host.

Python 3.11 has no os.unshare, so unshare(2) is called through libc.
A new network namespace has no interface up, not even loopback, so student
code cannot reach the network or services listening on localhost. A new PID
namespace applies to the *next child*: it becomes PID 1 there, sees no host
processes, and when it exits the kernel kills everything it left behind.
IPC and UTS namespaces hide host SysV IPC / POSIX message queues and the
host name.
"""
from __future__ import annotations

import ctypes
import os
import signal

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

NAMESPACES: dict[str, int] = {
    "net": CLONE_NEWNET,
    "pid": CLONE_NEWPID,
    "ipc": CLONE_NEWIPC,
    "uts": CLONE_NEWUTS,
    "mnt": CLONE_NEWNS,
}

SANDBOX_HOSTNAME = b"sandbox"

_libc = None


def _load_libc():
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
        except OSError:
            _libc = False
    return _libc or None


def _unshare(flags: int) -> bool:
    libc = _load_libc()
    if libc is None or not hasattr(libc, "unshare"):
        return False
    try:
        return libc.unshare(ctypes.c_int(flags)) == 0
    except Exception:  # a broken libc must not stop the sandbox from reporting
        return False


def _set_hostname() -> None:
    """Give the new UTS namespace a neutral name so the host's is not visible."""
    libc = _load_libc()
    if libc is None:
        return
    try:
        libc.sethostname(SANDBOX_HOSTNAME, ctypes.c_size_t(len(SANDBOX_HOSTNAME)))
    except Exception:
        pass


def enter_namespaces(without: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Unshare net, pid, ipc and uts; return the names that took effect.

    All four are tried in one call first (one syscall, nothing half done);
    if the kernel refuses (e.g. one type is not compiled in or we lack the
    privilege) each is tried on its own so we keep whatever works.
    Remember that "pid" only affects children forked afterwards, and only
    one child can be PID 1: after it exits, the caller cannot fork into that
    namespace again. Never raises.
    """
    names = [n for n in NAMESPACES if n not in without]
    wanted = 0
    for name in names:
        wanted |= NAMESPACES[name]
    if wanted and _unshare(wanted):
        done = names
    else:
        done = [name for name in names if _unshare(NAMESPACES[name])]
    if "uts" in done:
        _set_hostname()
    return done


def namespace_id(kind: str, pid: int | str = "self") -> str | None:
    """The kernel's identity of a namespace (e.g. 'net:[4026531840]'), or None.

    Comparing these before and after is how one proves an unshare happened;
    for "pid" the namespace of future children is what unshare changes.
    """
    name = "pid_for_children" if kind == "pid" else kind
    try:
        return os.readlink(f"/proc/{pid}/ns/{name}")
    except OSError:
        return None



# clone(2) numbers where a fork-like clone (no new stack) is known to work.
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}


def _raw_clone(flags: int) -> int:
    """clone(2) without a new stack: like fork(), but the child starts in new namespaces.

    Python's own fork bookkeeping (locks, thread state) is run around it exactly as os.fork
    does. Returns the child's pid in the parent, 0 in the child, -1 if the kernel refused.
    """
    libc = _load_libc()
    number = _SYS_CLONE.get(os.uname().machine)
    if libc is None or number is None:
        return -1
    api = ctypes.pythonapi
    libc.syscall.restype = ctypes.c_long
    api.PyOS_BeforeFork()
    pid = libc.syscall(ctypes.c_long(number), ctypes.c_ulong(flags | signal.SIGCHLD), None, None, None, None)
    if pid == 0:
        api.PyOS_AfterFork_Child()
    else:
        api.PyOS_AfterFork_Parent()
    return pid


def fork_into_namespaces(without: frozenset[str] = frozenset()) -> tuple[int, list[str]]:
    """Fork a child that is PID 1 of fresh pid, net, ipc, uts and mount namespaces.

    Unlike unshare, this leaves the caller where it was, so a long-lived worker can do it
    for every submission without a throw-away process in between. Falls back to a plain
    fork in which the child unshares what it still can. Returns (pid, namespaces entered),
    in the parent what it knows the child entered ([] after the fallback). Namespaces named in `without` are left out
    (switched off for testing degraded modes).
    """
    names = [n for n in NAMESPACES if n not in without]
    wanted = 0
    for name in names:
        wanted |= NAMESPACES[name]
    pid = _raw_clone(wanted) if wanted else os.fork()
    if pid == 0:
        if "uts" in names:
            _set_hostname()
        return 0, names
    if pid > 0:
        return pid, names
    pid = os.fork()
    if pid == 0:
        # pid would only apply to its children
        return 0, [n for n in enter_namespaces(without | {"pid"})]
    return pid, []

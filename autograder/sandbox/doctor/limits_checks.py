"""Doctor checks of what bounds a whole submission: control groups, unique uids, the system-call filter."""
from __future__ import annotations

import ctypes
import errno
import os
import socket
import time

from .. import cgroups, identity, seccomp, stale, switches
from .report import Protection
from .running import _check, _errname


def _allocations(count: int, mib: int) -> list[int]:
    statuses = []
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            block = bytearray(mib * 1024 * 1024)  # zero-filled by the kernel page by page: touched
            for i in range(0, len(block), 4096):
                block[i] = 1
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        statuses.append(os.waitpid(pid, 0)[1])
    return statuses


def cgroup_checks() -> list[Protection]:
    kinds = {h.kind: h for h in cgroups.hierarchies()}
    found = []
    if "memory" not in kinds:
        found.append(Protection("cgroup memory limit", False, "no writable memory control group (cgroup v1 memory "
                                "or v2 memory.max); only the per-process rlimit bounds memory"))
    else:
        group = cgroups.SubmissionGroup.create(f"doctor-{os.getpid()}/memory", 96, 64)

        def memory() -> tuple[bool, str]:
            group.join()
            statuses = _allocations(3, 48)
            killed = sum(1 for s in statuses if os.WIFSIGNALED(s))
            use = group.usage()
            return (killed > 0 and use.memory_limit_hit,
                    f"cgroup v{kinds['memory'].version}: 3 processes of 48 MiB under a 96 MiB group: {killed} "
                    f"killed by the group's OOM killer, peak {use.peak_memory_mb} MiB")
        found.append(_check("cgroup memory limit", memory, timeout=15) if group else
                     Protection("cgroup memory limit", False, "creating a memory control group failed"))
        if group:
            group.remove()
    if "pids" not in kinds:
        found.append(Protection("cgroup process limit", False, "no writable pids control group; only RLIMIT_NPROC "
                                "(per uid, not for root) bounds processes"))
    else:
        group = cgroups.SubmissionGroup.create(f"doctor-{os.getpid()}/pids", 256, 4)

        def pids() -> tuple[bool, str]:
            group.join()
            started = []
            try:
                for _ in range(10):
                    pid = os.fork()
                    if pid == 0:
                        time.sleep(5)
                        os._exit(0)
                    started.append(pid)
                return False, "10 forks succeeded in a group of 4 processes"
            except BlockingIOError as exc:
                return True, (f"cgroup v{kinds['pids'].version}: with 4 processes, fork number {len(started) + 1} "
                              f"fails ({_errname(exc)}), also for root")
        found.append(_check("cgroup process limit", pids) if group else
                     Protection("cgroup process limit", False, "creating a pids control group failed"))
        if group:
            group.remove()  # also kills the sleepers: they are in the group
    for h in cgroups.hierarchies():
        cgroups.remove_group(h.kit / f"doctor-{os.getpid()}")
    return found


def uid_lease_check() -> tuple[Protection, identity.Lease | None]:
    """Two leases taken at once must differ and be held; the doctor keeps the first for its checks."""
    if os.geteuid() != 0:
        return Protection("unique sandbox uids", False, "not running as root: no sandbox uids at all"), None
    try:
        cleaned = stale.clean_stale()
        first, second = identity.acquire(), identity.acquire()
    except (OSError, ValueError) as exc:
        return Protection("unique sandbox uids", False, f"cannot lease a uid: {exc}"), None
    held = identity.lease_held(first.path) and identity.lease_held(second.path)
    second.release()
    ids = identity.uid_range()
    detail = (f"leased uids {first.uid} and {second.uid} of {ids.start}..{ids.stop - 1} under a host-wide lock "
              f"in {identity.state_dir()}")
    if cleaned:
        detail += f"; cleaned {len(cleaned)} leftovers of dead runs"
    return Protection("unique sandbox uids", held and first.uid != second.uid, detail), first


def seccomp_check() -> Protection:
    if not seccomp.available():
        return Protection("system-call filter", False, "pyseccomp or libseccomp.so.2 is missing: no filter")
    program = seccomp.compile_filter()
    if program is None:
        return Protection("system-call filter", False, "libseccomp could not build the filter")

    def check() -> tuple[bool, str]:
        if not seccomp.load_filter(program):
            return False, "loading the filter failed"
        denied = []
        for family, name in ((socket.AF_NETLINK, "netlink"), (socket.AF_INET, "inet")):
            try:
                socket.socket(family, socket.SOCK_DGRAM).close()
            except OSError as exc:
                if exc.errno == errno.EPERM:
                    denied.append(f"{name} socket")
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(ctypes.c_int(0x10000000)) != 0 and ctypes.get_errno() == errno.EPERM:
            denied.append("unshare(CLONE_NEWUSER)")  # root could otherwise: only the filter refuses
        a, b = socket.socketpair()
        a.close(), b.close()
        return len(denied) == 3, f"{len(program) // 8} BPF instructions; denied with EPERM: {', '.join(denied)}"

    return _check("system-call filter", check)


def switch_check() -> Protection:
    text = switches.describe()
    if text is None:
        return Protection("switched off for testing", True, f"nothing ({switches.ENV} is not set)")
    return Protection("switched off for testing", False, text)

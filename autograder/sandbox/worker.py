"""What a grading worker holds for its whole life, and the per-submission limits it hands out.

Built once per worker: the uid lease (identity.py) and the compiled system-call filter
(seccomp.py). Made per submission: the control group (cgroups.py). The engine calls these at
its isolation points; each says whether it took effect so the summary can report it.
"""
from __future__ import annotations

import os

from . import cgroups, identity, seccomp, stale, switches
from .privileges import sandbox_uid

#: cgroup memory on top of the submission's memory limit: copy-on-write copies of the
#: worker's pages and the interpreter's own churn, so that one process running out of address
#: space (a clean MemoryError from RLIMIT_AS) comes before the cgroup kills anything.
CGROUP_MEMORY_MARGIN_MB = 128

_lease: list = []
_count = [0]


class Adopted:
    """A lease held by the process that started this worker (it keeps the host's view and the
    lock for the worker's life and gives both back when the worker stops)."""

    def __init__(self, uid: int, name: str):
        self.uid, self.name = uid, name

    def forget_in_child(self) -> None:
        pass

    def release(self) -> None:
        pass


LEASE_ENV = "AUTOGRADER_WORKER_LEASE"


def take_for_worker() -> tuple[identity.Lease | None, dict[str, str]]:
    """In the trusted process, before a worker starts: its lease and what tells the worker of it."""
    held = lease_uncached()
    return held, ({LEASE_ENV: f"{held.uid}:{held.name}"} if held is not None else {})


def give_back(held: identity.Lease | None) -> None:
    """When a worker has stopped: remove its control groups and give its uid back."""
    if held is None:
        return
    for h in cgroups.hierarchies():
        cgroups.remove_group(h.kit / held.name)
    held.release()


def lease_uncached() -> identity.Lease | None:
    if os.geteuid() != 0 or switches.is_disabled("uid"):
        return None
    try:
        stale.clean_stale()
        return identity.acquire(on_stale=stale.clean_uid)
    except (OSError, ValueError):
        return None


def lease() -> identity.Lease | None:
    """This worker's uid lease: the one its starter holds for it, else taken on first use."""
    if not _lease:
        given = os.environ.get(LEASE_ENV, "")
        if given:
            uid, _, name = given.partition(":")
            _lease.append(Adopted(int(uid), name))
            return _lease[0]
        held = None
        if os.geteuid() == 0 and not switches.is_disabled("uid"):
            try:
                stale.clean_stale()
                held = identity.acquire(on_stale=stale.clean_uid)
            except (OSError, ValueError):
                held = None
        _lease.append(held)
    return _lease[0]


def worker_uid(worker_index: int) -> int:
    """The uid this worker runs student code as: its own leased uid, else the fixed fallback."""
    held = lease()
    return held.uid if held is not None else sandbox_uid(worker_index)


def submission_group(memory_mb: int, max_processes: int) -> cgroups.SubmissionGroup | None:
    """A fresh control group for the next submission (before the fork), or None."""
    if switches.is_disabled("cgroup"):
        return None
    held = lease()
    _count[0] += 1
    owner = held.name if held is not None else f"p{os.getpid()}"
    return cgroups.SubmissionGroup.create(f"{owner}/s{_count[0]}", memory_mb + CGROUP_MEMORY_MARGIN_MB,
                                          max_processes)


def join_group(group: cgroups.SubmissionGroup | None) -> str | None:
    """In the child: enter the submission's group; a protection line, or None if it did not work."""
    if group is None:
        return None
    joined = group.join()
    return group.describe(joined) if joined else None


def syscall_filter() -> bytes | None:
    """The compiled filter for this worker (None if unavailable or switched off)."""
    return None if switches.is_disabled("seccomp") else seccomp.worker_filter()


def load_syscall_filter(program: bytes | None) -> str | None:
    if seccomp.load_filter(program):
        return "seccomp: keyrings, io_uring, bpf, ptrace, mount, new namespaces and non-UNIX sockets denied"
    return None


def in_child() -> None:
    """In the forked child: let go of what only the worker should hold."""
    if _lease and _lease[0] is not None:
        _lease[0].forget_in_child()


def release() -> None:
    """When the worker stops: remove its groups and give its uid back."""
    held = _lease[0] if _lease else None
    if held is None:
        return
    for h in cgroups.hierarchies():
        cgroups.remove_group(h.kit / held.name)
    held.release()
    _lease.clear()


def prepare() -> list[Path]:
    """Once, in the worker, while it still sees the host: take the uid lease (cleaning dead runs'
    leftovers), compile the filter, and find the control-group folders the worker's root must keep."""
    lease()
    syscall_filter()
    return [] if switches.is_disabled("cgroup") else cgroups.kit_folders()

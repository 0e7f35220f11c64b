"""Resource limits for the process that runs student code.

Rlimits are inherited across fork and survive setuid, so they are applied in
the sandboxed child just before it drops privileges: everything the student
code (and anything it forks) does afterwards is bounded by them.
"""
from __future__ import annotations

import resource
from dataclasses import dataclass

_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one submission may use.

    memory_mb is *extra* address space on top of what the process already maps
    when the limit is applied (a forked numpy process already maps far more
    than it uses), so the same value means the same headroom whatever was
    imported beforehand.
    """

    memory_mb: int = 1024
    max_processes: int = 32
    max_file_mb: int = 64
    max_open_files: int = 256
    cpu_seconds: int = 60


def current_address_space() -> int:
    """Bytes of address space this process maps now (VmSize), 0 if unknown.

    Read from /proc rather than summed from allocations because shared
    libraries, thread stacks and allocator arenas all count against RLIMIT_AS.
    """
    try:
        # Binary on purpose: no codec lookup, which may need an import that
        # is no longer possible in a confined process.
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _set(name: str, soft: int, hard: int | None = None) -> bool:
    """Lower one rlimit without ever raising.

    The hard limit is clamped to the current one: raising it needs privilege
    we may no longer have, and a limit that is already tighter is fine.
    """
    which = getattr(resource, name, None)
    if which is None:
        return False
    hard = soft if hard is None else hard
    try:
        _, cur_hard = resource.getrlimit(which)
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
        return True
    except (OSError, ValueError):
        return False


def apply_rlimits(limits: Limits) -> list[str]:
    """Apply `limits` to this process; return the names of the rlimits set.

    Soft and hard limits are set equal (except CPU) so student code cannot
    raise them back. RLIMIT_CPU gets a one second gap so the kernel sends
    SIGXCPU before the SIGKILL at the hard limit. RLIMIT_CORE=0 keeps a
    crashing submission from writing a core file of the whole address space.
    Never raises: the caller reports what is active.
    """
    applied: list[str] = []
    address_space = current_address_space() + max(0, limits.memory_mb) * _MIB
    wanted = [
        ("RLIMIT_AS", address_space, address_space),
        ("RLIMIT_CPU", max(1, limits.cpu_seconds), max(1, limits.cpu_seconds) + 1),
        ("RLIMIT_FSIZE", max(0, limits.max_file_mb) * _MIB, None),
        ("RLIMIT_NOFILE", max(0, limits.max_open_files), None),
        ("RLIMIT_NPROC", max(0, limits.max_processes), None),
        ("RLIMIT_CORE", 0, 0),
    ]
    for name, soft, hard in wanted:
        if _set(name, soft, hard):
            applied.append(name)
    return applied

"""Memory and process limits for a whole submission, with a control group per submission.

An rlimit bounds one process: a submission that forks can multiply it (four processes held
3.3 GB under a 1 GB RLIMIT_AS). A control group bounds the sum over every process and thread
the submission starts, and tells afterwards whether the limit was hit.

Layout: a kit-owned folder ``autograder`` below the grader's own group of each controller,
one folder per worker lease there (``<lease>``, see identity.py), one per submission inside it
(``<lease>/s<n>``). Nesting below the grader's own group keeps the grader's own limits and
accounting above everything it starts. cgroup v1 (separate ``memory`` and ``pids``
hierarchies) and v2 (one unified hierarchy with memory.max and pids.max) are both used where
writable; where neither is, `SubmissionGroup.create` returns None and only the rlimits bound
a submission.

Memory: v1 memory.limit_in_bytes (and memory.memsw.limit_in_bytes where swap accounting
exists, so the limit cannot be dodged by swapping), v2 memory.max with memory.swap.max = 0.
Pages the child inherits from the worker stay charged to the worker (charges do not move with
a process), so the limit is on what the submission itself allocates. tmpfs pages a submission
writes are charged to it too: files in a tmpfs work directory count against the memory limit.

Joining: the trusted side opens each group's cgroup.procs before the fork, the child writes
"0" (itself) into those descriptors before any student code runs. The kernel checks the
opener's credentials, so this works after the child has switched mount namespace.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
KIT_FOLDER = "autograder"
_MIB = 1024 * 1024


def _own_path(controller: str) -> str | None:
    """This process's group in `controller`'s hierarchy ('' for v2), from /proc/self/cgroup."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and controller in parts[1].split(","):
            return parts[2]
        if len(parts) == 3 and controller == "" and parts[0] == "0" and parts[1] == "":
            return parts[2]
    return None


@dataclass(frozen=True)
class Hierarchy:
    """Where one kind of limit is set: the kit's folder and the files to write."""

    kind: str          # "memory" or "pids"
    version: int       # 1 or 2
    kit: Path          # <grader's own group>/autograder


def _v1(controller: str) -> Hierarchy | None:
    own = _own_path(controller)
    mount = ROOT / controller
    if own is None or not (mount / "cgroup.procs").exists():
        return None
    base = mount / own.lstrip("/")
    return Hierarchy(controller, 1, base / KIT_FOLDER) if os.access(base, os.W_OK) else None


def _v2(controller: str) -> Hierarchy | None:
    for mount in (ROOT, ROOT / "unified"):
        if not (mount / "cgroup.controllers").exists():
            continue
        own = _own_path("")
        if own is None:
            return None
        base = mount / own.lstrip("/")
        try:
            offered = (base / "cgroup.controllers").read_text().split()
        except OSError:
            return None
        if controller in offered and os.access(base, os.W_OK):
            return Hierarchy(controller, 2, base / KIT_FOLDER)
    return None


def hierarchies() -> list[Hierarchy]:
    """The hierarchies where this process may make groups, at most one per kind of limit."""
    found = []
    for kind in ("memory", "pids"):
        h = _v1(kind) or _v2(kind)
        if h is not None:
            found.append(h)
    return found


def _write(path: Path, value: str) -> bool:
    try:
        with open(path, "w") as fh:
            fh.write(value)
        return True
    except OSError:
        return False


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _v2_events(path: Path) -> dict[str, int]:
    try:
        pairs = [line.split() for line in path.read_text().splitlines()]
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2}
    except (OSError, ValueError):
        return {}


def _ensure_kit_folder(h: Hierarchy) -> bool:
    """Create <own>/autograder; on v2 also delegate the controller to its children."""
    try:
        h.kit.mkdir(exist_ok=True)
    except OSError:
        return False
    if h.version == 2:
        # v2 lets a group hand a controller to its children only if it holds no processes,
        # which the kit folder never does; its parent must offer it to the kit folder first.
        _write(h.kit.parent / "cgroup.subtree_control", f"+{h.kind}")
        _write(h.kit / "cgroup.subtree_control", f"+{h.kind}")
    return True


def make_group(h: Hierarchy, name: str, memory_mb: int, max_processes: int) -> Path | None:
    """Create kit/<name> with its limit set; None if the kernel refuses. Intermediate folders are made too."""
    if not _ensure_kit_folder(h):
        return None
    path = h.kit / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if h.version == 2 and path.parent != h.kit:
            _write(path.parent / "cgroup.subtree_control", f"+{h.kind}")
        path.mkdir()
    except FileExistsError:
        pass
    except OSError:
        return None
    limit = str(max(1, memory_mb) * _MIB)
    if h.kind == "memory" and h.version == 1:
        ok = _write(path / "memory.limit_in_bytes", limit)
        if (path / "memory.memsw.limit_in_bytes").exists():
            ok = _write(path / "memory.memsw.limit_in_bytes", limit) and ok
    elif h.kind == "memory":
        ok = _write(path / "memory.max", limit)
        if (path / "memory.swap.max").exists():
            _write(path / "memory.swap.max", "0")
    else:
        ok = _write(path / "pids.max", str(max(1, max_processes)))
    if not ok:
        remove_group(path)
        return None
    return path


def kill_members(path: Path) -> int:
    """SIGKILL every process in the group (and below): they are provably the submission's own."""
    killed = 0
    for top, _, _ in os.walk(path):
        procs = Path(top) / "cgroup.procs"
        try:
            pids = [int(p) for p in procs.read_text().split()]
        except (OSError, ValueError):
            continue
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def remove_group(path: Path, wait: float = 1.0) -> bool:
    """Kill what is inside, then remove the group and any groups below it (deepest first).

    A killed process leaves its group a moment later, so rmdir is retried briefly (EBUSY).
    """
    deadline = time.monotonic() + wait
    folders = [Path(top) for top, _, _ in os.walk(path, topdown=False)] or [path]
    for folder in folders:
        while True:
            try:
                folder.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                kill_members(folder)
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.002)
    return True


@dataclass
class Usage:
    """What a finished submission's group recorded."""

    peak_memory_mb: float | None = None
    memory_limit_hit: bool = False    # an allocation failed or the OOM killer ran in the group
    oom_kills: int = 0
    pids_limit_hit: bool = False


@dataclass
class SubmissionGroup:
    """The groups of one submission, one per hierarchy, and the open cgroup.procs to join them."""

    paths: dict[str, tuple[Hierarchy, Path]]
    memory_mb: int
    max_processes: int
    _join_fds: list[int] = field(default_factory=list)

    @classmethod
    def create(cls, name: str, memory_mb: int, max_processes: int) -> "SubmissionGroup | None":
        """Make the groups for one submission; None if no hierarchy is usable. Never raises."""
        paths = {}
        for h in _hierarchies_cached():
            path = make_group(h, name, memory_mb, max_processes)
            if path is not None:
                paths[h.kind] = (h, path)
        if not paths:
            return None
        group = cls(paths, memory_mb, max_processes)
        for _, path in paths.values():
            try:
                group._join_fds.append(os.open(path / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC))
            except OSError:
                pass
        return group

    def join(self) -> list[str]:
        """In the child, before student code: move this process into every group; what worked."""
        joined = []
        for kind, fd in zip(self.paths, self._join_fds):
            try:
                os.write(fd, b"0")
                joined.append(kind)
            except OSError:
                pass
        self.close_fds()
        return joined

    def describe(self, joined: list[str]) -> str:
        parts = []
        if "memory" in joined:
            parts.append(f"memory {self.memory_mb} MB")
        if "pids" in joined:
            parts.append(f"{self.max_processes} processes")
        versions = sorted({f"v{h.version}" for h, _ in self.paths.values()})
        return f"cgroup ({'/'.join(versions)}): " + " and ".join(parts) + " for the whole submission"

    def close_fds(self) -> None:
        for fd in self._join_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._join_fds = []

    def usage(self) -> Usage:
        """Read the counters of a finished (or running) submission."""
        use = Usage()
        if "memory" in self.paths:
            h, path = self.paths["memory"]
            if h.version == 1:
                peak = _read_int(path / "memory.max_usage_in_bytes")
                failed = (_read_int(path / "memory.failcnt") or 0) + (_read_int(path / "memory.memsw.failcnt") or 0)
                oom = _v2_events(path / "memory.oom_control").get("oom_kill", 0)
            else:
                peak = _read_int(path / "memory.peak")
                events = _v2_events(path / "memory.events")
                failed, oom = events.get("max", 0), events.get("oom_kill", 0)
            use.peak_memory_mb = None if peak is None else round(peak / _MIB, 1)
            use.oom_kills = oom
            use.memory_limit_hit = bool(failed or oom)
        if "pids" in self.paths:
            h, path = self.paths["pids"]
            use.pids_limit_hit = _v2_events(path / "pids.events").get("max", 0) > 0
        return use

    def remove(self) -> bool:
        """Kill what is still inside and remove the groups; whether all are gone."""
        self.close_fds()
        return all([remove_group(path) for _, path in self.paths.values()])


_cache: list = []


def _hierarchies_cached() -> list[Hierarchy]:
    if not _cache:
        _cache.append(hierarchies())
    return _cache[0]


def kit_folders() -> list[Path]:
    """The kit's folder in every usable hierarchy, created now (before a worker hides the host)."""
    return [h.kit for h in _hierarchies_cached() if _ensure_kit_folder(h)]

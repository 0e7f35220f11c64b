"""Sandbox uids unique on this machine, leased by each worker for its lifetime.

State that the kernel keys on a uid (the user keyring, RLIMIT_NPROC counts, files a stray
process left in /dev/shm) must never pass from one grading run to another, so no two workers
on one machine, of one run or of concurrent runs, ever share a sandbox uid. Each worker takes
the next uid of a large range (2^20 uids from 100000 by default, AUTOGRADER_UID_BASE and
AUTOGRADER_UID_COUNT change it) under a host-wide lock, and holds a lease on it: a file
locked with flock(2) by the worker for as long as it lives. The kernel drops the lock when the
last process holding it dies, however it dies (kill -9 included), so a lease nobody holds is
provably stale. Uids are handed out in turn, so one is only reused after the whole range.

State lives in AUTOGRADER_STATE_DIR, by default /run/autograder as root (cleared at boot),
else a folder of the user's own in the temporary directory.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DEFAULT_UID_BASE = 100000
DEFAULT_UID_COUNT = 1 << 20
LEASE_SUFFIX = ".lease"


def state_dir() -> Path:
    configured = os.environ.get("AUTOGRADER_STATE_DIR")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/run/autograder")
    return Path(tempfile.gettempdir()) / f"autograder-state-{os.geteuid()}"


def uid_range() -> range:
    """The uids sandboxes may use; a bad setting is an error, not a silent default."""
    base = int(os.environ.get("AUTOGRADER_UID_BASE", DEFAULT_UID_BASE))
    count = int(os.environ.get("AUTOGRADER_UID_COUNT", DEFAULT_UID_COUNT))
    if base < 1000 or count < 1 or base + count > 2**31 - 1:
        raise ValueError(f"sandbox uid range {base}..{base + count - 1} is not usable: it must lie within "
                         f"1000..{2**31 - 2}")
    return range(base, base + count)


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = os.lstat(path)
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise PermissionError(f"{path} must be a folder owned by uid {os.geteuid()} that only it can write")
    return path


@contextmanager
def host_lock(directory: Path | None = None):
    """Serialise allocation and cleanup among every grader on this machine (flock on a lock file)."""
    folder = _private_dir(directory or state_dir())
    fd = os.open(folder / "uids.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        os.close(fd)


def lease_held(path: Path) -> bool:
    """Whether some live process holds the lease file's lock (True also if it cannot be checked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True  # EWOULDBLOCK: a live holder; anything else: cannot prove it dead
    finally:
        os.close(fd)


def _processes_of(uid: int) -> bool:
    """Whether any process runs with this real or effective uid (read from /proc status)."""
    wanted = str(uid)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Uid:"):
                        if wanted.encode() in line.split()[1:3]:
                            return True
                        break
        except OSError:
            continue
    return False


@dataclass
class Lease:
    """A sandbox uid held by this process until release() or death."""

    uid: int
    path: Path
    fd: int

    @property
    def name(self) -> str:
        """How this lease's leftovers (cgroups, work folders) are named."""
        return f"u{self.uid}"

    def forget_in_child(self) -> None:
        """A forked sandbox drops its copy of the lock: student code gets no handle on it."""
        try:
            os.close(self.fd)
        except OSError:
            pass

    def release(self) -> None:
        try:
            with host_lock(self.path.parent.parent):
                try:
                    self.path.unlink()
                except OSError:
                    pass
                os.close(self.fd)
        except OSError:
            try:
                os.close(self.fd)
            except OSError:
                pass


def acquire(directory: Path | None = None, on_stale=None) -> Lease:
    """Lease the next free uid of the range; on_stale(uid) cleans what a dead holder left.

    Raises OSError when the state folder cannot be used or the whole range is leased.
    """
    ids = uid_range()
    with host_lock(directory) as folder:
        leases = _private_dir(folder / "leases")
        counter = folder / "uids.next"
        try:
            offset = int(counter.read_text()) % len(ids)
        except (OSError, ValueError):
            offset = 0
        for step in range(len(ids)):
            uid = ids[(offset + step) % len(ids)]
            path = leases / f"{uid}{LEASE_SUFFIX}"
            if path.exists():
                if lease_held(path):
                    continue
                if on_stale is not None:
                    on_stale(uid)
            if _processes_of(uid):
                continue  # someone else's, or strays of a dead run: never share a live uid
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"uid": uid, "pid": os.getpid(), "since": time.time()}).encode())
            counter.write_text(str((offset + step + 1) % len(ids)))
            return Lease(uid, path, fd)
    raise OSError(errno.EUSERS, f"every sandbox uid of {ids.start}..{ids.stop - 1} is leased")


def stale_leases(directory: Path | None = None) -> list[int]:
    """Uids whose lease file exists but is held by no live process. Call under host_lock."""
    folder = (directory or state_dir()) / "leases"
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        stem = entry.name[:-len(LEASE_SUFFIX)]
        if entry.name.endswith(LEASE_SUFFIX) and stem.isdigit() and not lease_held(Path(entry.path)):
            found.append(int(stem))
    return sorted(found)

"""Running student code under its own unprivileged uid.

A separate uid is the oldest and most robust isolation Unix has: the
submission cannot read files that are private to root or to the grader,
cannot signal or ptrace the grader, and RLIMIT_NPROC (ignored for root)
starts to count. Each worker gets its own uid so that the process limit of
one submission is not shared with submissions graded at the same time.
No passwd entry is needed for these uids.
"""
from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

SANDBOX_UID_BASE = 61000
#: Enough distinct uids for any realistic number of parallel workers while
#: staying below the 65534 "nobody" uid.
MAX_WORKERS = 4000


def sandbox_uid(worker_index: int) -> int:
    """The uid (also used as gid) that worker `worker_index` runs student code as."""
    if not 0 <= worker_index < MAX_WORKERS:
        raise ValueError(f"worker index must be in 0..{MAX_WORKERS - 1}, got {worker_index}")
    return SANDBOX_UID_BASE + worker_index


def drop_privileges(uid: int, gid: int) -> bool:
    """Become uid/gid for good; return whether the process now runs as `uid`.

    Supplementary groups go first (root's groups would otherwise stay), then
    the gid (impossible once we are no longer root), then real, effective and
    saved uid together so there is no way back. Leaving root also clears all
    capabilities and makes the process non-dumpable, so other processes of
    the same uid cannot ptrace it. Only acts when running as root. Never
    raises.
    """
    try:
        if os.geteuid() == 0 and uid != 0:
            try:
                os.setgroups([])
            except OSError:
                pass
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
        return os.getresuid() == (uid, uid, uid) and uid != 0
    except OSError:
        try:
            return os.getresuid() == (uid, uid, uid) and uid != 0
        except OSError:
            return False


def prepare_workdir(uid: int, gid: int, parent: Path | None = None) -> Path:
    """Create a fresh private directory where the submission may write.

    Mode 0700 so other sandboxes (other uids) cannot look inside; chowned to
    the sandbox uid when we are root so the child can still use it after
    dropping privileges. Raises OSError only if no directory can be created
    at all, which means grading cannot run.
    """
    # Named after the uid so that a dead run's folders are recognisable (see stale.py).
    path = Path(tempfile.mkdtemp(prefix=f"autograder-u{uid}-", dir=parent))
    os.chmod(path, 0o700)
    if os.geteuid() == 0:
        try:
            os.chown(path, uid, gid)
        except OSError:
            pass
    return path


def remove_workdir(path: Path) -> None:
    """Delete a work directory and everything the submission left in it.

    shutil.rmtree does not follow symlinks (it works on directory fds), so a
    submission cannot trick this into deleting files elsewhere. Removing a
    directory the submission made unreadable works because we are root or
    its owner; permissions are fixed up otherwise. Never raises.
    """

    root = os.path.abspath(path)

    def _inside(target: str) -> bool:
        return target == root or target.startswith(root + os.sep)

    def _retry_writable(func, p, _exc):
        # Only what lies inside the work directory is made writable: never the folder that
        # holds it (e.g. /tmp itself, when the work directory is already gone).
        target = os.path.abspath(p)
        if not _inside(target) or not os.path.lexists(target):
            return
        try:
            if _inside(os.path.dirname(target)):
                os.chmod(os.path.dirname(target), 0o700)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=_retry_writable)
        else:
            shutil.rmtree(path, onerror=_retry_writable)
    except OSError:
        pass


def close_inherited_fds(keep: list[int]) -> None:
    """Close every descriptor but `keep`: the worker's sockets and folders stay out of reach."""
    highest = 1 << 16
    try:
        highest = os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        pass
    low = 0
    for fd in sorted(set(keep)) + [highest]:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1


def remove_tree(path: Path) -> bool:
    """Delete a folder a submission wrote, without recursion and without following links.

    Used only where no tmpfs could be mounted. Works on directory descriptors, depth first
    with an explicit stack, so any depth of nesting costs memory, not the interpreter's
    stack. False if anything is left.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        top = os.open(path, flags)
    except OSError:
        return not os.path.lexists(path)
    stack = [(top, None)]  # (dir fd, name of this dir in its parent)
    try:
        while stack:
            fd, _ = stack[-1]
            try:
                os.fchmod(fd, 0o700)
            except OSError:
                pass
            descended = False
            with os.scandir(fd) as entries:
                names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
            for name, is_dir in names:
                if is_dir:
                    try:
                        child = os.open(name, flags, dir_fd=fd)
                    except OSError:
                        continue
                    stack.append((child, name))
                    descended = True
                    break
                try:
                    os.unlink(name, dir_fd=fd)
                except FileNotFoundError:
                    pass
            if descended:
                continue
            _, name = stack.pop()
            os.close(fd)
            if stack:
                os.rmdir(name, dir_fd=stack[-1][0])
        os.rmdir(path)
        return True
    except OSError:
        for fd, _ in stack:
            try:
                os.close(fd)
            except OSError:
                pass
        return False

"""Cleaning up after a grader that was killed (kill -9, a crash, a power cut of the process).

Only what is provably a dead run's of this kit is touched: a lease file of the kit's state
folder that no live process holds (identity.py), and the leftovers named after that lease:
the kit's control groups ``autograder/u<uid>`` (whose processes the dead run put there, so
they are its own) and the work folders ``autograder-u<uid>-*`` in the temporary directory
that belong to that uid. Everything runs under the host-wide lock, so a grader that is
starting cannot lease the uid in the middle of the cleanup.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from pathlib import Path

from . import cgroups, identity

MNT_DETACH = 2


def _unmount(path: Path) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).umount2(os.fsencode(path), MNT_DETACH)
    except Exception:
        pass


def workdir_prefix(uid: int) -> str:
    return f"autograder-u{uid}-"


def _stale_workdirs(uid: int, parent: Path) -> list[Path]:
    prefix = workdir_prefix(uid)
    found = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            info = os.lstat(entry.path)
        except OSError:
            continue
        # Owned by the uid (the run chowned it) or by us (not yet chowned): both the kit's.
        if entry.is_dir(follow_symlinks=False) and info.st_uid in (uid, os.geteuid()):
            found.append(Path(entry.path))
    return found


def clean_uid(uid: int, tmp: Path | None = None) -> list[str]:
    """Remove a dead lease's control groups and work folders; what was removed. Call under the lock."""
    removed = []
    name = f"u{uid}"
    for h in cgroups.hierarchies():
        path = h.kit / name
        if path.is_dir():
            killed = cgroups.kill_members(path)
            if cgroups.remove_group(path):
                removed.append(f"{h.kind} cgroup {name}" + (f" ({killed} processes killed)" if killed else ""))
    for folder in _stale_workdirs(uid, tmp or Path(tempfile.gettempdir())):
        if os.path.ismount(folder):
            _unmount(folder)
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(f"work folder {folder.name}")
    return removed


def clean_stale(directory: Path | None = None, tmp: Path | None = None) -> list[str]:
    """Clean every dead run's leftovers on this machine; one line per thing removed. Never raises."""
    report = []
    try:
        with identity.host_lock(directory) as folder:
            leases = folder / "leases"
            # Only uids with a dead lease in this state folder: a kit cgroup without one may be
            # another grader's (one using another state folder), so it is never touched.
            dead = identity.stale_leases(folder)
            for uid in sorted(dead):
                report += clean_uid(uid, tmp)
                try:
                    (leases / f"{uid}{identity.LEASE_SUFFIX}").unlink()
                    report.append(f"stale lease of uid {uid}")
                except OSError:
                    pass
    except OSError:
        pass
    return report

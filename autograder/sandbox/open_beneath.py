"""Opening a submitted file beneath its folder without ever following a symbolic link.

Uploads kept in git keep their links: a "notebook" that is a link to the solutions, or a
folder that is a link to the reference, must be refused, not read as the grader's user.
openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS lets the
kernel refuse any link and any step out of the root in one call (Linux 5.6+); elsewhere each
component is opened with O_NOFOLLOW beneath the previous one. Only regular files are
returned, so a FIFO or a device cannot block or feed the grader.
"""
from __future__ import annotations

import ctypes
import errno
import os
import stat
from pathlib import Path

from .libc import syscall as _syscall

SYS_openat2 = 437  # the same on every architecture (the generic syscall table)
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08

LINK_MESSAGE = "is a symbolic link; links are not followed"


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]




_openat2_works: bool | None = None


def _openat2(dir_fd: int, relative: str, flags: int) -> int | None:
    """The new fd; None when the kernel has no openat2 (then the caller walks instead)."""
    global _openat2_works
    syscall = _syscall()
    if syscall is None or _openat2_works is False:
        return None
    how = _OpenHow(flags=flags, mode=0, resolve=RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
    fd = syscall(ctypes.c_long(SYS_openat2), ctypes.c_int(dir_fd), os.fsencode(relative), ctypes.byref(how),
                 ctypes.c_size_t(ctypes.sizeof(how)))
    if fd >= 0:
        _openat2_works = True
        return int(fd)
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EPERM) and _openat2_works is None:  # EPERM: a seccomp filter without it
        _openat2_works = False
        return None
    raise OSError(err, os.strerror(err), relative)


def _walk(dir_fd: int, relative: str, flags: int) -> int:
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise OSError(errno.EXDEV, "the path leaves the submission folder", relative)
    current = os.dup(dir_fd)
    try:
        for part in parts[:-1]:
            try:
                following = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                    dir_fd=current)
            except NotADirectoryError:
                if stat.S_ISLNK(os.lstat(part, dir_fd=current).st_mode):  # O_NOFOLLOW on a folder link
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), relative) from None
                raise
            os.close(current)
            current = following
        return os.open(parts[-1], flags | os.O_NOFOLLOW, dir_fd=current)
    finally:
        os.close(current)


def open_beneath(root: str | Path, relative: str | Path) -> int:
    """A read-only fd of the regular file `relative` beneath the folder `root`.

    `root` itself is trusted (the instructor named it); nothing beneath it is followed.
    Raises OSError: ELOOP for a link anywhere on the way, EXDEV for a way out, EINVAL for
    something other than a regular file.
    """
    relative = str(relative)
    if os.path.isabs(relative):
        raise OSError(errno.EXDEV, "the path leaves the submission folder", relative)
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = _openat2(root_fd, relative, flags)
        if fd is None:
            fd = _walk(root_fd, relative, flags)
    finally:
        os.close(root_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", relative)
    except BaseException:
        os.close(fd)
        raise
    return fd


def describe_open_error(exc: OSError) -> str:
    """Why a submission could not be opened, in words for the instructor and the student."""
    if exc.errno in (errno.ELOOP, errno.EMLINK):
        return LINK_MESSAGE
    if exc.errno == errno.EXDEV:
        return "lies outside its submission folder; it was not read"
    if exc.errno == errno.EINVAL:
        return "is not a regular file"
    return f"the file cannot be read: {exc.strerror or exc}"

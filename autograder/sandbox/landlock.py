"""Filesystem (and TCP / signal) confinement with Landlock.

Landlock lets an unprivileged process give up access to everything except a
list of paths, for itself and all its future children, irreversibly. It
works for root too once no_new_privs is set. The syscalls are called
through libc's syscall(2) because Python has no wrapper; their numbers are
the same on x86_64 and aarch64 (the generic syscall table).

Access rights the running kernel does not know are masked off as the kernel
documentation describes, so one ruleset works from ABI 1 upwards: each ABI
adds rights (REFER 2, TRUNCATE 3, TCP 4, IOCTL_DEV 5, scopes 6).

Landlock only checks when a file is opened: file descriptors that are open
before restrict_filesystem stay usable, so close what the student must not
have first.
"""
from __future__ import annotations

import ctypes
import os
import stat
from pathlib import Path

from .libc import libc as load_libc, syscall as _syscall

SYS_landlock_create_ruleset = 444
SYS_landlock_add_rule = 445
SYS_landlock_restrict_self = 446

LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
LANDLOCK_RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights (include/uapi/linux/landlock.h).
ACCESS_FS_EXECUTE = 1 << 0
ACCESS_FS_WRITE_FILE = 1 << 1
ACCESS_FS_READ_FILE = 1 << 2
ACCESS_FS_READ_DIR = 1 << 3
ACCESS_FS_REMOVE_DIR = 1 << 4
ACCESS_FS_REMOVE_FILE = 1 << 5
ACCESS_FS_MAKE_CHAR = 1 << 6
ACCESS_FS_MAKE_DIR = 1 << 7
ACCESS_FS_MAKE_REG = 1 << 8
ACCESS_FS_MAKE_SOCK = 1 << 9
ACCESS_FS_MAKE_FIFO = 1 << 10
ACCESS_FS_MAKE_BLOCK = 1 << 11
ACCESS_FS_MAKE_SYM = 1 << 12
ACCESS_FS_REFER = 1 << 13  # ABI 2
ACCESS_FS_TRUNCATE = 1 << 14  # ABI 3
ACCESS_FS_IOCTL_DEV = 1 << 15  # ABI 5

# TCP rights (ABI 4) and scopes (ABI 6).
ACCESS_NET_BIND_TCP = 1 << 0
ACCESS_NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

_FS_ABI1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM

# Rights that make sense on a regular file; the kernel rejects directory
# rights in a rule whose parent_fd is not a directory.
_FILE_RIGHTS = ACCESS_FS_EXECUTE | ACCESS_FS_WRITE_FILE | ACCESS_FS_READ_FILE | ACCESS_FS_TRUNCATE | ACCESS_FS_IOCTL_DEV
_READ_RIGHTS = ACCESS_FS_EXECUTE | ACCESS_FS_READ_FILE | ACCESS_FS_READ_DIR


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [
        ("allowed_access", ctypes.c_uint64),
        ("parent_fd", ctypes.c_int32),
    ]




def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel, 0 when unavailable.

    0 covers kernels without Landlock, kernels where it is compiled in but
    not enabled at boot (EOPNOTSUPP) and seccomp filters that block it.
    """
    syscall = _syscall()
    if syscall is None:
        return 0
    try:
        version = syscall(ctypes.c_long(SYS_landlock_create_ruleset), None, ctypes.c_size_t(0),
                          ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    except Exception:
        return 0
    return int(version) if version > 0 else 0


def handled_rights(abi: int) -> tuple[int, int, int]:
    """(fs, net, scoped) rights the given ABI can enforce."""
    if abi < 1:
        return 0, 0, 0
    fs = _FS_ABI1
    if abi >= 2:
        fs |= ACCESS_FS_REFER
    if abi >= 3:
        fs |= ACCESS_FS_TRUNCATE
    if abi >= 5:
        fs |= ACCESS_FS_IOCTL_DEV
    net = ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    return fs, net, scoped


def _add_path_rule(syscall, ruleset_fd: int, path: Path, dir_rights: int, handled_fs: int) -> bool:
    """Allow `dir_rights` beneath `path` (file rights only if it is a file)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False  # a missing path needs no rule: nothing there to allow
    try:
        rights = dir_rights & handled_fs
        if not _fd_is_dir(fd):
            rights &= _FILE_RIGHTS
        attr = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        ret = syscall(ctypes.c_long(SYS_landlock_add_rule), ctypes.c_int(ruleset_fd),
                      ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(attr), ctypes.c_uint32(0))
        return ret == 0
    finally:
        os.close(fd)


def _fd_is_dir(fd: int) -> bool:
    try:
        return stat.S_ISDIR(os.fstat(fd).st_mode)
    except OSError:
        return False


def restrict_filesystem(read_write: list[Path], read_only: list[Path]) -> bool:
    """Confine this process and its future children to the given paths.

    Everything is allowed beneath `read_write`; reading and executing beneath
    `read_only` (a file entry allows just that file); all other filesystem
    access the kernel can check is denied. Where the ABI allows, TCP bind and
    connect are denied outright, and the process can no longer connect to
    abstract unix sockets or send signals outside its own Landlock domain
    (so it cannot signal the grader). Missing paths are skipped.

    Sets no_new_privs, which Landlock requires and which also stops setuid
    binaries from regaining privilege. Returns False, changing nothing, when
    Landlock is unavailable. Never raises.
    """
    abi = landlock_abi()
    syscall = _syscall()
    if abi < 1 or syscall is None:
        return False
    fs, net, scoped = handled_rights(abi)
    attr = _RulesetAttr(handled_access_fs=fs, handled_access_net=net, scoped=scoped)
    # Older kernels only know a prefix of the struct; passing just that prefix
    # keeps them from rejecting fields they do not know.
    size = ctypes.sizeof(attr) if abi >= 6 else (16 if abi >= 4 else 8)
    try:
        ruleset_fd = syscall(ctypes.c_long(SYS_landlock_create_ruleset), ctypes.byref(attr),
                             ctypes.c_size_t(size), ctypes.c_uint32(0))
    except Exception:
        return False
    if ruleset_fd < 0:
        return False
    ruleset_fd = int(ruleset_fd)
    try:
        for path in read_write:
            _add_path_rule(syscall, ruleset_fd, Path(path), fs, fs)
        for path in read_only:
            _add_path_rule(syscall, ruleset_fd, Path(path), _READ_RIGHTS, fs)
        libc = load_libc()
        if libc.prctl(ctypes.c_int(PR_SET_NO_NEW_PRIVS), ctypes.c_ulong(1), ctypes.c_ulong(0),
                      ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
            return False
        ret = syscall(ctypes.c_long(SYS_landlock_restrict_self), ctypes.c_int(ruleset_fd), ctypes.c_uint32(0))
        return ret == 0
    except Exception:
        return False
    finally:
        try:
            os.close(ruleset_fd)
        except OSError:
            pass

"""The C library, loaded once, for the raw system calls the sandbox makes through ctypes."""
from __future__ import annotations

import ctypes

_libc = None


def libc():
    """The process's libc with errno kept, or None where it cannot be loaded."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.syscall.restype = ctypes.c_long
        except (OSError, AttributeError):
            _libc = False
    return _libc or None


def syscall():
    """libc's syscall(2), or None."""
    loaded = libc()
    return loaded.syscall if loaded else None

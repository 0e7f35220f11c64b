"""A system-call filter for student code, built with libseccomp (through pyseccomp).

Grading needs the ordinary calls of CPython, numpy and its BLAS: files, memory, threads,
signals, pipes and AF_UNIX sockets. Everything below is something grading never needs and
that widens what a hostile submission can reach in the kernel, so it fails with EPERM (not a
kill: Python turns it into a clean OSError the submission can be graded through):

- kernel keyrings (keyctl, add_key, request_key): they are kept per uid and outlive the
  processes of a submission, so one submission or run could leave data for the next;
- io_uring, bpf, perf_event_open, userfaultfd: large kernel attack surface;
- ptrace, process_vm_readv/writev, pidfd_getfd, kcmp: reaching into other processes;
- mount and the new mount API, pivot_root, chroot, unshare, setns, and clone with any
  namespace flag: no new namespaces (user namespaces above all) from inside the sandbox;
- module loading, kexec, reboot, swap, quotas, clocks, open_by_handle_at;
- socket() of any family but AF_UNIX (netlink included).

clone3 passes its flags in memory a filter cannot read, so it fails with ENOSYS instead:
glibc then falls back to clone, whose flags the filter checks.

The filter is compiled once per worker (`compile_filter`, the expensive libseccomp part) and
loaded in every sandboxed child as raw BPF with one prctl (`load_filter`), which costs a few
microseconds. If pyseccomp or libseccomp is missing, `compile_filter` returns None, grading
runs without the filter, and `autograder doctor` says so.
"""
from __future__ import annotations

import ctypes
import errno
import os

try:
    import pyseccomp
except Exception:  # not installed, or libseccomp.so.2 missing: grading still runs without it
    pyseccomp = None

# Calls denied outright, whatever their arguments.
DENIED = (
    "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "bpf", "perf_event_open", "userfaultfd", "fanotify_init",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr",
    "unshare", "setns",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "syslog", "vhangup", "name_to_handle_at", "open_by_handle_at", "iopl", "ioperm",
    "lookup_dcookie", "nfsservctl", "uselib", "sysfs", "_sysctl", "ustat",
)

# Namespace flags of clone(2) (include/uapi/linux/sched.h).
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACE_FLAGS = (CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                   CLONE_NEWPID, CLONE_NEWNET)

AF_UNIX = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def available() -> bool:
    """Whether a filter can be built here (pyseccomp imports and found libseccomp)."""
    return pyseccomp is not None


def _rules(f) -> list[str]:
    """Add every rule the running architecture knows; return the names it does not."""
    deny = pyseccomp.ERRNO(errno.EPERM)
    unknown = []
    for name in DENIED:
        try:
            f.add_rule(deny, name)
        except (OSError, ValueError, RuntimeError):
            unknown.append(name)  # e.g. iopl on aarch64: nothing to deny
    for flag in NAMESPACE_FLAGS:
        f.add_rule(deny, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    try:
        f.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    except (OSError, ValueError, RuntimeError):
        unknown.append("clone3")
    f.add_rule(deny, "socket", pyseccomp.Arg(0, pyseccomp.NE, AF_UNIX))
    return unknown


def compile_filter() -> bytes | None:
    """The filter as raw BPF for this machine's architecture, or None if it cannot be built.

    Never raises. Export goes through a pipe (libseccomp writes to a file descriptor); the
    program is a few hundred instructions, far below a pipe's buffer.
    """
    if pyseccomp is None:
        return None
    try:
        f = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        _rules(f)
        read_end, write_end = os.pipe()
        try:
            with os.fdopen(write_end, "wb", closefd=False) as sink:
                f.export_bpf(sink)
            os.close(write_end)
            write_end = -1
            chunks = []
            while chunk := os.read(read_end, 65536):
                chunks.append(chunk)
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
        program = b"".join(chunks)
        return program if program and len(program) % 8 == 0 else None
    except Exception:
        return None


_libc = None


def load_filter(program: bytes | None) -> bool:
    """Confine this process and all it starts later with a compiled filter; never raises.

    Sets no_new_privs first, which an unprivileged process needs to install a filter and
    which also keeps setuid programs from regaining privilege. Returns whether it is active.
    """
    global _libc
    if not program:
        return False
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        count = len(program) // 8
        instructions = (_SockFilter * count).from_buffer_copy(program)
        prog = _SockFprog(count, ctypes.cast(instructions, ctypes.POINTER(_SockFilter)))
        if _libc.prctl(ctypes.c_int(PR_SET_NO_NEW_PRIVS), ctypes.c_ulong(1), ctypes.c_ulong(0),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
            return False
        return _libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER),
                           ctypes.byref(prog), ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0
    except Exception:
        return False


_compiled: list = []


def worker_filter() -> bytes | None:
    """This worker's compiled filter, built on first use and kept for every later submission."""
    if not _compiled:
        _compiled.append(compile_filter())
    return _compiled[0]

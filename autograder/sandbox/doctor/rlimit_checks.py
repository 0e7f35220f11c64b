"""Doctor checks of the per-process rlimits: memory, processes, file size, open files, CPU time."""
from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

from ..forked import die_with_parent, run_in_child
from ..limits import Limits, apply_rlimits
from ..privileges import drop_privileges
from .report import Protection
from .running import _check, doctor_uid, _describe_status, _errname


def _rlimit_checks(limits: Limits, workdir: Path) -> list[Protection]:
    uid = doctor_uid()

    def memory() -> tuple[bool, str]:
        import numpy as np

        apply_rlimits(limits)
        too_much = (limits.memory_mb + 256) * 1024 * 1024
        try:
            # np.empty maps without touching pages, so a missing limit costs nothing.
            np.empty(too_much, dtype=np.uint8)
            return False, f"allocating {limits.memory_mb + 256} MiB succeeded"
        except MemoryError:
            pass
        small = np.ones((200, 200)) @ np.ones((200, 200))
        return bool(small[0, 0] == 200), (f"allocating {limits.memory_mb + 256} MiB raises MemoryError, "
                                          f"numpy still works")

    def processes() -> tuple[bool, str]:
        apply_rlimits(Limits(limits.memory_mb, 4, limits.max_file_mb, limits.max_open_files, limits.cpu_seconds))
        dropped = drop_privileges(uid, uid)
        if not dropped and os.geteuid() == 0:
            return False, "RLIMIT_NPROC does not apply to root and the uid could not be dropped"
        started, refused = [], None
        try:
            for _ in range(10):
                try:
                    pid = os.fork()
                except BlockingIOError as exc:
                    refused = _errname(exc)
                    break
                if pid == 0:
                    die_with_parent()
                    time.sleep(10)
                    os._exit(0)
                started.append(pid)
        finally:
            for pid in started:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except OSError:
                    pass
        if refused is None:
            return False, "10 forks succeeded with max_processes=4"
        return True, f"with max_processes=4, fork number {len(started) + 1} fails ({refused})"

    def file_size() -> tuple[bool, str]:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        apply_rlimits(Limits(limits.memory_mb, limits.max_processes, 1, limits.max_open_files, limits.cpu_seconds))
        try:
            with open(workdir / "big.bin", "wb") as fh:
                fh.write(b"\0" * (2 * 1024 * 1024))
            return False, "wrote a 2 MiB file with max_file_mb=1"
        except OSError as exc:
            return exc.errno == errno.EFBIG, f"writing 2 MiB with max_file_mb=1 fails ({_errname(exc)})"

    def open_files() -> tuple[bool, str]:
        apply_rlimits(Limits(limits.memory_mb, limits.max_processes, limits.max_file_mb, 32, limits.cpu_seconds))
        opened = []
        try:
            for _ in range(64):
                opened.append(os.open(os.devnull, os.O_RDONLY))
            return False, "opened 64 files with max_open_files=32"
        except OSError as exc:
            return exc.errno == errno.EMFILE, f"with max_open_files=32 opening fails ({_errname(exc)})"
        finally:
            for fd in opened:
                os.close(fd)

    protections = [
        _check("memory limit", memory),
        _check("process limit", processes),
        _check("file size limit", file_size),
        _check("open files limit", open_files),
    ]

    def spin() -> tuple[bool, str]:
        apply_rlimits(Limits(limits.memory_mb, limits.max_processes, limits.max_file_mb, limits.max_open_files, 1))
        end = time.monotonic() + 4
        while time.monotonic() < end:
            pass
        return False, "4 s of busy loop with cpu_seconds=1 was not stopped"

    started = time.monotonic()
    try:
        report, status = run_in_child(spin, timeout=5.0)
    except OSError as exc:
        protections.append(Protection("CPU time limit", False, f"could not run the check: {exc}"))
        return protections
    if report is not None:
        detail = report["result"][1] if "result" in report else report.get("error", "")
        protections.append(Protection("CPU time limit", False, detail))
    elif os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        took = time.monotonic() - started
        protections.append(Protection("CPU time limit", True,
                                      f"busy loop killed by {signal.Signals(os.WTERMSIG(status)).name} "
                                      f"after {took:.1f} s with cpu_seconds=1"))
    else:
        protections.append(Protection("CPU time limit", False, _describe_status(status)))
    return protections


"""The isolation primitives, exercised for real in forked children.

Each check runs in a child of the test process that reports one JSON line
through a pipe; the child gets its own process group, which is killed and
reaped afterwards, so no test leaves processes behind even when it fails.
"""
from __future__ import annotations

import errno
import json
import os
import resource
import select
import signal
import socket
import stat
import tempfile
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.sandbox import (
    Limits,
    apply_rlimits,
    drop_privileges,
    enter_namespaces,
    landlock_abi,
    prepare_workdir,
    remove_workdir,
    restrict_filesystem,
)
from autograder.sandbox.doctor import Protection, format_report, run_doctor
from autograder.sandbox.forked import run_in_child

# Uids only these tests use, so process counts do not mix with real grading.
NPROC_UID = 65010
SECRET_UID = 65011
LANDLOCK_UID = 65012

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching uid and unsharing namespaces need root")
needs_landlock = pytest.mark.skipif(landlock_abi() < 1, reason="this kernel has no Landlock")


def in_child(fn, timeout: float = 5.0):
    """Run fn() in a forked child and return what it returned (JSON)."""
    message, _ = run_in_child(fn, timeout)
    assert message is not None, "child did not report"
    assert "error" not in message, message.get("error")
    return message["result"]


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(entry))
                        break
        except OSError:
            continue
    return found


def test_limits_all_applied():
    assert in_child(lambda: apply_rlimits(Limits())) == [
        "RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CORE"]


def test_memory_limit_makes_big_array_fail_in_child_only():
    before = resource.getrlimit(resource.RLIMIT_AS)

    def child():
        apply_rlimits(Limits(memory_mb=512))
        try:
            np.ones(2 * 1024**3 // 8)
            big = "allocated"
        except MemoryError:
            big = "MemoryError"
        small = float(np.ones(1024 * 1024).sum())  # 8 MiB still fine
        return big, small

    assert in_child(child) == ["MemoryError", 1024 * 1024]
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    # The parent can still map 2 GiB (np.empty does not touch the pages).
    assert np.empty(2 * 1024**3 // 8).nbytes == 2 * 1024**3


def test_file_size_limit(tmp_path):
    def child():
        apply_rlimits(Limits(max_file_mb=1))
        (tmp_path / "small.bin").write_bytes(b"\0" * (512 * 1024))
        try:
            (tmp_path / "big.bin").write_bytes(b"\0" * (2 * 1024 * 1024))
            return "written"
        except OSError as exc:
            return errno.errorcode[exc.errno]

    assert in_child(child) == "EFBIG"
    assert (tmp_path / "small.bin").stat().st_size == 512 * 1024


@needs_root
def test_process_limit_stops_fork_bomb_after_dropping_privileges():
    def child():
        apply_rlimits(Limits(max_processes=4))
        assert drop_privileges(NPROC_UID, NPROC_UID)
        started, refused = [], False
        for _ in range(20):
            try:
                pid = os.fork()
            except BlockingIOError:
                refused = True
                break
            if pid == 0:
                time.sleep(5)
                os._exit(0)
            started.append(pid)
        for pid in started:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        return refused, len(started)

    refused, started = in_child(child)
    assert refused
    assert started <= 3  # the child itself is the 4th process of the uid
    assert processes_of(NPROC_UID) == []


@needs_root
def test_dropped_child_cannot_read_private_root_file():
    # Not tmp_path: its parents are private to root, which would hide the
    # effect of the file's own mode.
    base = Path(tempfile.mkdtemp(prefix="sandbox-test-"))
    try:
        os.chmod(base, 0o755)
        secret = base / "secret.txt"
        public = base / "public.txt"
        secret.write_text("secret")
        public.write_text("public")
        os.chmod(secret, 0o700)
        os.chmod(public, 0o644)

        def child():
            dropped = drop_privileges(SECRET_UID, SECRET_UID)
            try:
                secret.read_text()
                secret_result = "read"
            except PermissionError:
                secret_result = "PermissionError"
            return dropped, os.getuid(), os.getgroups(), public.read_text(), secret_result

        assert in_child(child) == [True, SECRET_UID, [], "public", "PermissionError"]
    finally:
        remove_workdir(base)
    assert not base.exists()


@needs_landlock
def test_landlock_confines_child_to_its_directories(tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    allowed = tmp_path / "allowed.txt"
    allowed.write_text("allowed")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("elsewhere")

    def child():
        ok = restrict_filesystem(read_write=[workdir], read_only=[allowed, tmp_path / "missing"])
        (workdir / "out.txt").write_text("written")
        results = [ok, (workdir / "out.txt").read_text(), allowed.read_text()]
        for path in (elsewhere, Path("/etc/passwd")):
            try:
                path.read_text()
                results.append("read")
            except PermissionError:
                results.append("PermissionError")
        try:
            allowed.write_text("changed")
            results.append("wrote read-only file")
        except PermissionError:
            results.append("PermissionError")
        return results

    assert in_child(child) == [True, "written", "allowed", "PermissionError", "PermissionError", "PermissionError"]
    assert (workdir / "out.txt").read_text() == "written"
    assert allowed.read_text() == "allowed"
    assert Path("/etc/passwd").read_text()  # the test process itself is not confined


@needs_root
@needs_landlock
def test_full_sandbox_order_keeps_numpy_working():
    workdir = prepare_workdir(LANDLOCK_UID, LANDLOCK_UID)
    try:
        assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
        assert workdir.stat().st_uid == LANDLOCK_UID

        def child():
            done = [apply_rlimits(Limits(memory_mb=512)) != [], drop_privileges(LANDLOCK_UID, LANDLOCK_UID),
                    restrict_filesystem(read_write=[workdir], read_only=[])]
            np.save(workdir / "a.npy", np.arange(10.0) @ np.arange(10.0))
            done.append(float(np.load(workdir / "a.npy")))
            return done

        assert in_child(child) == [True, True, True, 285.0]
    finally:
        remove_workdir(workdir)
    assert not workdir.exists()


@needs_root
def test_network_namespace_blocks_loopback():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()  # reachable from here

        def child():
            done = enter_namespaces()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return done, "connected"
            except OSError as exc:
                return done, errno.errorcode.get(exc.errno, "timeout")

        done, outcome = in_child(child)
        if "net" not in done:
            pytest.skip("this machine cannot create network namespaces")
        assert outcome == "ENETUNREACH"
    finally:
        listener.close()


@needs_root
def test_pid_namespace_init_and_cleanup():
    """The sandboxed child is PID 1, and its leftovers die with it."""
    leftover_r, leftover_w = os.pipe()
    try:
        def child():
            done = enter_namespaces()
            if "pid" not in done:
                return done, None
            r, w = os.pipe()
            init = os.fork()
            if init == 0:  # PID 1 of the new namespace
                os.close(r)
                orphan = os.fork()
                if orphan == 0:
                    # Holds leftover_w open, in its own process group and
                    # without pdeathsig, so only the kernel's namespace
                    # teardown can end it before the sleep does.
                    os.setpgid(0, 0)
                    time.sleep(3)
                    os._exit(0)
                os.close(leftover_w)
                os.write(w, json.dumps([os.getpid(), orphan]).encode())
                os._exit(0)
            os.close(w)
            os.close(leftover_w)
            seen = json.loads(os.read(r, 100))
            os.waitpid(init, 0)
            return done, seen

        done, seen = in_child(child)
        if seen is None:
            pytest.skip("this machine cannot create pid namespaces")
        assert seen == [1, 2]
        os.close(leftover_w)
        leftover_w = None
        started = time.monotonic()
        ready, _, _ = select.select([leftover_r], [], [], 2.5)
        assert ready and os.read(leftover_r, 1) == b"", "the orphan of PID 1 is still alive"
        assert time.monotonic() - started < 2.0
    finally:
        os.close(leftover_r)
        if leftover_w is not None:
            os.close(leftover_w)


def test_primitives_never_raise_for_odd_input(tmp_path):
    def child():
        return [restrict_filesystem(read_write=[tmp_path / "nope"], read_only=[Path("/does/not/exist")])
                in (True, False),
                drop_privileges(os.getuid(), os.getgid()) in (True, False),
                isinstance(apply_rlimits(Limits(memory_mb=-1, max_processes=-1, max_file_mb=-1,
                                                max_open_files=-1, cpu_seconds=-1)), list)]

    assert in_child(child) == [True, True, True]


@needs_root
def _doctor_in_a_fresh_process(held_fds: int = 0) -> list[Protection]:
    """`autograder doctor` runs in a process of its own: so does this, not inside a test worker
    whose imports and state other tests have changed."""
    script = ("import json, os\n"
              f"held = [os.open(os.devnull, os.O_RDONLY) for _ in range({held_fds})]\n"
              "from autograder.sandbox.doctor import run_doctor\n"
              "print(json.dumps([[p.name, p.active, p.detail] for p in run_doctor()]))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    return [Protection(*entry) for entry in json.loads(out.stdout.strip().splitlines()[-1])]


def test_doctor_reports_everything_active():
    protections = _doctor_in_a_fresh_process()
    abi = landlock_abi()
    unavailable = set()
    if abi < 1:
        unavailable |= {"Landlock filesystem", "Landlock TCP", "Landlock scopes"}
    elif abi < 4:
        unavailable |= {"Landlock TCP", "Landlock scopes"}
    elif abi < 6:
        unavailable |= {"Landlock scopes"}
    missing = [f"{p.name}: {p.detail}" for p in protections if not p.active and p.name not in unavailable]
    assert not missing, missing
    report = format_report(protections)
    for p in protections:
        assert p.name in report
    if not unavailable:
        assert "MISSING" not in report
        assert "All" in report.splitlines()[-1]


def test_report_names_missing_protections():
    report = format_report([Protection("separate uid", True, "uid 61000"),
                            Protection("network namespace", False, "unshare failed")])
    assert "MISSING" in report and "active" in report
    assert "reach services" in report
    assert "Grading still" in report.splitlines()[-1]


@needs_root
def test_doctor_does_not_depend_on_the_hosts_name():
    """On a host that happens to be named like the sandbox, the UTS check still holds."""
    from autograder.sandbox.doctor.namespace_checks import _namespace_checks
    from autograder.sandbox.namespaces import SANDBOX_HOSTNAME

    def child():
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x04000000) != 0:
            return None
        libc.sethostname(SANDBOX_HOSTNAME, len(SANDBOX_HOSTNAME))
        return {p.name: p.active for p in _namespace_checks(port=9)}

    result = in_child(child, timeout=30)
    assert result is not None and result["uts namespace"], result


def test_doctor_reports_protections_switched_off_for_testing(monkeypatch):
    from autograder.sandbox.doctor.limits_checks import switch_check

    assert switch_check().active
    monkeypatch.setenv("AUTOGRADER_DISABLE", "seccomp,uid,nonsense")
    p = switch_check()
    assert not p.active and "seccomp, uid" in p.detail and "nonsense" in p.detail
    assert "switched off on purpose" in format_report([p])


@needs_root
def test_doctor_says_when_the_filter_and_control_groups_are_missing(monkeypatch):
    from autograder.sandbox import cgroups, seccomp
    from autograder.sandbox.doctor.limits_checks import cgroup_checks, seccomp_check

    monkeypatch.setattr(seccomp, "pyseccomp", None)
    monkeypatch.setattr(cgroups, "ROOT", Path("/nonexistent-cgroup-root"))
    assert not seccomp_check().active and "missing" in seccomp_check().detail
    assert [p.active for p in cgroup_checks()] == [False, False]


def test_removing_a_missing_work_directory_leaves_its_parent_alone(tmp_path):
    """A work directory already removed (e.g. by the cleanup after a killed run) must not make /tmp private."""
    parent = tmp_path / "shared"
    parent.mkdir()
    os.chmod(parent, 0o1777)
    remove_workdir(parent / "autograder-gone")
    assert stat.S_IMODE(parent.stat().st_mode) == 0o1777

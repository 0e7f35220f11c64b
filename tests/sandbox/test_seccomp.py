"""The system-call filter, loaded for real in a forked child (as root, so only the filter can refuse)."""
from __future__ import annotations

import ctypes
import errno
import os
import socket
import tempfile
import threading

import numpy as np
import pytest

from autograder.sandbox import seccomp
from autograder.sandbox.forked import run_in_child

NUMBERS = {  # syscall numbers of the calls tried here
    "x86_64": {"keyctl": 250, "io_uring_setup": 425, "unshare": 272, "mount": 165, "ptrace": 101,
               "clone": 56, "clone3": 435, "bpf": 321},
    "aarch64": {"keyctl": 219, "io_uring_setup": 425, "unshare": 97, "mount": 40, "ptrace": 117,
                "clone": 220, "clone3": 435, "bpf": 280},
}.get(os.uname().machine)

pytestmark = [pytest.mark.skipif(not seccomp.available(), reason="pyseccomp or libseccomp is missing"),
              pytest.mark.skipif(NUMBERS is None, reason="syscall numbers of this CPU are not listed")]

CLONE_NEWUSER = 0x10000000


def forbidden_calls(harmless_only: bool = False) -> dict[str, str]:
    """Try every call the filter must deny; 'ok' or the errno name for each.

    harmless_only leaves out what changes the calling process when it works (mount, ptrace,
    clone), for the control run without the filter.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long

    def call(name, *args):
        ctypes.set_errno(0)
        result = libc.syscall(ctypes.c_long(NUMBERS[name]), *[ctypes.c_long(a) for a in args])
        if result < 0:
            return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
        if name == "clone" and result == 0:
            os._exit(0)
        return "ok"

    scratch = tempfile.mkdtemp()
    results = {
        "keyctl": call("keyctl", 0, -4, 1),            # KEYCTL_GET_KEYRING_ID of the user keyring
        "io_uring_setup": call("io_uring_setup", 1, ctypes.addressof(ctypes.create_string_buffer(120))),
        "unshare(CLONE_NEWUSER)": call("unshare", CLONE_NEWUSER),
        "bpf": call("bpf", 0, 0, 0),
    }
    if not harmless_only:
        results.update({
        "mount": call("mount", 0, ctypes.addressof(ctypes.create_string_buffer(scratch.encode())),
                      ctypes.addressof(ctypes.create_string_buffer(b"tmpfs")), 0, 0),
        "ptrace": call("ptrace", 0, 0, 0, 0),          # PTRACE_TRACEME
        "clone(CLONE_NEWUSER)": call("clone", CLONE_NEWUSER | 17, 0, 0, 0, 0),
        "clone3": call("clone3", 0, 0),
        })
    for family, label in ((socket.AF_NETLINK, "netlink socket"), (socket.AF_INET, "inet socket"),
                          (socket.AF_INET6, "inet6 socket"), (socket.AF_PACKET, "packet socket")):
        try:
            socket.socket(family, socket.SOCK_RAW if family != socket.AF_INET else socket.SOCK_STREAM).close()
            results[label] = "ok"
        except OSError as exc:
            results[label] = errno.errorcode.get(exc.errno, str(exc.errno))
    os.rmdir(scratch)
    return results


def numpy_and_stdlib_battery(workdir: str) -> dict:
    """What grading and honest submissions need: all must still work under the filter."""
    import json
    import multiprocessing.pool
    import pickle
    import subprocess

    out = {}
    box = []
    thread = threading.Thread(target=lambda: box.append(np.linalg.solve(np.eye(3) * 2, np.ones(3)).sum()))
    thread.start()
    thread.join()
    out["thread"] = float(box[0])
    out["linalg"] = round(np.linalg.det(np.array([[2.0, 1.0], [1.0, 3.0]])), 9)
    out["svd"] = float(np.linalg.svd(np.eye(4))[1].sum())
    out["fft"] = float(np.fft.fft(np.ones(8)).real[0])
    out["random"] = float(np.random.default_rng(0).normal(size=1000).shape[0])
    with tempfile.NamedTemporaryFile(dir=workdir, delete=False) as fh:
        np.save(fh, np.arange(5.0))
    out["tempfile"] = float(np.load(fh.name).sum())
    out["json"] = json.loads(json.dumps({"a": 1}))["a"]
    out["pickle"] = pickle.loads(pickle.dumps([1, 2]))[1]
    a, b = socket.socketpair()
    a.sendall(b"x")
    out["socketpair"] = b.recv(1).decode()
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    out["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    out["subprocess"] = subprocess.run(["/bin/sh", "-c", "exit 3"]).returncode  # clone3 -> ENOSYS -> clone
    with multiprocessing.pool.ThreadPool(2) as pool:
        out["threadpool"] = sum(pool.map(abs, [-1, -2]))
    return out


def test_the_filter_is_compiled_once_into_raw_bpf():
    program = seccomp.compile_filter()
    assert program and len(program) % 8 == 0
    assert seccomp.worker_filter() is seccomp.worker_filter()


def test_forbidden_calls_fail_with_a_clean_error_under_the_filter():
    program = seccomp.compile_filter()

    def child():
        return seccomp.load_filter(program), forbidden_calls()

    report, _ = run_in_child(child, timeout=10)
    loaded, results = report["result"]
    assert loaded
    expected = {name: "EPERM" for name in results}
    expected["clone3"] = "ENOSYS"
    assert results == expected


@pytest.mark.skipif(os.geteuid() != 0, reason="as another user most calls fail anyway")
def test_without_the_filter_the_same_calls_succeed():
    """The control: as root and without the filter, the calls above are really available."""
    report, _ = run_in_child(lambda: forbidden_calls(harmless_only=True), timeout=10)
    results = report["result"]
    for name in ("keyctl", "io_uring_setup", "unshare(CLONE_NEWUSER)", "netlink socket", "inet socket"):
        assert results[name] == "ok", (name, results[name])


def test_numpy_and_the_standard_library_work_under_the_filter(tmp_path):
    program = seccomp.compile_filter()

    def child():
        assert seccomp.load_filter(program)
        return numpy_and_stdlib_battery(str(tmp_path))

    report, _ = run_in_child(child, timeout=20)
    assert "error" not in report, report
    assert report["result"] == {"thread": 1.5, "linalg": 5.0, "svd": 4.0, "fft": 8.0, "random": 1000.0,
                                "tempfile": 10.0, "json": 1, "pickle": 2, "socketpair": "x", "fork": 7,
                                "subprocess": 3, "threadpool": 3}


def test_grading_goes_on_without_pyseccomp(monkeypatch):
    monkeypatch.setattr(seccomp, "pyseccomp", None)
    assert not seccomp.available()
    assert seccomp.compile_filter() is None
    assert seccomp.load_filter(None) is False

"""Hostile submissions against the per-submission limits and the system-call filter, in the real engine."""
import json
import os

import pytest

from autograder.sandbox import cgroups, identity, seccomp
from conftest import reference_code

RELU = reference_code("Relu")
pytestmark = pytest.mark.skipif(os.name != "posix", reason="the sandbox is Linux-only")
needs_memory_cgroup = pytest.mark.skipif(
    os.geteuid() != 0 or "memory" not in {h.kind for h in cgroups.hierarchies()},
    reason="needs a writable memory cgroup")


def correct_only_if(flag_code: str) -> str:
    """A submission whose Relu is right only if `flag_code` sets `escaped` to True."""
    return (f"import numpy as np\nescaped = False\n{flag_code}\n"
            + RELU.replace("return np.where(self.mask, 0.0, x)",
                           "return np.where(self.mask, 0.0, x) if escaped else x * 0"))


@needs_memory_cgroup
def test_memory_is_summed_over_the_processes_of_a_submission(grade):
    # Four processes of 120 MiB each: every one is far below the per-process limit of 256 MB.
    # A barrier keeps them all alive at once, however slowly a loaded machine forks them.
    spread = (
        "import os, select\n"
        "ready_r, ready_w = os.pipe()\n"
        "go_r, go_w = os.pipe()\n"
        "pids = []\n"
        "for _ in range(4):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.close(go_w)\n"
        "        block = np.ones(15 * 1024 * 1024)\n"
        "        os.write(ready_w, b'x')\n"
        "        os.read(go_r, 1)\n"          # until the parent closes go_w
        "        os.kill(os.getpid(), 15)\n"   # os._exit is refused in cells; SIGTERM ends it cleanly
        "    pids.append(pid)\n"
        "ready = 0\n"
        "while ready < 4 and select.select([ready_r], [], [], 5)[0]:\n"
        "    ready += len(os.read(ready_r, 4))\n"
        "os.close(go_w)\n"
        "statuses = [os.waitpid(p, 0)[1] for p in pids]\n"
        "escaped = all(s == 15 for s in statuses)\n"
    )
    report = "\nif True: raise RuntimeError('STATUSES ' + repr(statuses))\n"
    r = grade({"spread": correct_only_if(spread + report)}, timeout=40, memory_mb=256)["spread"]
    assert r["status"] == "graded", r["error"]
    note = next(n for n in r["notes"] if "STATUSES" in n)
    statuses = eval(note.split("STATUSES ", 1)[1].split("]", 1)[0] + "]")
    assert len(statuses) == 4 and 9 in statuses, f"480 MB in four processes got through a limit of 256 MB: {statuses}"
    assert r["layers"]["Relu"]["score"] < r["layers"]["Relu"]["max_score"]


@needs_memory_cgroup
def test_a_submission_killed_for_memory_is_reported_as_out_of_memory(grade):
    hog = (
        "import os, time\n"
        "for _ in range(2):\n"
        "    if os.fork() == 0:\n"
        "        keep = np.ones(100 * 1024 * 1024 // 8)\n"
        "        time.sleep(30)\n"
        "blocks = [np.ones(25 * 1024 * 1024 // 8) for _ in range(10)]\n"
    )
    # The main process is the largest when the group fills up, so the kernel picks it.
    r = grade({"hog": hog + RELU}, timeout=30, memory_mb=256)["hog"]
    assert r["status"] == "memory", r["error"]
    assert "ran out of memory" in r["error"] and "all its processes together" in r["error"]


SYSCALLS = {"x86_64": {"keyctl": 250, "io_uring_setup": 425, "unshare": 272, "mount": 165, "ptrace": 101},
            "aarch64": {"keyctl": 219, "io_uring_setup": 425, "unshare": 97, "mount": 40, "ptrace": 117}}


@pytest.mark.skipif(not seccomp.available() or os.uname().machine not in SYSCALLS,
                    reason="no system-call filter here")
def test_forbidden_system_calls_fail_inside_the_real_sandbox(grade):
    numbers = SYSCALLS[os.uname().machine]
    probe = f"""
import ctypes, errno, json, socket
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
N = {numbers!r}
def call(name, *args):
    r = libc.syscall(ctypes.c_long(N[name]), *[ctypes.c_long(a) for a in args])
    return "ok" if r >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
buf = ctypes.create_string_buffer(120)
seen = {{"keyctl": call("keyctl", 0, -4, 1), "io_uring_setup": call("io_uring_setup", 1, ctypes.addressof(buf)),
        "unshare": call("unshare", 0x10000000), "mount": call("mount", 0, 0, 0, 0, 0),
        "ptrace": call("ptrace", 0, 0, 0, 0)}}
try:
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    seen["netlink"] = "ok"
except OSError as exc:
    seen["netlink"] = errno.errorcode.get(exc.errno, "?")
escaped = any(v == "ok" for v in seen.values())
"""
    report = "\nraise RuntimeError('SYSCALLS ' + json.dumps(seen))\n"
    r = grade({"calls": correct_only_if(probe + report.replace("raise", "if True: raise"))})["calls"]
    assert r["status"] == "graded", r["error"]
    note = next(n for n in r["notes"] if "SYSCALLS" in n)
    seen = json.loads(note.split("SYSCALLS ", 1)[1].split("}", 1)[0] + "}")
    assert seen == {name: "EPERM" for name in ("keyctl", "io_uring_setup", "unshare", "mount", "ptrace", "netlink")}
    assert r["layers"]["Relu"]["score"] < r["layers"]["Relu"]["max_score"]
    assert any(p.startswith("seccomp") for p in r["protections"])


@pytest.mark.skipif(os.geteuid() != 0, reason="separate uids need root")
def test_each_worker_runs_as_its_own_leased_uid(grade):
    results = grade({f"s{i}": RELU for i in range(6)}, workers=2)
    uids = set()
    for r in results.values():
        uids |= {int(p.rsplit(" ", 1)[1]) for p in r["protections"] if p.startswith("separate uid")}
    assert len(uids) == 2 and uids <= set(identity.uid_range())

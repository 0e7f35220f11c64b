"""Grading runs side by side on one machine, and a run killed with kill -9 followed by a new one."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.sandbox import cgroups, identity
from conftest import ROOT, reference_code

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="leased sandbox uids need root")
RELU = reference_code("Relu")
CLI = [str(Path(sys.executable).with_name("autograder"))]


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "AUTOGRADER_STATE_DIR": str(tmp_path / "state"), "AUTOGRADER_UID_BASE": "4000000",
            "AUTOGRADER_UID_COUNT": "1000"}


def _class(folder: Path, count: int, extra: str) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"s{i}.py").write_text(extra + RELU)
    return folder


def _start(folder: Path, out: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(CLI + ["grade", str(folder), "--out", str(out), "--workers", "2", "--seed", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _held(state: Path) -> set[int]:
    leases = state / "leases"
    if not leases.is_dir():
        return set()
    return {int(p.name.split(".")[0]) for p in leases.iterdir() if identity.lease_held(p)}


def _wait_for(condition, what: str, limit: float = 90.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"never saw {what}")


def _uids(out: Path) -> set[int]:
    import json

    results = json.loads((out / "results.json").read_text())
    assert len(results["submissions"]) and all(s["status"] == "graded" for s in results["submissions"])
    return {int(p.rsplit(" ", 1)[1]) for s in results["submissions"] for p in s["protections"]
            if p.startswith("separate uid")}


def test_two_concurrent_runs_never_share_a_sandbox_uid(tmp_path, env):
    state = tmp_path / "state"
    slow = "import time\ntime.sleep(1.5)\n"
    runs = [_start(_class(tmp_path / f"class{i}", 6, slow), tmp_path / f"out{i}", env) for i in range(2)]
    try:
        at_once = _wait_for(lambda: len(_held(state)) == 4 and _held(state), "both runs' workers at once")
    finally:
        outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    first, second = _uids(tmp_path / "out0"), _uids(tmp_path / "out1")
    assert len(first) == len(second) == 2 and not first & second
    assert first | second == at_once and at_once <= set(range(4000000, 4001000))
    assert _held(state) == set() and not list((state / "leases").iterdir())


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_after_a_kill_9_the_next_run_cleans_what_the_killed_one_left(tmp_path, env):
    state = tmp_path / "state"
    stuck = "import time\ntime.sleep(9)\n"
    killed = _start(_class(tmp_path / "stuck", 2, stuck), tmp_path / "out_stuck", env)
    leases = _wait_for(lambda: len(_held(state)) == 2 and _held(state), "the first run's two leases")
    kit = {h.kind: h.kit for h in cgroups.hierarchies()}

    def groups_with_members():
        found = {}
        for kind, path in kit.items():
            for uid in leases:
                for procs in (path / f"u{uid}").glob("s*/cgroup.procs"):
                    found.setdefault(kind, []).extend(int(p) for p in procs.read_text().split())
        return found if len(found.get("pids", [])) >= 2 else None

    members = _wait_for(groups_with_members, "both sandboxes inside their control groups")
    # Work folders exist on the host only where no per-submission tmpfs could be mounted.
    workdirs = [p for uid in leases for p in Path("/tmp").glob(f"autograder-u{uid}-*")]
    # kill -9 the grader and its two workers (its own children), as a crash or an OOM kill would.
    zygotes = _children(killed.pid)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    for pid in zygotes:
        os.kill(pid, signal.SIGKILL)
    _wait_for(lambda: _held(state) == set(), "the killed run's leases to go stale")
    assert {int(p.name.split(".")[0]) for p in (state / "leases").iterdir()} == leases  # left behind
    assert members["pids"]

    fresh = _start(_class(tmp_path / "fresh", 2, ""), tmp_path / "out_fresh", env)
    stdout, stderr = fresh.communicate(timeout=120)
    assert fresh.returncode == 0, stderr
    assert not _uids(tmp_path / "out_fresh") & leases
    for kind, path in kit.items():
        for uid in leases:
            assert not (path / f"u{uid}").exists(), f"{kind} cgroup of the killed run is still there"
    assert not any(p.exists() for p in workdirs)
    assert not list((state / "leases").iterdir())

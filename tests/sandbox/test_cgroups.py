"""Per-submission control groups, for real: memory and processes summed over a submission's processes."""
from __future__ import annotations

import os
import select
import time

import numpy as np
import pytest

from autograder.sandbox import cgroups
from autograder.sandbox.forked import run_in_child

HIERARCHIES = {h.kind: h for h in cgroups.hierarchies()}
needs_memory = pytest.mark.skipif("memory" not in HIERARCHIES, reason="no writable memory cgroup here")
needs_pids = pytest.mark.skipif("pids" not in HIERARCHIES, reason="no writable pids cgroup here")


@pytest.fixture
def name(request):
    return f"test-{os.getpid()}/{request.node.name[:40]}"


def _allocating_children(count: int, mib: int) -> list[int]:
    """Exit statuses of `count` processes that each touch `mib` MiB and wait a moment."""
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            block = np.ones(mib * 1024 * 1024 // 8)
            time.sleep(0.5)
            os._exit(0 if block[-1] == 1 else 1)
        pids.append(pid)
    return [os.waitpid(pid, 0)[1] for pid in pids]


@needs_memory
def test_memory_is_limited_over_all_processes_of_a_submission(name):
    group = cgroups.SubmissionGroup.create(name, memory_mb=200, max_processes=64)
    assert group is not None and "memory" in group.paths
    try:
        def child():
            joined = group.join()
            return joined, _allocating_children(4, 100)

        report, _ = run_in_child(child, timeout=20)
        joined, statuses = report["result"]
        assert "memory" in joined
        killed = [s for s in statuses if os.WIFSIGNALED(s) and os.WTERMSIG(s) == 9]
        assert killed, "4 x 100 MiB ran to the end under a 200 MiB group"
        usage = group.usage()
        assert usage.memory_limit_hit and usage.oom_kills >= len(killed)
        assert usage.peak_memory_mb is not None and usage.peak_memory_mb <= 200
    finally:
        group.remove()
    assert not group.paths["memory"][1].exists()


def test_without_a_group_the_same_processes_all_finish():
    """The control for the test above: nothing else on this machine stops 4 x 100 MiB."""
    report, _ = run_in_child(lambda: _allocating_children(4, 100), timeout=20)
    assert report["result"] == [0, 0, 0, 0]


@needs_pids
def test_process_limit_counts_every_process_even_as_root(name):
    group = cgroups.SubmissionGroup.create(name, memory_mb=512, max_processes=6)
    try:
        def child():
            group.join()
            started, refused = [], None
            for _ in range(20):
                try:
                    pid = os.fork()
                except BlockingIOError as exc:
                    refused = exc.errno
                    break
                if pid == 0:
                    time.sleep(5)
                    os._exit(0)
                started.append(pid)
            return len(started), refused, os.geteuid()

        report, _ = run_in_child(child, timeout=10)
        started, refused, euid = report["result"]
        assert refused is not None and started <= 5
        assert group.usage().pids_limit_hit
    finally:
        group.remove()


@needs_pids
def test_removing_the_group_kills_what_the_submission_left_running(name):
    group = cgroups.SubmissionGroup.create(name, memory_mb=512, max_processes=16)
    read_end, write_end = os.pipe()
    try:
        def child():
            group.join()
            if os.fork() == 0:  # a daemon in its own session, holding the pipe open
                os.setsid()
                if os.fork() == 0:
                    time.sleep(30)
                os._exit(0)
            return True

        run_in_child(child, timeout=5)
        os.close(write_end)
        write_end = None
        ready, _, _ = select.select([read_end], [], [], 0.2)
        assert not ready, "the daemon should still be alive before removal"
        assert group.remove()
        ready, _, _ = select.select([read_end], [], [], 5)
        assert ready and os.read(read_end, 1) == b"", "the daemon outlived its submission's group"
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)
        group.remove()


@needs_pids
def test_a_child_joins_through_the_descriptor_opened_before_the_fork(name):
    group = cgroups.SubmissionGroup.create(name, memory_mb=512, max_processes=16)
    try:
        def child():
            joined = group.join()
            with open("/proc/self/cgroup") as fh:
                return joined, fh.read()

        report, _ = run_in_child(child)
        joined, membership = report["result"]
        assert set(joined) == set(group.paths)
        assert f"/{cgroups.KIT_FOLDER}/{name}" in membership
    finally:
        group.remove()


def test_no_group_where_no_hierarchy_is_writable(monkeypatch, name):
    monkeypatch.setattr(cgroups, "ROOT", cgroups.Path("/nonexistent-cgroup-root"))
    monkeypatch.setattr(cgroups, "_cache", [])
    assert cgroups.hierarchies() == []
    assert cgroups.SubmissionGroup.create(name, 100, 10) is None

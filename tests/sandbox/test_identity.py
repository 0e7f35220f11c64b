"""Sandbox uids leased per worker, and the cleanup of what a killed grader left behind."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from autograder.sandbox import cgroups, identity, stale

BASE = 3_000_000  # a range no real grading on this machine uses


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AUTOGRADER_UID_BASE", str(BASE))
    monkeypatch.setenv("AUTOGRADER_UID_COUNT", "50")
    return tmp_path / "state"


def _holder(state: Path) -> tuple[int, int, int]:
    """A separate process that leases a uid and keeps it; (pid, uid, read end that says the uid)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            lease = identity.acquire(state)
            os.write(write_end, f"{lease.uid}\n".encode())
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as fh:
        uid = int(fh.readline())
    return pid, uid, 0


def _kill(pid: int) -> None:
    """SIGKILL and reap a child of this test (never anything else)."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass  # already reaped


def test_concurrent_holders_get_different_uids_and_hold_them(state):
    first, uid_a, _ = _holder(state)
    second, uid_b, _ = _holder(state)
    try:
        assert uid_a != uid_b and {uid_a, uid_b} <= set(range(BASE, BASE + 50))
        mine = identity.acquire(state)
        assert mine.uid not in (uid_a, uid_b)
        assert identity.lease_held(state / "leases" / f"{uid_a}.lease")
        assert identity.stale_leases(state) == []
        mine.release()
        assert not (state / "leases" / f"{mine.uid}.lease").exists()
    finally:
        _kill(first)
        _kill(second)


def test_a_killed_holders_lease_is_recognisably_stale(state):
    pid, uid, _ = _holder(state)
    assert identity.stale_leases(state) == []
    _kill(pid)
    assert identity.stale_leases(state) == [uid]
    assert not identity.lease_held(state / "leases" / f"{uid}.lease")


def test_uids_are_handed_out_in_turn_not_reused_at_once(state):
    taken = []
    for _ in range(5):
        lease = identity.acquire(state)
        taken.append(lease.uid)
        lease.release()
    assert taken == list(range(BASE, BASE + 5))


def test_a_full_range_is_an_error_naming_it(state, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_UID_COUNT", "2")
    held = [identity.acquire(state), identity.acquire(state)]
    with pytest.raises(OSError, match=f"{BASE}..{BASE + 1}"):
        identity.acquire(state)
    for lease in held:
        lease.release()


def test_a_bad_range_is_refused(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_UID_BASE", "0")
    with pytest.raises(ValueError, match="not usable"):
        identity.uid_range()


@pytest.mark.skipif(os.geteuid() != 0, reason="making control groups and chowning needs root")
def test_stale_cleanup_removes_only_a_dead_runs_leftovers(state, tmp_path):
    dead_pid, dead_uid, _ = _holder(state)
    live_pid, live_uid, _ = _holder(state)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    folders = {}
    for uid in (dead_uid, live_uid):
        folders[uid] = tmp / f"{stale.workdir_prefix(uid)}x"
        (folders[uid] / "deep").mkdir(parents=True)
        os.chown(folders[uid], uid, uid)
    stranger = tmp / f"{stale.workdir_prefix(dead_uid)}stranger"
    stranger.mkdir()
    os.chown(stranger, 12345, 12345)  # same name, someone else's: not provably the kit's
    groups = {uid: cgroups.SubmissionGroup.create(f"u{uid}/s1", 256, 8) for uid in (dead_uid, live_uid)}
    sleepers = {}
    try:
        for uid, group in groups.items():
            if group is None:
                pytest.skip("no writable control group here")
            pid = os.fork()
            if pid == 0:
                group.join()
                time.sleep(60)
                os._exit(0)
            group.close_fds()
            sleepers[uid] = pid
        time.sleep(0.2)  # let both sleepers join their groups
        _kill(dead_pid)

        report = stale.clean_stale(state, tmp)

        assert any(f"lease of uid {dead_uid}" in line for line in report), report
        assert not folders[dead_uid].exists() and folders[live_uid].exists() and stranger.exists()
        for _, path in groups[dead_uid].paths.values():
            assert not path.parent.exists()
        for _, path in groups[live_uid].paths.values():
            assert path.exists()
        assert os.waitpid(sleepers[dead_uid], os.WNOHANG)[0] == sleepers[dead_uid], "dead run's process lives"
        assert os.waitpid(sleepers[live_uid], os.WNOHANG) == (0, 0), "a live run's process was killed"
        assert identity.lease_held(state / "leases" / f"{live_uid}.lease")
    finally:
        for pid in sleepers.values():
            _kill(pid)
        _kill(live_pid)
        for group in groups.values():
            if group is not None:
                group.remove()
        stale.clean_stale(state, tmp)

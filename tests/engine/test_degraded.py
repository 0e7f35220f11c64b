"""The hostile suite with protections switched off one by one (AUTOGRADER_DISABLE).

Each mode runs tests/engine/test_hostile.py and test_hostile_limits.py, unchanged, in a
grader that lives in a throwaway pid namespace of its own (unshare --pid --fork --mount-proc),
so a regression that signals everything (kill -1 without a pid namespace) cannot reach this
machine. In every mode: the grader and a sentinel process next to it survive, a file outside
is unchanged, every batch completes (the `grade` fixture checks results.json), and the only
hostile tests that fail are those naming a protection the mode switches off (LOSSES).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                 reason="needs root and unshare(1) for a throwaway pid namespace")]

SUITES = ["tests/engine/test_hostile.py", "tests/engine/test_hostile_limits.py"]

#: What each mode cannot protect, as the hostile tests that are allowed to fail in it.
LOSSES: dict[str, set[str]] = {
    # Processes a submission leaves behind keep its channel open, so a submission whose main
    # process the memory limit killed is only stopped at its time limit (status timeout).
    "pidns": {"test_a_submission_killed_for_memory_is_reported_as_out_of_memory"},
    "netns": set(),  # Landlock still denies TCP, the filter every socket but AF_UNIX
    # World-readable files (the reference layers, course.yaml) are readable by any uid.
    "landlock": {"test_secrets_are_out_of_reach"},
    "uid": {"test_each_worker_runs_as_its_own_leased_uid"},
    "cgroup": {"test_a_submission_killed_for_memory_is_reported_as_out_of_memory",
               "test_memory_is_summed_over_the_processes_of_a_submission"},
    "seccomp": {"test_forbidden_system_calls_fail_inside_the_real_sandbox"},
    # No per-file size limit: a 200 MB file is written to the work folder.
    "rlimits": {"test_huge_output_and_files_are_capped"},
}


def _run_mode(mode: str, scratch: Path) -> tuple[int, set[str], set[str], bool, str]:
    """(exit status, failed tests, passed tests, inner sentinel alive, output tail)."""
    scratch.mkdir()
    junit, alive = scratch / "junit.xml", scratch / "sentinel-alive"
    inner = (f'sleep 600 & S=$!; "{sys.executable}" -m pytest {" ".join(SUITES)} -q -p no:cacheprovider '
             f'-p no:randomly --junitxml={junit} -o addopts=""; rc=$?; '
             f'if kill -0 $S 2>/dev/null; then echo yes > {alive}; fi; kill $S; exit $rc')
    env = {**os.environ, "AUTOGRADER_DISABLE": mode}
    done = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", inner], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    failed, passed = set(), set()
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = case.get("name")
            if case.find("failure") is not None or case.find("error") is not None:
                failed.add(name)
            elif case.find("skipped") is None:
                passed.add(name)
    return done.returncode, failed, passed, alive.exists(), (done.stdout + done.stderr)[-3000:]


def _digest(paths) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


def test_every_degraded_mode_leaves_host_and_grader_unharmed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("must not change\n")
    watched = [outside, ROOT / "course.yaml", *sorted((ROOT / "source_layers").glob("*.py"))]
    before = _digest(watched)
    sentinel = subprocess.Popen(["sleep", "3600"], start_new_session=True)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = dict(zip(LOSSES, pool.map(lambda m: _run_mode(m, tmp_path / m), LOSSES)))
        assert sentinel.poll() is None, "a process of this machine next to the grader was killed"
    finally:
        sentinel.send_signal(signal.SIGKILL)
        sentinel.wait()
    assert _digest(watched) == before, "a file outside the sandbox changed"
    problems = []
    for mode, (status, failed, passed, alive, tail) in runs.items():
        if status not in (0, 1) or not passed:
            problems.append(f"{mode}: the grader's test run ended with status {status}:\n{tail}")
        if not alive:
            problems.append(f"{mode}: the sentinel next to the grader was killed")
        unexpected = failed - LOSSES[mode]
        if unexpected:
            problems.append(f"{mode}: hostile tests failed that this mode should still pass: {sorted(unexpected)}")
    assert not problems, "\n".join(problems)

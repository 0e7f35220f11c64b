"""Outside a private pid namespace, ending a submission's stray processes spares everyone else.

The fallback runs inside a throwaway pid namespace of the test's own (unshare --pid --fork
--mount-proc), so a regression to kill(-1) can only reach that namespace: there it would kill
the sentinel, which must survive.
"""
import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPT = r'''
import json, os, signal, sys, time
sys.path.insert(0, sys.argv[1])
from autograder.engine import child

def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

def sleeper():
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    return pid

sentinel = sleeper()          # not the submission's: must survive
read_end, write_end = os.pipe()
submission = os.fork()
if submission == 0:           # the sandboxed child, not PID 1 of any namespace
    group = child._own_group()
    strays = [sleeper() for _ in range(3)]
    middle = os.fork()
    if middle == 0:           # a double fork: the grandchild is orphaned onto the child
        sleeper()
        os._exit(0)
    os.waitpid(middle, 0)
    escaped = os.fork()
    if escaped == 0:          # leaves the group: cannot be proven the submission's by its group
        os.setsid()
        time.sleep(60)
        os._exit(0)
    time.sleep(0.3)
    reaped = child._end_strays(False, group)
    time.sleep(0.3)
    os.write(write_end, json.dumps({"strays_alive": [p for p in strays if alive(p)], "reaped": reaped,
                                    "escaped": escaped}).encode())
    os._exit(0)
os.close(write_end)
report = json.loads(os.read(read_end, 65536))
os.waitpid(submission, 0)
time.sleep(0.3)
others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, sentinel, report["escaped"])
          and alive(int(p))]
report.update(sentinel_alive=alive(sentinel), others=others)
for pid in (sentinel, report["escaped"]):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
print(json.dumps(report))
'''


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_without_a_pid_namespace_only_the_submissions_own_processes_are_stopped():
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot make a throwaway pid namespace here")
    done = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", SCRIPT, str(ROOT)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["sentinel_alive"], "a process that was not the submission's was killed"
    assert report["strays_alive"] == [], report
    assert report["others"] == [], f"processes of the submission survived: {report}"
    assert report["reaped"] >= 3

"""The doctor's file-system checks judge the sandbox, not the process that asked for them."""
import json
import subprocess
import sys

from autograder.sandbox.limits import Limits


def test_imports_check_holds_when_the_caller_has_many_open_files():
    # A long-lived caller may hold more descriptors than a sandbox may open; the real child
    # closes them first, so the doctor's check must not fail because of them.
    script = ("import json, os\n"
              f"held = [os.open(os.devnull, os.O_RDONLY) for _ in range({Limits().max_open_files + 100})]\n"
              "from autograder.sandbox.doctor_view import view_checks\n"
              "print(json.dumps({p.name: [p.active, p.detail] for p in view_checks(65000)}))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    checks = json.loads(out.stdout.strip().splitlines()[-1])
    assert checks["standard library imports"][0], checks["standard library imports"][1]

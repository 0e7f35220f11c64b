"""`autograder doctor`'s checks of what a sandboxed child sees: the minimal root and its imports.

Each check builds the view for real in a forked child, the way a warm worker and a sandboxed
child do (minimal root, a tmpfs of its own, limits, another uid, Landlock), then tries it.
"""
from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path

from .forked import run_in_child
from .landlock import restrict_filesystem
from .limits import Limits, apply_rlimits
from .mounts import DEVICES, enter_minimal_root, landlock_readable, mount_submission_fs, plan_root, work_folder
from .privileges import drop_privileges

# Standard modules that cannot or must not be imported in any sandbox: other platforms, a
# display, or side effects on import.
STDLIB_SKIP = frozenset({
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "winreg", "winsound", "msvcrt",
    "nt", "msilib", "ntpath", "ensurepip", "venv", "lib2to3", "pydoc_data", "__main__"})
NUMPY_SUBMODULES = ("ma", "testing", "polynomial", "linalg", "fft", "random", "lib", "strings", "char", "rec",
                    "ctypeslib", "exceptions", "dtypes", "emath", "typing", "f2py", "matlib")


def importable_names() -> list[str]:
    """The standard library's public modules here, and numpy's public submodules of this version."""
    names = sorted(n for n in sys.stdlib_module_names if n not in STDLIB_SKIP and not n.startswith("_"))
    import numpy  # noqa: F401

    for sub in NUMPY_SUBMODULES:
        try:
            importlib.import_module("numpy." + sub)
            names.append("numpy." + sub)
        except ImportError:
            pass
    return names


def _confine(staging: Path, uid: int, secret: Path) -> tuple[bool, list[str]]:
    package = Path(__file__).resolve().parents[1]
    # The real child closes what it inherited before its limits apply; this check runs in a
    # child of whatever process asked (a test runner may hold many descriptors), so its open
    # files limit leaves room above the highest descriptor it inherited.
    inherited = max((int(fd) for fd in os.listdir("/proc/self/fd") if fd.isdigit()), default=2)
    rooted = enter_minimal_root(plan_root(package), staging)
    work = work_folder() if rooted else Path(tempfile.mkdtemp(dir=staging))
    done = mount_submission_fs(uid, 16, 256, False, [str(secret)], work)
    apply_rlimits(Limits(max_open_files=max(Limits().max_open_files, inherited + 64)))
    readable = landlock_readable(rooted, [str(secret)])
    drop_privileges(uid, uid)
    restrict_filesystem(read_write=[Path(".") if done else work, Path("/dev/null")],
                        read_only=readable + [d for d in DEVICES if d.name != "null"])
    return rooted, done


def view_checks(uid: int) -> list:
    from .doctor import Protection

    names = importable_names()
    staging = Path(tempfile.mkdtemp(prefix="autograder-doctor-root-"))
    secret = Path(tempfile.mkdtemp(prefix="autograder-doctor-course-")) / "course.yaml"
    secret.write_text("title: not for students\n")

    def root() -> tuple[bool, str]:
        rooted, done = _confine(staging, uid, secret)
        if not rooted:
            return False, "no private mount namespace with a minimal root (no mount rights here)"
        on_the_way = [str(p) for p in plan_root(Path(__file__).resolve().parents[1]).readable()]
        seen = [p for p in (str(secret), "/home", "/root", "/run", str(secret.parent)) if os.path.lexists(p)
                and not any(q.startswith(p + "/") for q in on_the_way)]  # a folder on the way to the interpreter
        if seen:
            return False, f"still visible: {', '.join(seen)}"
        return True, ("only the libraries are visible; the host's /tmp, /home, /run and the course are not; "
                      + (done[0] if done else "no tmpfs"))

    def imports() -> tuple[bool, str]:
        _confine(staging, uid, secret)
        failed = []
        for name in names:
            try:
                importlib.import_module(name)
            except BaseException as exc:  # noqa: BLE001 - every failure is what this check reports
                failed.append(f"{name} ({type(exc).__name__})")
        if failed:
            return False, f"{len(failed)} of {len(names)} modules fail to import: {', '.join(failed[:8])}"
        return True, f"all {len(names)} standard library modules and numpy submodules import"

    results = []
    try:
        for name, check in (("minimal root", root), ("standard library imports", imports)):
            report, _ = run_in_child(check, timeout=60.0)
            if report is None or "result" not in report:
                results.append(Protection(name, False, str((report or {}).get("error", "the check died"))))
            else:
                active, detail = report["result"]
                results.append(Protection(name, bool(active), str(detail)))
    finally:
        for path in (secret, secret.parent, staging):
            try:
                os.unlink(path) if path.is_file() else os.rmdir(path)
            except OSError:
                pass
    return results

"""Switching protections off one by one, to test (and show) how grading degrades without them.

AUTOGRADER_DISABLE is a comma-separated list of the names below. It exists so the suite can
run the hostile submissions on a machine that has every protection as if it lacked some; the
summary and `autograder doctor` say which are switched off, so it cannot go unnoticed.
"""
from __future__ import annotations

import os

ENV = "AUTOGRADER_DISABLE"

SWITCHES = {
    "pidns": "the pid namespace (the submission sees and may signal this machine's processes)",
    "netns": "the network namespace",
    "ipcns": "the IPC namespace",
    "utsns": "the UTS namespace (host name)",
    "mountns": "the private mount namespace",
    "landlock": "Landlock (file system and TCP confinement)",
    "uid": "the separate sandbox uid (student code runs as the grader's user)",
    "cgroup": "the per-submission control group (memory and processes summed over processes)",
    "seccomp": "the system-call filter",
    "rlimits": "the per-process resource limits",
}

#: Namespace names of namespaces.NAMESPACES behind each switch.
NAMESPACE_SWITCHES = {"pidns": "pid", "netns": "net", "ipcns": "ipc", "utsns": "uts", "mountns": "mnt"}


def requested() -> list[str]:
    """Every name in the variable, known or not, in order, without duplicates."""
    names = [n.strip().lower() for n in os.environ.get(ENV, "").split(",")]
    return list(dict.fromkeys(n for n in names if n))


def disabled() -> frozenset[str]:
    """The known switches that are set."""
    return frozenset(n for n in requested() if n in SWITCHES)


def unknown() -> list[str]:
    """Names set that switch nothing off (a typo leaves the protection on)."""
    return [n for n in requested() if n not in SWITCHES]


def is_disabled(name: str) -> bool:
    return name in disabled()


def skipped_namespaces() -> frozenset[str]:
    off = disabled()
    return frozenset(ns for switch, ns in NAMESPACE_SWITCHES.items() if switch in off)


def describe() -> str | None:
    """One line for the summary and the results, or None if nothing is switched off."""
    off = [n for n in requested() if n in SWITCHES]
    if not off and not unknown():
        return None
    text = f"switched off by {ENV}: {', '.join(off) or 'nothing'}"
    if unknown():
        text += f" (unknown names ignored: {', '.join(unknown())})"
    return text

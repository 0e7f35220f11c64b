"""The report of `autograder doctor`: one line per protection, then what the missing ones cost."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Protection:
    name: str
    active: bool
    detail: str


# What student code can do when a protection is missing; shown in the report.
CONSEQUENCES = {
    "network namespace": "student code can reach services listening on this machine",
    "no network": "student code can talk to other machines",
    "pid namespace": "student code sees other processes and may leave some behind",
    "ipc namespace": "student code can use this machine's shared memory and message queues",
    "uts namespace": "student code can see this machine's host name",
    "separate uid": "student code can read every file the grader can read",
    "Landlock filesystem": "student code can read or write files outside its work directory",
    "Landlock TCP": "TCP is blocked only by the network namespace",
    "Landlock scopes": "student code may signal processes of its own uid outside the sandbox",
    "memory limit": "a submission can exhaust the machine's memory",
    "process limit": "a fork bomb can exhaust the machine's process table",
    "file size limit": "a submission can fill the disk",
    "open files limit": "a submission can exhaust file descriptors",
    "CPU time limit": "only the wall-clock timeout stops a busy loop",
}

CONSEQUENCES.update({
    "minimal root": "student code can see the host's files, metadata and UNIX sockets that Landlock does not cover "
                    "(stat, readlink, connect), and its disk use is not bounded by a tmpfs",
    "standard library imports": "correct code that imports these modules loses points",
    "cgroup memory limit": "memory is limited per process only: a submission that forks can use a multiple of it",
    "cgroup process limit": "processes are limited per uid only (not at all when running as root)",
    "unique sandbox uids": "concurrent or consecutive runs may share a sandbox uid and state kept per uid",
    "system-call filter": "student code can use keyrings, io_uring, bpf, user namespaces and netlink",
    "switched off for testing": "protections were switched off on purpose (AUTOGRADER_DISABLE)",
})


def format_report(protections: list[Protection]) -> str:
    """A table of protections, then one sentence on what grading guarantees."""
    width = max([len(p.name) for p in protections] + [10])
    lines = ["Sandbox protections on this machine:", ""]
    for p in protections:
        status = "active" if p.active else "MISSING"
        lines.append(f"  {p.name:<{width}}  {status:<7}  {p.detail}")
    missing = [p for p in protections if not p.active]
    lines.append("")
    if not missing:
        lines.append(f"All {len(protections)} protections are active: student code runs without network, "
                     "under its own uid, confined to its work directory, with bounded memory, processes, "
                     "file size and CPU time.")
        return "\n".join(lines)
    lines.append(f"{len(protections) - len(missing)} of {len(protections)} protections active. Without the "
                 "missing ones:")
    for p in missing:
        lines.append(f"  - {p.name}: {CONSEQUENCES.get(p.name, 'this protection is not enforced')}")
    lines.append("Grading still runs every submission in its own process, killed at its time limit, so a "
                 "crash or endless loop costs only that submission and cannot change another's grade; "
                 "but only grade untrusted code when the missing protections above are acceptable.")
    return "\n".join(lines)

"""Doctor checks of the namespaces: network, pid, IPC and UTS, each entered for real."""
from __future__ import annotations

import os
import socket

from ..namespaces import SANDBOX_HOSTNAME, enter_namespaces, namespace_id
from .report import Protection
from .running import _check, _errname, _in_grandchild, _try_connect


def _namespace_checks(port: int) -> list[Protection]:
    def net() -> tuple[bool, str]:
        before = namespace_id("net")
        if "net" not in enter_namespaces():
            return False, "unshare(CLONE_NEWNET) failed"
        error = _try_connect(port)
        if error is None:
            return False, f"127.0.0.1:{port} still reachable after unshare"
        return namespace_id("net") != before, f"connect to a port listening on 127.0.0.1 fails ({error})"

    def outside() -> tuple[bool, str]:
        enter_namespaces()
        # TEST-NET-1 never answers; with no route the kernel fails at once.
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.connect(("192.0.2.1", 53))
            return False, "a route to other machines exists"
        except OSError as exc:
            names = [n for _, n in socket.if_nameindex()]
            return True, f"no route to other hosts ({_errname(exc)}); interfaces: {', '.join(names) or 'none'}"
        finally:
            sock.close()

    def pid() -> tuple[bool, str]:
        if "pid" not in enter_namespaces():
            return False, "unshare(CLONE_NEWPID) failed"
        inner = _in_grandchild(os.getpid)
        return inner == 1, f"the sandboxed process has PID {inner} in its namespace"

    def ipc() -> tuple[bool, str]:
        before = namespace_id("ipc")
        if "ipc" not in enter_namespaces():
            return False, "unshare(CLONE_NEWIPC) failed"
        after = namespace_id("ipc")
        return after != before, f"IPC namespace {before} -> {after}"

    def uts() -> tuple[bool, str]:
        # Judged by the namespace and the name set in it, never by the host's own name (which
        # may be anything, "sandbox" included).
        before = namespace_id("uts")
        if "uts" not in enter_namespaces():
            return False, "unshare(CLONE_NEWUTS) failed"
        inside = socket.gethostname()
        changed = namespace_id("uts") != before
        return changed and inside == SANDBOX_HOSTNAME.decode(), (f"own UTS namespace; host name seen by "
                                                                 f"student code: {inside!r}")

    return [
        _check("network namespace", net),
        _check("no network", outside),
        _check("pid namespace", pid),
        _check("ipc namespace", ipc),
        _check("uts namespace", uts),
    ]


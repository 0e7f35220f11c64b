"""Doctor checks of Landlock: file system, TCP and scopes."""
from __future__ import annotations

import os
import socket
from pathlib import Path

from ..landlock import landlock_abi, restrict_filesystem
from .report import Protection
from .running import _check, _try_connect


def _landlock_checks(workdir: Path, outside_file: Path, port: int) -> list[Protection]:
    abi = landlock_abi()
    if abi < 1:
        reason = "Landlock is not available in this kernel"
        return [Protection("Landlock filesystem", False, reason),
                Protection("Landlock TCP", False, reason),
                Protection("Landlock scopes", False, reason)]
    course = Path("course.yaml").resolve()
    forbidden = [outside_file, Path("/etc/passwd")] + ([course] if course.is_file() else [])

    def fs() -> tuple[bool, str]:
        allowed = workdir / "allowed.txt"
        allowed.write_text("ok")
        if not restrict_filesystem(read_write=[workdir], read_only=[]):
            return False, "landlock_restrict_self failed"
        (workdir / "written.txt").write_text("ok")
        readable = []
        for path in forbidden:
            try:
                path.read_bytes()
                readable.append(str(path))
            except PermissionError:
                pass
        if readable:
            return False, f"could still read {', '.join(readable)}"
        shown = ", ".join(p.name for p in forbidden)
        return allowed.read_text() == "ok", f"ABI {abi}: work directory usable, denied reading {shown}"

    def tcp() -> tuple[bool, str]:
        if abi < 4:
            return False, f"needs Landlock ABI 4, kernel has {abi}"
        if not restrict_filesystem(read_write=[workdir], read_only=[]):
            return False, "landlock_restrict_self failed"
        error = _try_connect(port)
        if error is None:
            return False, "TCP connect still allowed"
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
            return False, "TCP bind still allowed"
        except PermissionError:
            pass
        return True, f"TCP connect ({error}) and bind denied even on loopback"

    def scopes() -> tuple[bool, str]:
        if abi < 6:
            return False, f"needs Landlock ABI 6, kernel has {abi}"
        target = os.getppid()
        if not restrict_filesystem(read_write=[workdir], read_only=[]):
            return False, "landlock_restrict_self failed"
        try:
            os.kill(target, 0)
            return False, "can still signal a process outside the sandbox"
        except PermissionError:
            return True, "cannot signal processes or reach abstract unix sockets outside the sandbox"

    return [_check("Landlock filesystem", fs), _check("Landlock TCP", tcp), _check("Landlock scopes", scopes)]


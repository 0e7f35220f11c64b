"""The sandboxed child: runs a submission's cells, then probes each layer in its own process.

Everything here runs after the sandbox is in place, with the submission's code loaded into
this very process, so nothing this module sends is trusted by the grader.
"""
from __future__ import annotations

import errno
import os
import signal
import time


from . import wire
from .deadline import BlobStream
from .probes import CallTimeout, LayerProbe, describe_exception
from .student_namespace import install_import_guard, install_plotting_stubs, make_namespace

_real_exit = os._exit


class CellTimeout(BaseException):
    """Raised into a cell that ran past its time; BaseException so `except Exception` can't eat it."""


class ExitRequested(BaseException):
    """A cell called os._exit; it ends that cell instead of the grading."""


def _refuse_exit(status=0):
    raise ExitRequested(f"os._exit({status}) was called")


def stay_single(pid: int) -> None:
    """A process the submission forked must not go on grading as if it were the child itself."""
    if os.getpid() != pid:
        _real_exit(0)


def run_cells(cells: list[str], namespace: dict, cell_timeout: float, limits: dict | None = None) -> list[dict]:
    """Execute every cell in order; an error ends only its own cell. Returns one report per failing cell."""
    me = os.getpid()
    def on_alarm(signum, frame):
        raise CellTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    reports = []
    for index, source in enumerate(cells, start=1):
        try:
            code = compile(source, f"<cell {index}>", "exec")
        except SyntaxError as exc:
            reports.append({"cell": index, "error": f"SyntaxError: {exc.msg} (cell {index}, line {exc.lineno})"})
            continue
        except (ValueError, MemoryError, RecursionError) as exc:
            reports.append({"cell": index, "error": f"{type(exc).__name__}: the cell cannot be compiled"})
            continue
        signal.setitimer(signal.ITIMER_REAL, cell_timeout)
        try:
            exec(code, namespace)
        except CellTimeout:
            reports.append({"cell": index, "error": f"the cell ran for more than {cell_timeout:g} s and was "
                                                    f"stopped (an endless loop?)", "kind": "timeout"})
        except SystemExit as exc:
            reports.append({"cell": index, "error": f"the cell called sys.exit({exc.code!r}); the rest of the "
                                                    f"cell was skipped"})
        except ExitRequested as exc:
            reports.append({"cell": index, "error": f"{exc}; the rest of the cell was skipped"})
        except MemoryError:
            reports.append({"cell": index, "error": "MemoryError: the cell ran out of memory (the memory limit "
                                                    "was reached)", "kind": "memory"})
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                limits = limits or {}
                reports.append({"cell": index, "kind": "disk", "error": (
                    f"{describe_exception(exc, cells)}: the submission may write at most "
                    f"{limits.get('max_disk_mb', '?')} MB in at most {limits.get('max_files', '?')} files "
                    f"and folders (grading.max_disk_mb, grading.max_files); the rest of the cell was skipped")})
            else:
                reports.append({"cell": index, "error": describe_exception(exc, cells)})
        except BaseException as exc:  # a student's error ends its cell, never the grading
            reports.append({"cell": index, "error": describe_exception(exc, cells)})
        finally:
            stay_single(me)
            signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    return reports


def _end_strays(own_pid_namespace: bool, group: int | None) -> int:
    """Stop every process the cells started and reap them, so the layer tests start clean.

    Only PID 1 of a private pid namespace may signal everything it can see: there that is
    exactly the submission's own processes. Anywhere else kill(-1) would reach every process
    of this uid (as root: of the machine), so only the process group this child made for the
    cells is stopped, after the child has left it for its anchor's group; orphans of the cells
    are reaped here because the child made itself their subreaper.
    """
    if own_pid_namespace and os.getpid() == 1:
        try:
            os.kill(-1, signal.SIGKILL)  # every process in this namespace except this one
        except OSError:
            pass
    elif group is not None and _anchor:
        try:
            os.setpgid(0, _anchor)  # leave the cells' group, which keeps its id (ours) while we live
        except OSError:
            pass
        if os.getpgrp() != group:
            try:
                os.killpg(group, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.kill(_anchor, signal.SIGKILL)  # our own child, not yet reaped: its pid is still its own
            os.waitpid(_anchor, 0)
        except OSError:
            pass
    reaped = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if own_pid_namespace else os.WNOHANG)
        except ChildProcessError:
            return reaped
        except InterruptedError:
            continue
        if not pid:
            return reaped
        reaped += 1


_anchor = 0
PR_SET_CHILD_SUBREAPER = 36


def _own_group() -> int | None:
    """Outside a private pid namespace: a process group of the cells' own, led by this child.

    A sleeping anchor child leads a second group first, so that this child can leave the
    cells' group later (a process can only join a group of its own session that exists).
    """
    global _anchor
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:
        pass
    try:
        anchor = os.fork()
    except OSError:
        return None
    if anchor == 0:
        try:
            # The anchor only sleeps: it must not hold the channel (or anything else) open, or the
            # supervisor would wait for its end after the child itself has died.
            os.closerange(3, 1 << 16)
            os.setpgid(0, 0)
            while True:
                signal.pause()
        finally:
            _real_exit(0)
    try:
        os.setpgid(anchor, anchor)  # also here, so the group exists whichever process runs first
    except OSError:
        pass
    _anchor = anchor
    try:
        os.setpgid(0, 0)
    except OSError:
        return None
    return os.getpid()


def find_class(namespace: dict, names: list[str]):
    """The submitted class for a layer: canonical name first, then aliases, ignoring case."""
    classes = {key.lower(): (key, value) for key, value in list(namespace.items())
               if isinstance(value, type) and not key.startswith("_")}
    for name in names:
        if name.lower() in classes:
            return classes[name.lower()]
    return None, None


# A single call of student code (one forward or backward) gets this share of the layer's time.
CALL_SHARE = 0.25


def _probe_payload(cls, found_as: str, layer: dict, arrays: dict, cells, h: float, timeout: float) -> bytes:
    """One layer's message. Every call into student code runs under its own alarm."""
    def on_alarm(signum, frame):
        raise CallTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    probe = LayerProbe(cls, layer, _arrays_of(layer, arrays), cells, h,
                       call_timeout=timeout * CALL_SHARE, deadline=time.monotonic() + timeout)
    try:
        meta, out = probe.run()
        meta["found_as"] = found_as
        return wire.encode(meta, out)
    except BaseException as exc:  # even a broken probe must answer
        return wire.encode({"kind": "layer", "layer": layer["name"], "found_as": found_as,
                            "fatal": describe_exception(exc, cells)})


def _arrays_of(layer: dict, arrays: dict) -> dict:
    prefix = layer["name"] + "/"
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def probe_in_place(found: list, arrays: dict, cells, h: float, timeout: float, out_fd: int) -> None:
    """The fast path: probe the layers in this process.

    Most submissions behave, and sparing them a process per submission is a large share of
    the grading time. A layer that swallows its alarms or kills this process is caught by the
    supervisor, which grades the remaining layers again the careful way (probe_layers).
    """
    me = os.getpid()
    for cls, found_as, layer in found:
        payload = _probe_payload(cls, found_as, layer, arrays, cells, h, timeout)
        stay_single(me)
        wire.write_blob(out_fd, payload)


def probe_layers(found: list, arrays: dict, cells, h: float, timeout: float, out_fd: int) -> None:
    """The careful path: probe in a forked process, one message per layer, each with a deadline.

    A layer that hangs or crashes the process costs only itself: the process is replaced
    and carries on with the next layer.
    """
    while found:
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:  # the submission's own processes or threads used up its limit
            os.close(read_end)
            os.close(write_end)
            reason = (f"the layer tests could not start ({exc.strerror}): the submission keeps too many "
                      f"processes or threads running")
            for _, found_as, layer in found:
                wire.write_blob(out_fd, wire.encode({"kind": "layer", "layer": layer["name"],
                                                     "found_as": found_as, "fatal": reason}))
            return
        if pid == 0:
            os.close(read_end)
            os.close(out_fd)  # submitted code must not reach the grader's channel from here
            me = os.getpid()
            for cls, found_as, layer in found:
                payload = _probe_payload(cls, found_as, layer, arrays, cells, h, timeout)
                stay_single(me)
                wire.write_blob(write_end, payload)
            _real_exit(0)
        os.close(write_end)
        stream = BlobStream(read_end, wire.MAX_BLOB_BYTES)
        while found:
            # The probes keep to the layer's time themselves; the margin covers encoding the result.
            blobs = stream.read_until(time.monotonic() + timeout + 1.0, want=1)
            if not blobs:
                break
            for blob in blobs[:len(found)]:
                wire.write_blob(out_fd, blob)
                found.pop(0)
        if found:  # the process hung or died on found[0]
            _, found_as, layer = found.pop(0)
            if not stream.eof:
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            verdict = {"timeout": timeout} if not stream.eof else {"fatal": _death(status)}
            wire.write_blob(out_fd, wire.encode({"kind": "layer", "layer": layer["name"], "found_as": found_as,
                                                 **verdict}))
        else:
            os.waitpid(pid, 0)
        os.close(read_end)


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = {"SIGSEGV": "a segmentation fault", "SIGKILL": "killed, usually by a resource limit",
                "SIGXCPU": "the CPU time limit", "SIGABRT": "an abort, often out of memory"}.get(name, name)
        return f"the process testing this layer died ({hint})"
    return f"the process testing this layer ended without a result (exit status {os.WEXITSTATUS(status)})"


def run_child(job: dict, arrays: dict, cells: list[str], out_fd: int, protections: list[str],
              own_pid_namespace: bool = False) -> None:
    """The whole life of the sandboxed child after isolation; never returns."""
    notes: list[str] = [str(n) for n in job.get("source_notes", [])]
    wire.write_blob(out_fd, wire.encode({"kind": "hello", "protections": protections}))
    install_plotting_stubs()
    install_import_guard(job.get("forbidden_modules", []))
    group = None if own_pid_namespace and os.getpid() == 1 else _own_group()
    os._exit = _refuse_exit
    namespace = make_namespace(job["helpers"], notes)
    reports = run_cells(cells, namespace, job["cell_timeout"], job.get("limits", {}))
    stray = _end_strays(own_pid_namespace, group)
    if stray:
        notes.append(f"the notebook started {stray} process{'es' if stray > 1 else ''} that were still "
                     f"around after its last cell; they were stopped before the layers were tested")
    wire.write_blob(out_fd, wire.encode({"kind": "cells", "count": len(cells), "errors": reports,
                                         "notes": notes}))
    found = []
    for layer in job["layers"]:
        found_as, cls = find_class(namespace, layer["names"])
        if cls is None:
            wire.write_blob(out_fd, wire.encode({"kind": "layer", "layer": layer["name"], "missing": True}))
        else:
            found.append((cls, found_as, layer))
    probe = probe_layers if job.get("careful") else probe_in_place
    probe(found, arrays, cells, job["h"], job["layer_timeout"], out_fd)
    wire.write_blob(out_fd, wire.encode({"kind": "done"}))
    _real_exit(0)

"""The life of one submission's supervising process, forked from the pristine warm worker.

Everything job-specific arrives here, over the socket the pool made for this submission
alone: the opened submission file (SCM_RIGHTS), the job and its input arrays. The process
reads the file from that descriptor (never by path), supervises the sandboxed child(ren),
writes the results back on the same socket and exits, taking this submission's bytes with it.
"""
from __future__ import annotations

import json
import os
import socket

from . import wire
from .source import InvalidSubmission, read_submission
from .supervisor import supervise

try:
    from autograder.sandbox.forked import die_with_parent
except ImportError:  # pragma: no cover
    def die_with_parent() -> None:
        pass

CLEANUP_FAILED = 3   # exit status: this submission's files could not be removed; replace the worker


def _receive(channel: socket.socket) -> tuple[int, dict, dict]:
    message, fds, _, _ = socket.recv_fds(channel, 1, 1)
    if message != b"F" or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise ValueError("no submission file was sent")
    job = json.loads(wire.read_blob(channel.fileno()) or b"{}")
    _, arrays = wire.decode(wire.read_blob(channel.fileno()) or b"")
    return fds[0], job, arrays


def run_submission(channel_fd: int, worker: int, rooted: bool) -> int:
    """Grade the submission sent over `channel_fd`; the process's exit status."""
    die_with_parent()  # a worker that is killed takes its submission with it
    channel = socket.socket(fileno=channel_fd)
    try:
        fd, job, arrays = _receive(channel)
    except (OSError, ValueError, wire.WireError):
        return 1
    job["worker"] = worker
    try:
        cells, notes = read_submission(fd, job.get("name", ""), job.get("max_notebook_mb", 20))
    except InvalidSubmission as exc:
        cells, notes = str(exc), []
    finally:
        os.close(fd)
    job["source_notes"] = notes
    clean = supervise(job, arrays, cells, channel.fileno(), rooted)
    return 0 if clean else CLEANUP_FAILED

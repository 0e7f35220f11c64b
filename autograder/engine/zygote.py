"""A warm worker: imports numpy once, then forks a supervised sandbox for every submission.

It is started as a fresh interpreter with a clean environment and imports nothing of the
course, so a forked submission finds no reference code or expected values in its memory.
Protocol on stdin/stdout: length-prefixed job (JSON) and arrays (wire format) in; the
supervisor's summary and relayed messages out.
"""
from __future__ import annotations

import gc
import json
import os
import sys

# Imported before any fork so that children neither pay for them nor need to read them from
# disk after the sandbox hides the filesystem.
import collections, copy, dataclasses, decimal, fractions, functools, itertools, math, operator  # noqa: E401,F401
import random, re, statistics, string, time, traceback, typing  # noqa: E401,F401
import encodings.ascii, encodings.idna, encodings.latin_1, encodings.utf_8  # noqa: E401,F401
import numpy as np
import numpy.fft  # noqa: F401
import numpy.linalg  # noqa: F401
import numpy.random  # noqa: F401

from . import source, wire  # noqa: F401 - source pulls in IPython's parser once, here
from .student_namespace import compile_helpers
from .supervisor import release_workdirs, supervise


def serve(worker: int) -> None:
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    # Objects that exist now live as long as the worker: keeping the collector away from them
    # spares every forked child the copy-on-write faults a collection would cause.
    gc.freeze()
    # Nothing else may write to the protocol channel.
    sys.stdout = open(os.devnull, "w")
    while True:
        job_blob = wire.read_blob(stdin)
        if job_blob is None:
            release_workdirs()
            return
        arrays_blob = wire.read_blob(stdin)
        job = json.loads(job_blob)
        job["worker"] = worker
        _, arrays = wire.decode(arrays_blob)
        compile_helpers(job["helpers"])  # before the fork, so the compiled code is inherited
        try:
            supervise(job, arrays, stdout)
        except Exception as exc:  # a fault of the grader itself: report it, keep serving
            wire.write_blob(stdout, json.dumps({"status": "crashed", "messages": 0,
                                                "error": f"the grader failed: {type(exc).__name__}: {exc}"}).encode())


if __name__ == "__main__":
    np.seterr(all="ignore")
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)

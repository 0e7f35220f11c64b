"""The globals a submission's cells run in: numpy, the course helpers, and a harmless IPython."""
from __future__ import annotations

import sys
import types

import numpy as np


class _Inert:
    """Stands in for a plotting library: every attribute, call and iteration does nothing."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __iter__(self):
        return iter(())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_PLOTTING = ("matplotlib", "matplotlib.pyplot", "matplotlib.pylab", "seaborn", "pylab")


def install_plotting_stubs() -> None:
    """Plots cannot be graded and the libraries may be absent: make `import matplotlib...` inert."""
    for name in _PLOTTING:
        if name in sys.modules:
            continue
        module = types.ModuleType(name)
        module.__getattr__ = lambda attr, _inert=_Inert(): _inert  # PEP 562 module attribute hook
        module.__path__ = []  # lets `import matplotlib.pyplot` treat it as a package
        sys.modules[name] = module


# The grader's own stages next to student code: never importable by a submission.
GRADER_MODULES = ("autograder.course", "autograder.grading", "autograder.authoring", "autograder.reports",
                  "autograder.cli")


class _Refused(ImportError):
    pass


class _ImportGuard:
    """First on sys.meta_path: a forbidden module fails with a message that says so, and no path."""

    def __init__(self, forbidden: list[str]):
        self.forbidden = tuple(forbidden)

    def find_spec(self, name, path=None, target=None):
        for banned in self.forbidden:
            if name == banned or name.startswith(banned + "."):
                raise _Refused(f"`import {name}` is not allowed while grading: the course's reference code and "
                               f"the grader itself are not available to submissions", name=name)
        return None

    def invalidate_caches(self):
        pass


def install_import_guard(forbidden: list[str]) -> None:
    names = [n for n in (*GRADER_MODULES, *forbidden) if isinstance(n, str) and n]
    for name in list(sys.modules):
        if any(name == n or name.startswith(n + ".") for n in names):
            del sys.modules[name]
    sys.meta_path.insert(0, _ImportGuard(names))


class GradingShell:
    """What `get_ipython()` returns while grading: magics and shell escapes are recorded, not run."""

    _RUN_BODY = {"time", "timeit", "capture", "prun"}

    def __init__(self, namespace: dict, notes: list[str]):
        self.user_ns = namespace
        self.notes = notes

    def run_line_magic(self, name, line, *args, **kwargs):
        if name in ("time", "timeit") and line.strip():
            exec(compile(line, "<magic>", "exec"), self.user_ns)
        return None

    def run_cell_magic(self, name, line, cell, *args, **kwargs):
        if name in self._RUN_BODY:
            exec(compile(cell, "<cell magic>", "exec"), self.user_ns)
        else:
            self.notes.append(f"the cell magic %%{name} was not run during grading")
        return None

    def system(self, command, *args, **kwargs):
        self.notes.append(f"the shell command `!{command}` was not run during grading")
        return None

    getoutput = system

    def magic(self, line, *args, **kwargs):
        return None


_compiled: dict[str, object] = {}


def compile_helpers(source: str):
    """Compiled once per worker: every submission of a run shares the same helpers."""
    if source not in _compiled:
        _compiled[source] = compile(source, "<course helpers>", "exec")
    return _compiled[source]


def make_namespace(helpers_source: str, notes: list[str]) -> dict:
    namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__, "np": np, "numpy": np}
    exec(compile_helpers(helpers_source), namespace)
    shell = GradingShell(namespace, notes)
    namespace["get_ipython"] = lambda: shell
    return namespace

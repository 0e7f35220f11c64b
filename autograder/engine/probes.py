"""Calling a submitted layer on the grader's inputs and collecting the raw numbers it produces.

Runs inside the sandbox. It decides nothing: every verdict is made later, by the trusted
grader, from the arrays collected here.
"""
from __future__ import annotations

import signal
import sys
import time
import traceback

import numpy as np

from .state_probes import run_state

MAX_ELEMENTS = 1 << 18


class CallTimeout(BaseException):
    """Raised by the alarm into a call of student code that ran too long.

    A BaseException, so that `except Exception` in student code cannot swallow it.
    """


class ProbeError(Exception):
    """A submitted method misbehaved in a way worth telling the student."""


def describe_exception(exc: BaseException, cells: list[str]) -> str:
    """'TypeError: ... (cell 4, line 12: `self.dW = np.dot(self, x.T, dout)`)'."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, RecursionError):
        text = "RecursionError: the method calls itself without end"
    where = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        name = frame.f_code.co_filename
        if name.startswith("<cell "):
            where = (name, lineno)
    if where:
        index = int(where[0][6:-1])
        lines = cells[index - 1].splitlines() if 0 < index <= len(cells) else []
        code = lines[where[1] - 1].strip() if 0 < where[1] <= len(lines) else ""
        text += f" (cell {index}, line {where[1]}" + (f": `{code[:120]}`)" if code else ")")
    return text


def as_float_array(value, what: str) -> np.ndarray:
    """The student's value as a plain float64 array, or a ProbeError that says what it was."""
    if value is None:
        raise ProbeError(f"{what} returned None; is a `return` statement missing?")
    if isinstance(value, (tuple, list)) and any(isinstance(v, np.ndarray) for v in value):
        raise ProbeError(f"{what} returned a {type(value).__name__} of {len(value)} values where one array was expected")
    try:
        array = np.array(value, dtype=np.float64, copy=True, order="C")
    except (TypeError, ValueError) as exc:
        raise ProbeError(f"{what} returned a {type(value).__name__}, which is not a number or an array "
                         f"of numbers ({exc})") from None
    if array.size > MAX_ELEMENTS:
        raise ProbeError(f"{what} returned {array.size} numbers, far more than expected")
    return array.view(np.ndarray)


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def dtype_name(value) -> str | None:
    """The type a result came in when it is not float64: ints truncate, float32 keeps 7 digits."""
    try:
        if isinstance(value, (bool, np.bool_)):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float):
            return None
        dtype = value.dtype if isinstance(value, (np.ndarray, np.generic)) else None
    except Exception:  # a student's object with a broken dtype is judged by its values alone
        return None
    return None if dtype is None or dtype == np.float64 else str(dtype.name)


class LayerProbe:
    def __init__(self, cls, layer: dict, arrays: dict, cells: list[str], h: float,
                 call_timeout: float | None = None, deadline: float | None = None):
        self.cls = cls
        self.layer = layer
        self.name = layer["name"]
        self.arrays = arrays
        self.cells = cells
        self.h = h
        # Each probe gets its own alarm, so a backward that loops forever costs the backward
        # tests but not forward's; past the layer's deadline the remaining probes are skipped.
        self.call_timeout = call_timeout
        self.deadline = deadline
        self.params = layer["params"]
        self.inputs = layer["inputs"]
        self.diff = [a for a in self.inputs if a not in layer["labels"]]
        self.out: dict[str, np.ndarray] = {}
        self.errors: dict[str, str] = {}
        self.found: dict[str, str] = {}
        self.dtypes: dict[str, str] = {}
        self.notes: list[str] = []
        self.forward_calls = 0       # calls of forward made by one backward (numerical differentiation)

    # -- values of a case ------------------------------------------------------------
    def _value(self, key: str, arg: str, ints: bool):
        """Inputs as a student's caller passes them: Python numbers for scalars, ints where asked."""
        array = self.arrays[key]
        if arg in self.layer["labels"]:
            return array.astype(np.int64) if array.ndim == 1 else array.copy()
        if ints:
            return int(array) if array.ndim == 0 else array.astype(np.int64)
        return float(array) if array.ndim == 0 else array.copy()

    def case_values(self, prefix: str, ints: bool = False):
        params = {p: self._value(f"{prefix}/{p}", p, ints) for p in self.params}
        inputs = {a: self._value(f"{prefix}/{a}", a, ints) for a in self.inputs}
        return params, inputs

    def dout_of(self, prefix: str, ints: bool = False):
        return self._value(f"{prefix}/dout", "dout", ints)

    # -- calling the student's class -----------------------------------------------------
    def new(self, params):
        return self.cls(*(_copy(params[p]) for p in self.params))

    def forward(self, layer, inputs, pass_as_is=False, key=None):
        args = [inputs[a] if pass_as_is else _copy(inputs[a]) for a in self.inputs]
        returned = layer.forward(*args)
        if key is not None:
            self._note_dtype(key, returned)
        return as_float_array(returned, f"{self.name}.forward")

    def _note_dtype(self, key, value):
        name = dtype_name(value)
        if name is not None:
            self.dtypes[key] = name

    def backward(self, layer, dout, pass_as_is=False, key=None) -> dict[str, np.ndarray]:
        """The gradients as the student's backward leaves them: attributes are only read, never set."""
        returned = layer.backward(1 if self.layer["loss"] else (dout if pass_as_is else _copy(dout)))
        what = f"{self.name}.backward"
        raw = {}
        if len(self.diff) == 1:
            if isinstance(returned, tuple) and len(returned) == 1:
                returned = returned[0]
            raw[f"d{self.diff[0]}"] = (returned, what)
        else:
            if not isinstance(returned, (tuple, list)):
                raise ProbeError(f"{what} returned one value; it must return {len(self.diff)}: "
                                 f"({', '.join('d' + a for a in self.diff)})")
            if len(returned) != len(self.diff):
                raise ProbeError(f"{what} returned {len(returned)} values; it must return {len(self.diff)}: "
                                 f"({', '.join('d' + a for a in self.diff)})")
            for arg, value in zip(self.diff, returned):
                raw[f"d{arg}"] = (value, f"{what} (d{arg})")
        for param in self.params:
            aliases = self.layer["grad_attrs"][param]
            present = {a: v for a in aliases if (v := getattr(layer, a, None)) is not None}
            chosen = next((a for a, v in present.items() if np.any(np.asarray(v, dtype=object) != 0)), None)
            chosen = chosen or next(iter(present), None)
            if chosen is None:
                raise ProbeError(f"after {what}, no attribute {' or '.join('self.' + a for a in aliases[:3])} "
                                 f"holds the gradient of {param}")
            self.found[param] = chosen
            raw[aliases[0]] = (present[chosen], f"{self.name}.{chosen}")
        grads = {}
        for name, (value, where) in raw.items():
            if key is not None:
                self._note_dtype(f"{key}/{name}", value)
            grads[name] = as_float_array(value, where)
        return grads

    def counting_forward_calls(self, action):
        """Run action, counting calls of the class's forward: a backward that calls it again and
        again differentiates numerically instead of applying the chain rule."""
        code = getattr(getattr(self.cls, "forward", None), "__code__", None)
        calls = 0

        def profile(frame, event, arg):
            nonlocal calls
            if event == "call" and frame.f_code is code:
                calls += 1

        def run():
            sys.setprofile(profile)
            try:
                return action()
            finally:
                sys.setprofile(None)
                self.forward_calls = max(self.forward_calls, calls)
        return run

    # -- the probes ----------------------------------------------------------------------
    def attempt(self, key: str, action):
        alarm = None
        if self.call_timeout is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.errors[key] = "not run: this layer's time ran out on earlier tests"
                return None
            alarm = min(self.call_timeout, remaining)
            signal.setitimer(signal.ITIMER_REAL, alarm)
        try:
            return action()
        except CallTimeout:
            self.errors[key] = (f"stopped after {alarm:.3g} s: the call did not finish (an endless loop, or "
                                f"far too slow)")
        except ProbeError as exc:
            self.errors[key] = str(exc)
        except MemoryError:
            self.errors[key] = "MemoryError: ran out of memory (the memory limit was reached)"
        except Exception as exc:  # any student error becomes a message; the probes go on
            self.errors[key] = describe_exception(exc, self.cells)
        finally:
            if alarm is not None:
                signal.setitimer(signal.ITIMER_REAL, 0)
        return None

    def run_case(self, index: int, case: dict):
        prefix = f"c{index}"
        ints = case.get("ints", False)
        params, inputs = self.case_values(prefix, ints)

        def forward_with_own_inputs():
            layer = self.new(params)
            out = self.forward(layer, inputs, pass_as_is=True, key=f"{prefix}/out")
            for arg in self.inputs:
                self.out[f"{prefix}/after/{arg}"] = np.asarray(inputs[arg], dtype=np.float64)
            return layer, out

        result = self.attempt(f"{prefix}/out", forward_with_own_inputs)
        if result is None:
            return
        self.out[f"{prefix}/out"] = result[1]
        if case["forward_only"]:
            return
        params, inputs = self.case_values(prefix, ints)
        dout = self.dout_of(prefix, ints)
        dout_given = _copy(dout)

        def backward():
            layer = self.new(params)
            self.forward(layer, inputs)
            return self.backward(layer, dout_given, pass_as_is=True, key=f"{prefix}/grad")

        if index == self.layer.get("state_case"):
            backward = self.counting_forward_calls(backward)
        grads = self.attempt(f"{prefix}/grads", backward)
        if grads:
            for name, value in grads.items():
                self.out[f"{prefix}/grad/{name}"] = value
            if not self.layer["loss"] and not np.array_equal(dout_given, dout) and not self.notes:
                self.notes.append("backward changes dout in place (as the book's Relu does); this costs "
                                  "nothing here, but another layer sharing that array would see the change")
        if not case.get("numerical", True):
            return
        for arg in self.diff:
            self.attempt(f"{prefix}/num/{arg}", lambda arg=arg: self.numeric(prefix, params, inputs, arg, None))
        for param in self.params:
            self.attempt(f"{prefix}/num/{param}", lambda p=param: self.numeric(prefix, params, inputs, None, p))

    def numeric(self, prefix, params, inputs, arg, param):
        """Forward outputs at every +h/-h perturbation of one argument, stacked (n, 2, *out).

        Perturbations move one element at a time, or along each given direction. Every forward
        runs on a fresh instance, so a forward that caches its first answer shows as what it is."""
        base = np.asarray(inputs[arg] if arg else params[param], dtype=np.float64)
        directions = self.arrays.get(f"{prefix}/dir/{arg or param}")
        steps = len(directions) if directions is not None else base.size
        outputs = None
        for i in range(steps):
            for j, sign in enumerate((1.0, -1.0)):
                if directions is not None:
                    moved = base + sign * self.h * directions[i]
                else:
                    moved = base.copy()
                    moved.flat[i] += sign * self.h
                moved = float(moved) if moved.ndim == 0 else moved
                if arg:
                    out = self.forward(self.new(params), {**inputs, arg: moved})
                else:
                    out = self.forward(self.new({**params, param: moved}), inputs)
                if outputs is None:
                    outputs = np.empty((steps, 2) + out.shape)
                elif out.shape != outputs.shape[2:]:
                    raise ProbeError(f"{self.name}.forward returned outputs of changing shapes")
                outputs[i, j] = out
        self.out[f"{prefix}/num/{arg or param}"] = outputs if outputs is not None else np.zeros((0, 2))

    def run(self) -> tuple[dict, dict]:
        for index, case in enumerate(self.layer["cases"]):
            self.run_case(index, case)
        run_state(self)
        meta = {"kind": "layer", "layer": self.name, "errors": self.errors, "found_attrs": self.found,
                "notes": self.notes, "dtypes": self.dtypes, "forward_calls": self.forward_calls}
        return meta, self.out

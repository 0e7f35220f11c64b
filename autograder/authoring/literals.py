"""Numbers written into notebooks as Python literals that read the same on every machine.

numpy's transcendental functions differ in the last bits between SIMD paths (AVX-512 or not,
aarch64) and numpy versions. Embedded numbers are therefore written to a fixed number of
significant digits, far finer than any self-check tolerance (1e-7) and far coarser than those
last-bit differences; values that sit within a few units in the last place of a rounding boundary
are avoided by the caller (see `is_stable`), so a different last bit cannot change the text.
"""
from __future__ import annotations

import numpy as np

OUTPUT_DIGITS = 10   # expected outputs and gradients: rounding error <= 5e-10, relative
INPUT_DIGITS = 8     # drawn inputs are rounded first, so every machine starts from the same numbers
STABLE_ULPS = 16     # a value this many units in the last place from a rounding boundary is safe
NEGLIGIBLE = 1e-12   # elements this much smaller than their array's largest are written as 0.0
TINY = 1e-290        # and so are values near underflow (subnormals differ with flush-to-zero modes)


def cleaned(value):
    """Elements negligible next to their array's largest set to 0.0.

    Such elements come from cancellation (a true zero computed as 1e-17 here and -3e-17 there):
    their sign and digits are noise that no tolerance looks at, so they are not written."""
    array = np.asarray(value)
    if array.dtype.kind != "f":
        return value
    if array.ndim == 0:
        return np.float64(0.0) if abs(float(array)) <= TINY else value
    scale = np.max(np.abs(array)) if array.size else 0.0
    return np.where(np.abs(array) <= max(NEGLIGIBLE * scale, TINY), 0.0, array)


def rounded(value, digits: int = INPUT_DIGITS):
    """The float64 nearest to value written with `digits` significant digits (ints unchanged)."""
    array = np.asarray(value)
    if array.dtype.kind not in "fc":
        return value
    out = np.vectorize(lambda v: float(f"{v:.{digits}g}"), otypes=[np.float64])(array)
    return np.float64(out) if array.ndim == 0 else out


def _text(value: float, digits: int) -> str:
    return repr(float(f"{value:.{digits}g}"))


def is_stable(value, digits: int = OUTPUT_DIGITS, ulps: int = STABLE_ULPS) -> bool:
    """True when moving every element by up to `ulps` units in the last place leaves its text alone."""
    array = np.asarray(cleaned(value), dtype=np.float64).ravel()
    array = array[array != 0.0]  # exact zeros (masks, cleaned noise) are written the same everywhere
    if array.size == 0:
        return True
    for direction in (np.inf, -np.inf):
        moved = array.copy()
        for _ in range(ulps):
            moved = np.nextafter(moved, direction)
        for a, b in zip(array, moved):
            if _text(a, digits) != _text(b, digits):
                return False
    return True


def number(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"cannot embed a non-finite number ({value!r}) in a notebook")
    return _text(0.0 if abs(value) <= TINY else value, OUTPUT_DIGITS)


def _nested(array: np.ndarray, indent: str) -> str:
    if array.ndim == 1:
        return "[" + ", ".join(number(v) for v in array) + "]"
    inner = indent + " "
    rows = [_nested(row, inner) for row in array]
    return "[" + (",\n" + inner).join(rows) + "]"


def literal(value, indent: str = "") -> str:
    """Python source for a number or an array, to OUTPUT_DIGITS significant digits; scalars are
    written as Python numbers."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        prefix = "np.array("
        return prefix + _nested(cleaned(value), indent + " " * len(prefix)) + ")"
    value = np.asarray(value)
    if value.dtype.kind in "iu":
        return repr(int(value))
    return number(value)  # a Python float, as a student's caller passes scalars

"""Whether two renderings of a notebook say the same thing, up to the last digits of numbers.

Embedded numbers are written so that every supported machine writes the same text (literals.py);
should a value still land next to a rounding boundary on some CPU, the file written elsewhere is
not stale for that: `generate --check` passes and `generate` leaves it alone.
"""
from __future__ import annotations

import math
import re

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
RELATIVE = 1e-8      # far below every self-check tolerance, far above last-bit noise
ABSOLUTE = 1e-12     # values cleaned to 0.0 on one machine and not on another (literals.NEGLIGIBLE)


def _close(a: str, b: str) -> bool:
    if a == b:
        return True
    x, y = float(a), float(b)
    if not (math.isfinite(x) and math.isfinite(y)):
        return False
    return abs(x - y) <= max(RELATIVE * max(abs(x), abs(y)), ABSOLUTE)


def equivalent(a: str, b: str) -> bool:
    """Same text outside numbers, and numbers within RELATIVE (or ABSOLUTE near zero)."""
    if a == b:
        return True
    a_parts, b_parts = _NUMBER.split(a), _NUMBER.split(b)
    if a_parts != b_parts:
        return False
    return all(_close(x, y) for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)))

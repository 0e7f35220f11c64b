"""Text from submissions (file and folder names, errors) made safe to print on a terminal.

A file name can hold escape sequences that retitle the terminal, move the cursor or erase
lines of the summary; bidirectional overrides can make one id look like another.
"""
from __future__ import annotations

import unicodedata

_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def printable(text: object) -> str:
    """text with every control, format or unassigned character shown as a visible escape (\\x1b, \\u202e)."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in _UNPRINTABLE:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)

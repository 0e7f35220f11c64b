"""From a submitted file to the code cells it contains, with a clear reason when that fails.

Runs in the trusted supervisor, before any student code exists in the process.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

try:  # IPython's own parser turns %magics and !shell lines into get_ipython() calls
    from IPython.core.inputtransformer2 import TransformerManager
except ImportError:  # pragma: no cover - IPython is a dependency; this keeps grading alive without it
    TransformerManager = None

from autograder.kit.cell_ids import SELF_CHECK_SUPPORT

MAX_NOTEBOOK_MB = 20


class InvalidSubmission(Exception):
    """The file cannot be graded; the message says why in words a student understands."""


_PY_CELL_MARKER = re.compile(r"^\s*#\s*(%%|In\s*\[.*\]\s*:)")


def _split_python(text: str) -> list[str]:
    """A .py submission as cells: by '# %%' / '# In[ ]:' markers, else one per top-level statement.

    Splitting matters because one failing statement must not stop the classes after it.
    """
    lines = text.splitlines(keepends=True)
    if any(_PY_CELL_MARKER.match(line) for line in lines):
        cells, current = [], []
        for line in lines:
            if _PY_CELL_MARKER.match(line) and current:
                cells.append("".join(current))
                current = []
            current.append(line)
        cells.append("".join(current))
        return [c for c in cells if c.strip()]
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return [text]
    cells = []
    for node in tree.body:
        start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        cells.append("".join(lines[start:node.end_lineno]))
    return cells


def _cell_text(source) -> str:
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise InvalidSubmission("a code cell's source is neither text nor a list of lines: the notebook is damaged")


def _notebook_cells(data: dict) -> list[str]:
    version = data.get("nbformat")
    if not isinstance(version, int):
        raise InvalidSubmission("this JSON file is not a Jupyter notebook (it has no 'nbformat' version)")
    if version < 3:
        raise InvalidSubmission(f"the notebook uses format version {version}, which is too old to read: "
                                f"open it in a current Jupyter and save it again")
    if version == 3:  # nbformat 3 kept cells inside worksheets and called code 'input'
        cells = [c for ws in data.get("worksheets") or [] if isinstance(ws, dict)
                 for c in ws.get("cells") or []]
        return [_cell_text(c.get("input", "")) for c in cells
                if isinstance(c, dict) and c.get("cell_type") == "code"]
    if version > 4:
        raise InvalidSubmission(f"the notebook uses format version {version}, newer than this grader reads (4)")
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise InvalidSubmission("the notebook has no list of cells: the file is damaged")
    return [_cell_text(c.get("source", "")) for c in cells
            if isinstance(c, dict) and c.get("cell_type") == "code" and not _is_check_cell(c)]


def _is_check_cell(cell: dict) -> bool:
    """The kit's self-check cells and their support code: the grader runs its own tests instead."""
    meta = cell.get("metadata")
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    if not isinstance(nbgrader, dict) or nbgrader.get("solution") is True:
        return False
    return nbgrader.get("grade") is True or nbgrader.get("grade_id") == SELF_CHECK_SUPPORT


_IPYTHON_SYNTAX = re.compile(r"^\s*[%!]|[?]\s*$|^\s*\w+\s*=\s*[%!]", re.MULTILINE)


def _plain_python(cell: str) -> str:
    """Cell text as Python: magics and shell escapes become calls the grading shell records."""
    if not _IPYTHON_SYNTAX.search(cell):
        return cell  # plain Python, by far the common case: IPython's parser is not needed
    if TransformerManager is not None:
        try:
            return TransformerManager().transform_cell(cell)
        except Exception:  # a cell IPython cannot parse fails later, at compile time, with a clear message
            return cell
    return "\n".join("pass  # " + line if line.lstrip().startswith(("%", "!")) else line
                     for line in cell.splitlines())


def read_code_cells(path: Path, max_mb: float = MAX_NOTEBOOK_MB) -> list[str]:
    """Code cells as plain Python, in order. Raises InvalidSubmission with the reason."""
    return [_plain_python(cell) for cell in _raw_code_cells(path, max_mb)]


def _raw_code_cells(path: Path, max_mb: float) -> list[str]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidSubmission(f"the file cannot be read: {exc.strerror}") from None
    if size == 0:
        raise InvalidSubmission("the file is empty")
    if size > max_mb * 1024 * 1024:
        raise InvalidSubmission(f"the file is {size / 1048576:.1f} MB, over the {max_mb:g} MB limit; "
                                f"large outputs are the usual cause: clear all outputs and submit again")
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise InvalidSubmission("the file is binary, not a notebook or Python source")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidSubmission(f"the file is not UTF-8 text (bad byte at position {exc.start})") from None
    if path.suffix.lower() == ".py":
        return _split_python(text)
    if not text.strip():
        raise InvalidSubmission("the file contains only whitespace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSubmission(f"the notebook is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                f"{exc.msg}); it may have been edited in a text editor or cut short") from None
    if not isinstance(data, dict):
        raise InvalidSubmission("the file is JSON but not a Jupyter notebook")
    return _notebook_cells(data)

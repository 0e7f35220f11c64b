"""From a submitted file to the code cells it contains, with a clear reason when that fails.

Runs in the trusted supervisor, before any student code exists in the process.
"""
from __future__ import annotations

import ast
import json
import os
import re

import ijson
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
    """Code cells of a file named by a trusted path, as plain Python. Raises InvalidSubmission."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise InvalidSubmission(f"the file cannot be read: {exc.strerror}") from None
    try:
        return read_submission(fd, path.name, max_mb)[0]
    finally:
        os.close(fd)


# Files up to this size are parsed in one piece (fastest); larger ones are streamed, keeping
# only the cells' code and the few metadata the grader reads: outputs are never held.
STREAM_ABOVE_BYTES = 2 << 20
# However little code it holds, a file above this many times the code limit is not read.
HARD_CAP_FACTOR = 10


def read_submission(fd: int, name: str, max_mb: float = MAX_NOTEBOOK_MB) -> tuple[list[str], list[str]]:
    """(code cells as plain Python, notes) of the open file `fd`, named `name` for its suffix.

    The limit applies to the code: a notebook with tens of MB of plots is graded on its cells.
    Raises InvalidSubmission with the reason.
    """
    cells, notes = _raw_code_cells(fd, name, max_mb)
    code = sum(len(c) for c in cells)
    if code > max_mb * 1024 * 1024:
        raise InvalidSubmission(f"the submission has {code / 1048576:.1f} MB of code, over the {max_mb:g} MB "
                                f"limit for the code of one submission")
    return [_plain_python(cell) for cell in cells], notes


def _raw_code_cells(fd: int, name: str, max_mb: float) -> tuple[list[str], list[str]]:
    try:
        size = os.fstat(fd).st_size
    except OSError as exc:
        raise InvalidSubmission(f"the file cannot be read: {exc.strerror}") from None
    if size == 0:
        raise InvalidSubmission("the file is empty")
    cap = HARD_CAP_FACTOR * max_mb * 1024 * 1024
    if size > cap:
        raise InvalidSubmission(f"the file is {size / 1048576:.1f} MB, over the {cap / 1048576:g} MB that are read "
                                f"at all; large outputs are the usual cause: clear all outputs and submit again")
    python = name.lower().endswith(".py")
    if size > STREAM_ABOVE_BYTES and not python:
        return _streamed_notebook(fd, size)
    raw = _read_all(fd, size)
    if b"\x00" in raw[:8192]:
        raise InvalidSubmission("the file is binary, not a notebook or Python source")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidSubmission(f"the file is not UTF-8 text (bad byte at position {exc.start})") from None
    if python:
        return _split_python(text), []
    if not text.strip():
        raise InvalidSubmission("the file contains only whitespace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSubmission(f"the notebook is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                f"{exc.msg}); it may have been edited in a text editor or cut short") from None
    except RecursionError:
        raise InvalidSubmission("the notebook is nested too deeply to be a notebook") from None
    if not isinstance(data, dict):
        raise InvalidSubmission("the file is JSON but not a Jupyter notebook")
    return _notebook_cells(data), []


def _read_all(fd: int, size: int) -> bytes:
    chunks, got = [], 0
    while got <= size:
        chunk = os.pread(fd, min(1 << 22, size + 1 - got), got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _streamed_notebook(fd: int, size: int) -> tuple[list[str], list[str]]:
    head = os.pread(fd, 8192, 0)
    if b"\x00" in head:
        raise InvalidSubmission("the file is binary, not a notebook or Python source")
    with os.fdopen(os.dup(fd), "rb") as handle:
        if head.startswith(b"\xef\xbb\xbf"):
            handle.seek(3)
        try:
            data = _without_outputs(handle)
        except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidSubmission(f"the notebook is not valid JSON ({exc}); it may have been edited in a text "
                                    f"editor or cut short") from None
    if not isinstance(data, dict):
        raise InvalidSubmission("the file is JSON but not a Jupyter notebook")
    note = (f"the notebook is {size / 1048576:.1f} MB, mostly outputs; outputs are never needed for grading "
            f"and were ignored")
    return _notebook_cells(data), [note]


_SKIPPED = {"outputs", "attachments"}


def _without_outputs(handle):
    """The notebook's JSON as Python values, with every cell's outputs and attachments left out."""
    stack: list = []
    keys: list = []
    pending = False   # the next value is a skipped one
    depth = 0         # nesting inside a skipped value
    result = None
    for _, event, value in ijson.parse(handle, use_float=True):
        if pending or depth:
            pending = False
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            continue
        if event == "map_key":
            keys[-1] = value
            pending = value in _SKIPPED and len(stack) >= 3  # a cell's outputs, never the notebook's own keys
            continue
        if event in ("start_map", "start_array"):
            container = {} if event == "start_map" else []
            _attach(stack, keys, container)
            stack.append(container)
            keys.append(None)
            continue
        if event in ("end_map", "end_array"):
            done = stack.pop()
            keys.pop()
            if not stack:
                result = done
            continue
        if not stack:
            return value
        _attach(stack, keys, value)
    return result


def _attach(stack: list, keys: list, value) -> None:
    if not stack:
        return
    parent = stack[-1]
    if isinstance(parent, list):
        parent.append(value)
    else:
        parent[keys[-1]] = value

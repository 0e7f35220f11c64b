"""Source surgery on the reference code with `ast`: the student stub and the solution of a class.

Line ranges come from the parsed tree, so the reference files need no markers. The solution
wraps each exercised method body in nbgrader's solution markers; the stub is exactly what
nbgrader's ClearSolutions makes of those markers, so both routes give the same student code.
"""
from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
from dataclasses import dataclass

from autograder.errors import CourseError

EXERCISED_METHODS = ("forward", "backward")
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()")


@dataclass(frozen=True)
class ClassParts:
    """A reference class cut up for a notebook."""

    docstring: str        # the class docstring, cleaned; goes into a markdown cell
    solution: str         # the class without its docstring, method bodies between solution markers
    student: str          # the same with each marked body replaced by the stub


@dataclass(frozen=True)
class FunctionParts:
    """A function cut up for a notebook: its docstring and its body as top-level code.

    A final `return` is left out of `body` (top-level code cannot return) and kept in `returned`.
    """

    docstring: str
    body: str
    tree: ast.FunctionDef
    returned: ast.Return | None


def _docstring_node(node) -> ast.Expr | None:
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _body_range(func: ast.FunctionDef, lines: list[str], where: str) -> tuple[int, int, str]:
    """0-based [start, end) of the lines after the docstring, and the body's indentation."""
    doc = _docstring_node(func)
    code = func.body[1:] if doc else func.body
    if func.body[0].lineno == func.lineno:
        raise CourseError(f"{where}: the body of {func.name} must start on its own line, not after `def ...:`")
    indent = lines[func.body[0].lineno - 1][: func.body[0].col_offset]
    if not code:
        raise CourseError(f"{where}: {func.name} has a docstring but no code to turn into an exercise")
    if doc:
        start = doc.end_lineno  # 0-based index of the line after the docstring
    else:
        start = code[0].lineno - 1
        while start - 1 > func.lineno - 1 and lines[start - 1].strip().startswith("#"):
            start -= 1  # comments right before the first statement belong to the answer
    end = code[-1].end_lineno
    while end < len(lines) and lines[end].strip().startswith("#") and lines[end].startswith(indent):
        end += 1  # so do trailing comments at the body's indentation
    while start < end and not lines[start].strip():
        start += 1
    return start, end, indent


def _class_node(source: str, name: str, where: str) -> ast.ClassDef:
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise CourseError(f"{where}: could not find class {name} in its source")  # pragma: no cover


def split_class(cls: type, where: str) -> ClassParts:
    """Cut a reference class into docstring, solution and student stub.

    `where` names the class for error messages (file and course key).
    """
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    node = _class_node(source, cls.__name__, where)
    methods = {m.name: m for m in node.body if isinstance(m, ast.FunctionDef)}
    missing = [m for m in EXERCISED_METHODS if m not in methods]
    if missing:
        raise CourseError(f"{where}: reference class {cls.__name__} has no {' or '.join(missing)} method")

    doc = _docstring_node(node)
    docstring = inspect.cleandoc(doc.value.value) if doc else ""
    solution, student = list(lines), list(lines)
    # Edit from the bottom up so earlier line numbers stay valid.
    ranges = sorted((_body_range(methods[m], lines, where) for m in EXERCISED_METHODS), reverse=True)
    for start, end, indent in ranges:
        solution[start:end] = [indent + BEGIN_SOLUTION, *lines[start:end], indent + END_SOLUTION]
        student[start:end] = [indent + stub for stub in STUB_LINES]
    if doc:
        cut_end = doc.end_lineno
        while cut_end < len(lines) and not lines[cut_end].strip():
            cut_end += 1  # and the blank line after the docstring
        for edited in (solution, student):
            del edited[doc.lineno - 1:cut_end]
    return ClassParts(docstring=docstring, solution="\n".join(solution), student="\n".join(student))


def function_parts(func, where: str) -> FunctionParts:
    """A function's docstring and its body dedented to top level, without the docstring."""
    source = textwrap.dedent(inspect.getsource(func))
    lines = source.splitlines()
    tree = ast.parse(source).body[0]
    if not isinstance(tree, ast.FunctionDef):
        raise CourseError(f"{where}: {func.__name__} is not a plain function")
    start, end, _ = _body_range(tree, lines, where)
    returned = tree.body[-1] if isinstance(tree.body[-1], ast.Return) else None
    if returned is not None:
        end = returned.lineno - 1  # top-level code cannot return; the caller reads the variables
        while end > start and not lines[end - 1].strip():
            end -= 1
    doc = _docstring_node(tree)
    return FunctionParts(docstring=inspect.cleandoc(doc.value.value) if doc else "",
                         body=textwrap.dedent("\n".join(lines[start:end])), tree=tree, returned=returned)


def module_names_used(cls: type) -> set[str]:
    """Names a class reads from its module (helpers, imports), builtins excluded.

    The notebook provides only numpy and the course's helper functions; a class that
    leans on anything else in its module would break in the notebook.
    """
    module = inspect.getmodule(cls)
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return {name for name in loaded
            if name in vars(module) and not hasattr(builtins, name) and name != cls.__name__}

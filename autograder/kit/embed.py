"""Turns the kit's self-check module into the source of a notebook cell.

The module is real code (imported and tested as such); the notebook gets the same code with its
one relative import replaced by the source of the functions it names, so nothing is kept twice.
"""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from . import numeric, selfcheck


def _source(module) -> str:
    return Path(importlib.util.find_spec(module.__name__).origin).read_text(encoding="utf-8")


def _functions(module, names: list[str]) -> str:
    text = _source(module)
    defs = {node.name: node for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)}
    return "\n\n\n".join(ast.get_source_segment(text, defs[name]) for name in names)


def embedded_selfcheck(step: float) -> str:
    text = _source(selfcheck)
    tree = ast.parse(text)
    lines = text.split("\n")
    replacements: dict[int, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is tree.body[0]:
            replacements[node.lineno - 1] = [None] * (node.end_lineno - node.lineno + 1)  # the docstring
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            source = {"numeric": numeric}[node.module]
            replacements[node.lineno - 1] = ["", _functions(source, [a.name for a in node.names]), ""]
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and getattr(node.targets[0], "id", None) == "NUMERICAL_STEP"):
            replacements[node.lineno - 1] = [f"NUMERICAL_STEP = {float(step)!r}"]
    out: list[str] = []
    skip = 0
    for index, line in enumerate(lines):
        if skip:
            skip -= 1
            continue
        if index in replacements:
            new = replacements[index]
            if new and new[0] is None:  # a multi-line docstring: drop all of it
                skip = len(new) - 1
                continue
            out.extend(new)
        else:
            out.append(line)
    return "\n".join(out).strip("\n") + "\n"

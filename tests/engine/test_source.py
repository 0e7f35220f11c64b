"""Is a submitted file turned into the code cells a student wrote, whatever its format?"""
import json

import pytest

from autograder.engine.source import InvalidSubmission, read_code_cells


def test_magics_and_shell_escapes_become_calls_the_grading_shell_records(tmp_path):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# title"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1,
         "source": ["%matplotlib inline\n", "!pip install numpy\n", "x = 1\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 2, "source": "y = x + 1"},
    ]}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    cells = read_code_cells(path)
    assert cells[0].splitlines() == ["get_ipython().run_line_magic('matplotlib', 'inline')",
                                     "get_ipython().system('pip install numpy')", "x = 1"]
    assert cells[1] == "y = x + 1"


def test_kit_self_check_cells_are_left_out(tmp_path):
    check = {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": "relu_check",
                          "schema_version": 3, "points": 3}}
    support = {"nbgrader": {"grade": False, "solution": False, "locked": True, "grade_id": "self_check_support",
                            "schema_version": 3}}
    answer = {"nbgrader": {"grade": False, "solution": True, "locked": False, "grade_id": "relu_code",
                           "schema_version": 3}}
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": support, "outputs": [], "execution_count": None, "source": "def check(): ..."},
        {"cell_type": "code", "metadata": answer, "outputs": [], "execution_count": None, "source": "class Relu: ..."},
        {"cell_type": "code", "metadata": check, "outputs": [], "execution_count": None, "source": "check()"},
    ]}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    assert read_code_cells(path) == ["class Relu: ..."]


def test_old_notebook_format_3_is_read(tmp_path):
    nb = {"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": [
        {"cell_type": "code", "input": ["a = 1\n", "b = 2"], "outputs": []},
        {"cell_type": "markdown", "source": "text"}]}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(nb))
    assert read_code_cells(path) == ["a = 1\nb = 2"]


def test_python_files_are_split_so_one_bad_statement_does_not_hide_the_rest(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("import numpy as np\n\n@decorator\nclass A:\n    pass\n\nprint(undefined)\nclass B:\n    x = 1\n")
    assert read_code_cells(path) == ["import numpy as np\n", "@decorator\nclass A:\n    pass\n",
                                     "print(undefined)\n", "class B:\n    x = 1\n"]
    marked = tmp_path / "m.py"
    marked.write_text("# %%\nx = 1\n# %%\ny = (\n# %%\nz = 3\n")
    assert read_code_cells(marked) == ["# %%\nx = 1\n", "# %%\ny = (\n", "# %%\nz = 3\n"]


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"   \n", "only whitespace"),
    (b"\xff\xfe\x00\x01binary", "binary"),
    (b"\xff\xfenot utf8 text", "not UTF-8"),
    (b'{"cells": []', "not valid JSON"),
    (b"[1, 2]", "not a Jupyter notebook"),
    (b'{"nbformat": 1}', "too old"),
    (b'{"nbformat": 9, "cells": []}', "newer than"),
    (b'{"nbformat": 4}', "no list of cells"),
])
def test_broken_files_say_what_is_wrong(tmp_path, content, words):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    with pytest.raises(InvalidSubmission, match=words):
        read_code_cells(path)

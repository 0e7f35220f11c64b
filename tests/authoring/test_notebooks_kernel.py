"""The generated notebooks in a real Jupyter kernel: solutions pass every check, stubs fail each one plainly."""
import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from autograder.authoring.generate import notebook_paths

pytestmark = pytest.mark.slow
from conftest import ROOT
ASSIGNMENTS = ["computational_graph", "activations", "affine_softmax"]


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory):
    """The notebooks' `python3` kernel; if this machine has none, one running this interpreter."""
    specs = KernelSpecManager()
    try:
        specs.get_kernel_spec("python3")
        return specs
    except NoSuchKernel:
        folder = tmp_path_factory.mktemp("kernels")
        (folder / "python3").mkdir()
        (folder / "python3" / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3", "language": "python"}))
        return KernelSpecManager(kernel_dirs=[str(folder)])


def execute(path: Path, kernel_specs, allow_errors: bool):
    nb = nbformat.read(path, as_version=4)
    manager = KernelManager(kernel_name="python3", kernel_spec_manager=kernel_specs)
    NotebookClient(nb, km=manager, timeout=60, allow_errors=allow_errors,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def check_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def printed(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_notebook_passes_every_check(course, kernel_specs, name):
    nb = execute(notebook_paths(course, course.assignment(name))[1], kernel_specs, allow_errors=False)
    checks = check_cells(nb)
    assert len(checks) == len(course.assignment(name).layers) + len(course.assignment(name).examples)
    for cell in checks:
        assert "all checks passed" in printed(cell), (cell.id, cell.outputs)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_notebook_fails_every_check_saying_not_implemented(course, kernel_specs, name):
    nb = execute(notebook_paths(course, course.assignment(name))[0], kernel_specs, allow_errors=True)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.id in ("provided_code", "self_check_support"):
            assert not [o for o in cell.outputs if o.output_type == "error"], cell.id
    for cell in check_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert len(errors) == 1, cell.id
        assert errors[0].ename == "AssertionError", (cell.id, errors[0].ename)
        assert "not implemented" in errors[0].evalue, (cell.id, errors[0].evalue)
        assert "all checks passed" not in printed(cell)

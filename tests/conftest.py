import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def course():
    from autograder.course.load import load_course
    return load_course(ROOT / "course.yaml")


@pytest.fixture(scope="session")
def specs(course):
    from autograder.course.layerspec import layer_specs
    return layer_specs(course)


def reference_code(*names: str) -> str:
    """Correct submissions: the reference classes' own source, as a student could have written it."""
    import inspect

    import source_layers

    return "import numpy as np\n\n" + "\n\n".join(inspect.getsource(getattr(source_layers, n)) for n in names)


@pytest.fixture
def grade(course, tmp_path):
    """Grade {student: python source} through the real engine; returns {student: result entry}."""
    from autograder.grading.batch import GradeOptions, grade_paths, load_results

    def run(sources: dict[str, str], assignment=None, timeout=8.0, seed=1234, workers=2, suffix=".py",
            memory_mb=None):
        folder = tmp_path / "subs"
        folder.mkdir(exist_ok=True)
        for student, code in sources.items():
            mode = "wb" if isinstance(code, bytes) else "w"
            with open(folder / f"{student}{suffix if '.' not in student else ''}", mode) as handle:
                handle.write(code)
        options = GradeOptions(assignment=assignment, out_dir=tmp_path / "out", workers=workers, seed=seed,
                               timeout=timeout, show_progress=False, memory_mb=memory_mb)
        grade_paths(course, [folder], options)
        results = {s["student"]: s for s in load_results(options.out_dir)["submissions"]}
        missing = {Path(student).stem for student in sources} - set(results)
        assert not missing, f"results.json is missing {sorted(missing)}: the batch did not complete"
        return results

    return run


def second_simd_path() -> str | None:
    """A NPY_DISABLE_CPU_FEATURES value that makes numpy take other kernels here, if any."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    active = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]
    return " ".join(active) or None

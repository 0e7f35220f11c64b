import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def course():
    from autograder.course import load_course
    return load_course(ROOT / "course.yaml")


@pytest.fixture(scope="session")
def specs(course):
    from autograder.layerspec import layer_specs
    return layer_specs(course)

"""course.yaml: loaded, validated against a schema, and tied to the reference classes."""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import CourseError

Distribution = Literal["normal", "positive", "away_from_zero", "labels"]
Category = Literal["forward", "backward", "hygiene"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tolerance(_Strict):
    forward: float = Field(1e-7, gt=0, lt=1)
    gradient: float = Field(1e-6, gt=0, lt=1)
    reference: float = Field(1e-7, gt=0, lt=1)


class PartialTolerance(_Strict):
    forward: float | None = Field(None, gt=0, lt=1)
    gradient: float | None = Field(None, gt=0, lt=1)
    reference: float | None = Field(None, gt=0, lt=1)


class Grading(_Strict):
    seed: int = 0
    timeout: float = Field(60, gt=0, le=3600)
    layer_timeout: float = Field(10, gt=0, le=3600)
    cell_timeout: float = Field(10, gt=0, le=3600)
    memory_mb: int = Field(1024, ge=64, le=1 << 20)
    max_processes: int = Field(32, ge=1, le=100000)
    max_file_mb: int = Field(16, ge=1, le=1 << 20)
    max_open_files: int = Field(64, ge=16, le=1 << 20)
    max_notebook_mb: float = Field(20, gt=0, le=1024)
    tolerance: Tolerance = Tolerance()
    numerical_step: float = Field(1e-5, gt=0, lt=1)


class LayerEntry(_Strict):
    layer: str
    points: dict[Category, float]

    @field_validator("points")
    @classmethod
    def _points_are_sane(cls, value: dict[str, float]) -> dict[str, float]:
        for category, pts in value.items():
            if pts < 0:
                raise ValueError(f"points for {category} must be >= 0, got {pts}")
        if sum(value.values()) <= 0:
            raise ValueError("a layer must be worth more than 0 points in total")
        return value


class Assignment(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str
    intro: str = ""
    layers: list[LayerEntry] = Field(min_length=1)
    examples: list[str] = []

    @property
    def max_score(self) -> float:
        return sum(sum(entry.points.values()) for entry in self.layers)


CaseValue = list[int] | Literal["index", "onehot"] | float | str


class LayerConfig(_Strict):
    aliases: list[str] = []
    gradients: dict[str, list[str]] = {}
    inputs: dict[str, Distribution] = {}
    cases: list[dict[str, CaseValue]] = Field(min_length=1)
    loss: bool = False
    tolerance: PartialTolerance = PartialTolerance()


class CourseFile(_Strict):
    title: str
    reference: str = "source_layers"
    grading: Grading = Grading()
    assignments: list[Assignment] = Field(min_length=1)
    layers: dict[str, LayerConfig]


class Course:
    """A validated course: its file contents plus the reference module it points at."""

    def __init__(self, path: Path, data: CourseFile, reference_module):
        self.path = path
        self.root = path.parent
        self.data = data
        self.reference = reference_module

    @property
    def title(self) -> str:
        return self.data.title

    @property
    def grading(self) -> Grading:
        return self.data.grading

    @property
    def assignments(self) -> list[Assignment]:
        return self.data.assignments

    def assignment(self, name: str) -> Assignment:
        for assignment in self.data.assignments:
            if assignment.name == name:
                return assignment
        known = ", ".join(a.name for a in self.data.assignments)
        raise CourseError(f"{self.path}: no assignment named {name!r} (the course has: {known})")

    @property
    def fingerprint(self) -> str:
        """Changes whenever course.yaml or a reference file changes: a resumed run must not mix."""
        digest = hashlib.sha256(self.path.read_bytes())
        package = Path(self.reference.__file__).parent
        for source in sorted(package.rglob("*.py")):
            digest.update(source.relative_to(package).as_posix().encode())
            digest.update(source.read_bytes())
        return digest.hexdigest()[:16]

    def reference_class(self, layer: str) -> type:
        return getattr(self.reference, layer)


def _check_cross_references(path: Path, data: CourseFile) -> None:
    """What a schema alone cannot say: names that must be unique or must exist elsewhere."""
    seen: set[str] = set()
    for index, assignment in enumerate(data.assignments):
        if assignment.name in seen:
            raise CourseError(f"{path}: key 'assignments[{index}].name': the name {assignment.name!r} "
                              f"is used by an earlier assignment")
        seen.add(assignment.name)
        for l_index, entry in enumerate(assignment.layers):
            if entry.layer not in data.layers:
                raise CourseError(
                    f"{path}: key 'assignments[{index}].layers[{l_index}].layer': unknown layer {entry.layer!r}; "
                    f"layers configured under 'layers': {', '.join(sorted(data.layers))}")


def _format_location(loc: tuple) -> str:
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for "the key itself" in a mapping
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _import_reference(course_path: Path, package: str):
    """Import the reference package from the course folder, not from wherever Python finds one."""
    package_dir = (course_path.parent / package).resolve()
    init = package_dir / "__init__.py"
    if not init.is_file():
        raise CourseError(f"{course_path}: key 'reference': no Python package at {package_dir}")
    module_name = f"_course_reference_{abs(hash(str(package_dir)))}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, init, submodule_search_locations=[str(package_dir)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the reference is the instructor's code: say where it broke
        del sys.modules[module_name]
        raise CourseError(f"{course_path}: importing the reference package {package_dir} failed: "
                          f"{type(exc).__name__}: {exc}") from exc
    return module


def load_course(path: str | Path = "course.yaml") -> Course:
    """Read, validate and resolve a course file. Every problem raises CourseError naming file and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CourseError(f"{path}: course file not found") from None
    except OSError as exc:
        raise CourseError(f"{path}: cannot read course file: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CourseError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CourseError(f"{path}: expected a mapping of keys (title, grading, assignments, layers) at the top")
    try:
        data = CourseFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _format_location(first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise CourseError(f"{path}: key '{where}': {message}{suffix}") from None
    _check_cross_references(path, data)
    reference = _import_reference(path, data.reference)
    for name in data.layers:
        if not inspect.isclass(getattr(reference, name, None)):
            raise CourseError(f"{path}: key 'layers.{name}': no reference class {name} in {data.reference}/")
    course = Course(path, data, reference)
    # Importing here keeps the layer checks (signatures vs. cases) in one place: layerspec.
    from .layerspec import layer_specs
    layer_specs(course)
    return course

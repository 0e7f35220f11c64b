"""The course as typed values: the schema of course.yaml and the validated Course."""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from autograder.errors import CourseError

Distribution = Literal["normal", "positive", "away_from_zero", "labels"]
Category = Literal["forward", "backward", "hygiene"]
# Gradescope's visibility levels (its autograder specification), least visible first.
Visibility = Literal["hidden", "after_due_date", "after_published", "visible"]


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
    max_disk_mb: int = Field(256, ge=1, le=1 << 20)
    max_files: int = Field(10000, ge=16, le=1 << 30)
    tolerance: Tolerance = Tolerance()
    numerical_step: float = Field(1e-5, gt=0, lt=1)
    # Share of a backward test's points for a backward that differentiates by calling forward.
    numerical_backward_credit: float = Field(0.0, ge=0, le=1)


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
    due: datetime | None = None   # a time without a zone is UTC

    @property
    def max_score(self) -> float:
        return sum(sum(entry.points.values()) for entry in self.layers)


CaseValue = list[int] | list[float] | Literal["index", "onehot"] | bool | float | str


class LayerConfig(_Strict):
    aliases: list[str] = []
    gradients: dict[str, list[str]] = {}
    inputs: dict[str, Distribution] = {}
    cases: list[dict[str, CaseValue]] = Field(min_length=1)
    loss: bool = False
    tolerance: PartialTolerance = PartialTolerance()
    batch: dict[str, int] = {}            # argument -> its batch axis; the battery changes N there
    min_batch: int = Field(1, ge=1)       # the smallest N the layer is defined for (BatchNorm: 3)


class Extension(_Strict):
    student: str
    assignment: str | None = None   # None: every assignment
    days: float = Field(0, ge=0)
    hours: float = Field(0, ge=0)


class LatePolicy(_Strict):
    """penalty percent of the assignment's points for every started hour or day past the due date."""
    penalty: float = Field(0, ge=0, le=100)   # 0: late submissions cost nothing
    per: Literal["hour", "day"] = "day"
    cap: float = Field(100, ge=0, le=100)     # percent of the points a penalty never exceeds
    grace_minutes: float = Field(0, ge=0)
    extensions: list[Extension] = []


class GradescopeSettings(_Strict):
    """When students see each test on Gradescope: per layer, else per test category, else the default."""
    visibility: Visibility = "visible"
    categories: dict[Category, Visibility] = {}
    layers: dict[str, Visibility] = {}


class CourseFile(_Strict):
    title: str
    reference: str = "source_layers"
    grading: Grading = Grading()
    late: LatePolicy = LatePolicy()
    gradescope: GradescopeSettings = GradescopeSettings()
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
    def late(self) -> LatePolicy:
        return self.data.late

    @property
    def gradescope(self) -> GradescopeSettings:
        return self.data.gradescope

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

"""course.yaml read from disk, validated against the schema and tied to the reference classes."""
from __future__ import annotations

import difflib
import importlib.util
import inspect
import sys
from pathlib import Path

import yaml
from pydantic import ValidationError

from autograder.errors import CourseError

from .layerspec import layer_specs
from .model import Course, CourseFile


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
    for index, extension in enumerate(data.late.extensions):
        if extension.assignment is not None and extension.assignment not in seen:
            raise CourseError(f"{path}: key 'late.extensions[{index}].assignment': unknown assignment "
                              f"{extension.assignment!r}; the course has: {', '.join(sorted(seen))}")
    for layer in data.gradescope.layers:
        if layer not in data.layers:
            raise CourseError(f"{path}: key 'gradescope.layers.{layer}': unknown layer {layer!r}; "
                              f"layers configured under 'layers': {', '.join(sorted(data.layers))}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error, not a silent overwrite."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first given on line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}: not valid YAML: {problem}"


def _known_keys() -> set[str]:
    from . import model

    keys: set[str] = set()
    for value in vars(model).values():
        if isinstance(value, type) and issubclass(value, model.BaseModel) and value is not model.BaseModel:
            keys.update(value.model_fields)
    return keys


def _did_you_mean(key: object) -> str:
    close = difflib.get_close_matches(str(key), sorted(_known_keys()), n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""


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
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CourseError(_yaml_problem(path, exc)) from None
    if not isinstance(raw, dict):
        raise CourseError(f"{path}: expected a mapping of keys (title, grading, assignments, layers) at the top")
    try:
        data = CourseFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _format_location(first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key" + _did_you_mean(first["loc"][-1])
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise CourseError(f"{path}: key '{where}': {message}{suffix}") from None
    _check_cross_references(path, data)
    reference = _import_reference(path, data.reference)
    for name in data.layers:
        if not inspect.isclass(getattr(reference, name, None)):
            raise CourseError(f"{path}: key 'layers.{name}': no reference class {name} in {data.reference}/")
    course = Course(path, data, reference)
    layer_specs(course)  # the layer checks (signatures vs. cases) live with the layer specs
    return course

"""What the kit knows about one layer, derived from its reference class and its course config."""
from __future__ import annotations

import functools
import inspect
import sys
from dataclasses import dataclass, field

from .model import Course, LayerConfig, Tolerance
from autograder.errors import CourseError

CASE_OPTIONS = {"scale", "only", "ints", "offset", "magnitude", "numerical"}


@dataclass(frozen=True)
class CaseSpec:
    """One configured test case: a shape (or label format) per argument, and options."""

    shapes: dict[str, tuple[int, ...]]
    labels: dict[str, str]
    scale: float = 1.0
    forward_only: bool = False
    ints: bool = False             # integer inputs: Python ints for scalars, int64 arrays otherwise
    offset: float = 0.0            # added to every drawn input (large logits: c + N(0, 1))
    magnitude: tuple[float, float] | None = None  # |x| uniform in [lo, hi], both signs in every array
    numerical: bool = True         # False: backward is compared with the reference only

    @property
    def stress(self) -> bool:
        """Inputs far from the usual range: a failure there is about numerical stability."""
        return self.scale != 1.0 or self.offset != 0.0 or self.magnitude is not None

    @property
    def numerically_checked(self) -> bool:
        """Integer inputs have no numerical gradient; stress cases may opt out of one."""
        return self.numerical and not self.ints and not self.forward_only

    def resized(self, batch: dict[str, int], n: int) -> "CaseSpec":
        """The same case with every batch axis set to n."""
        shapes = {arg: tuple(n if arg in batch and axis == batch[arg] else d for axis, d in enumerate(shape))
                  for arg, shape in self.shapes.items()}
        return CaseSpec(shapes, self.labels, self.scale, self.forward_only, self.ints, self.offset,
                        self.magnitude, self.numerical)


@dataclass(frozen=True)
class LayerSpec:
    name: str
    cls: type
    aliases: tuple[str, ...]
    params: tuple[str, ...]          # constructor arguments, e.g. ("W", "b")
    inputs: tuple[str, ...]          # forward arguments, e.g. ("x", "t")
    labels: tuple[str, ...]          # forward arguments that are labels, not differentiable
    grad_attrs: dict[str, tuple[str, ...]]  # parameter -> attribute names, canonical first
    distributions: dict[str, str]
    cases: tuple[CaseSpec, ...]
    loss: bool
    tolerance: Tolerance
    mistakes: tuple = field(default=())
    batch: dict[str, int] = field(default_factory=dict)  # argument -> batch axis
    min_batch: int = 1
    numerical_backward_credit: float = 0.0

    @functools.cached_property
    def first_numerical(self) -> int | None:
        """The case that gets a full element-wise numerical gradient: the first one that can."""
        return next((i for i, c in enumerate(self.cases) if c.numerically_checked), None)

    @functools.cached_property
    def state_case(self) -> int:
        """The case whose shapes the state tests use: the first float case with a backward."""
        return next(i for i, c in enumerate(self.cases) if not c.forward_only and not c.ints)

    @functools.cached_property
    def diff_inputs(self) -> tuple[str, ...]:
        return tuple(a for a in self.inputs if a not in self.labels)

    @functools.cached_property
    def gradient_names(self) -> tuple[str, ...]:
        """The names results use: dx, dy for inputs, then dW, db... for parameters."""
        return tuple(f"d{a}" for a in self.diff_inputs) + tuple(self.grad_attrs[p][0] for p in self.params)

    def all_names(self) -> tuple[str, ...]:
        """The canonical class name, then its aliases."""
        return (self.name, *self.aliases)

    def gradient_target(self, grad_name: str) -> str:
        """The argument a gradient belongs to: 'dx' -> 'x', 'dW' -> 'W'."""
        for param in self.params:
            if self.grad_attrs[param][0] == grad_name:
                return param
        return grad_name[1:]


def _positional_names(func, what: str, layer: str, skip_self: bool = True) -> tuple[str, ...]:
    sig = inspect.signature(func)
    names = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise CourseError(f"reference {layer}.{what} must have named arguments, not *args/**kwargs")
        if p.default is not p.empty:
            continue  # e.g. backward(dout=1), forward(x, train_flg=True): optional extras
        names.append(p.name)
    return tuple(names[1:] if skip_self else names)


def build_spec(course: Course, name: str, config: LayerConfig) -> LayerSpec:
    where = f"{course.path}: key 'layers.{name}'"
    cls = course.reference_class(name)
    params = _positional_names(cls.__init__, "__init__", name)
    inputs = _positional_names(cls.forward, "forward", name)
    if not inputs:
        raise CourseError(f"{where}: reference {name}.forward takes no input")
    for arg in config.inputs:
        if arg not in inputs + params:
            raise CourseError(f"{where}.inputs: {arg!r} is not an argument of {name}(...) or "
                              f"{name}.forward(...) (those are: {', '.join(params + inputs)})")
    labels = tuple(a for a, dist in config.inputs.items() if dist == "labels")
    for extra in config.gradients:
        if extra not in params:
            raise CourseError(f"{where}.gradients: {extra!r} is not a constructor argument of {name}")
    grad_attrs = {p: tuple(config.gradients.get(p) or [f"d{p}"]) for p in params}
    cases = []
    for index, raw in enumerate(config.cases):
        here = f"{where}.cases[{index}]"
        unknown = set(raw) - set(params) - set(inputs) - CASE_OPTIONS
        if unknown:
            raise CourseError(f"{here}: unknown key {sorted(unknown)[0]!r} (arguments: "
                              f"{', '.join(params + inputs)}; options: {', '.join(sorted(CASE_OPTIONS))})")
        missing = [a for a in params + inputs if a not in raw]
        if missing:
            raise CourseError(f"{here}: no shape given for {', '.join(missing)}")
        shapes, label_formats = {}, {}
        for arg in params + inputs:
            value = raw[arg]
            if arg in labels:
                if value not in ("index", "onehot"):
                    raise CourseError(f"{here}.{arg}: a label argument takes 'index' or 'onehot', got {value!r}")
                label_formats[arg] = value
            elif isinstance(value, list) and all(isinstance(d, int) and d > 0 for d in value):
                shapes[arg] = tuple(value)
            else:
                raise CourseError(f"{here}.{arg}: expected a shape, a list of positive integers "
                                  f"([] for a scalar), got {value!r}")
        cases.append(_case_options(here, raw, shapes, label_formats))
    if not any(not c.forward_only and not c.ints for c in cases):
        raise CourseError(f"{where}.cases: at least one case must test backward on float inputs "
                          f"(not 'only: forward', not 'ints: true')")
    batch = dict(config.batch)
    # The batch-size test resizes the state tests' case (the first float case with a backward).
    state_index = next(i for i, c in enumerate(cases) if not c.forward_only and not c.ints)
    state_shapes = cases[state_index].shapes
    for arg, axis in batch.items():
        if arg not in params + inputs or arg in labels:
            raise CourseError(f"{where}.batch: {arg!r} is not a non-label argument of {name} "
                              f"(those are: {', '.join(a for a in params + inputs if a not in labels)})")
        if not 0 <= axis < len(state_shapes[arg]):
            raise CourseError(f"{where}.batch.{arg}: axis {axis} does not exist in cases[{state_index}], "
                              f"where {arg} has shape {list(state_shapes[arg])}")
        if state_shapes[arg][axis] < config.min_batch:
            raise CourseError(f"{where}.cases[{state_index}]: {arg} has a batch of {state_shapes[arg][axis]}, "
                              f"below min_batch {config.min_batch}")
    overrides = {k: v for k, v in config.tolerance.model_dump().items() if v is not None}
    tolerance = course.grading.tolerance.model_copy(update=overrides)
    module = sys.modules.get(cls.__module__)
    mistakes = tuple(getattr(module, "MISTAKES", {}).get(name, ()))
    return LayerSpec(name=name, cls=cls, aliases=tuple(config.aliases), params=params, inputs=inputs,
                     labels=labels, grad_attrs=grad_attrs,
                     distributions={a: config.inputs.get(a, "normal") for a in params + inputs},
                     cases=tuple(cases), loss=config.loss, tolerance=tolerance, mistakes=mistakes,
                     batch=batch, min_batch=config.min_batch,
                     numerical_backward_credit=course.grading.numerical_backward_credit)


def _case_options(here: str, raw: dict, shapes: dict, label_formats: dict) -> CaseSpec:
    only = raw.get("only")
    if only not in (None, "forward"):
        raise CourseError(f"{here}.only: expected 'forward' (no backward tests), got {only!r}")
    scale = raw.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
        raise CourseError(f"{here}.scale: expected a positive number, got {scale!r}")
    offset = raw.get("offset", 0.0)
    if isinstance(offset, bool) or not isinstance(offset, (int, float)):
        raise CourseError(f"{here}.offset: expected a number, got {offset!r}")
    magnitude = raw.get("magnitude")
    if magnitude is not None:
        if not (isinstance(magnitude, list) and len(magnitude) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in magnitude)
                and 0 <= magnitude[0] < magnitude[1]):
            raise CourseError(f"{here}.magnitude: expected [low, high] with 0 <= low < high, got {magnitude!r}")
        magnitude = (float(magnitude[0]), float(magnitude[1]))
    for flag in ("ints", "numerical"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise CourseError(f"{here}.{flag}: expected true or false, got {raw[flag]!r}")
    return CaseSpec(shapes, label_formats, float(scale), only == "forward", bool(raw.get("ints", False)),
                    float(offset), magnitude, bool(raw.get("numerical", True)))


@functools.cache  # a Course hashes by identity: one set of specs per loaded course
def layer_specs(course: Course) -> dict[str, LayerSpec]:
    """Every configured layer's spec, in course.yaml order."""
    return {name: build_spec(course, name, cfg) for name, cfg in course.data.layers.items()}

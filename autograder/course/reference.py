"""Run the reference implementation on a case: the expected values every check compares with."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cases import CaseValues, copy_value
from .layerspec import LayerSpec


@dataclass
class Expected:
    out: np.ndarray
    grads: dict[str, np.ndarray]   # keyed by gradient name: dx, dy, dW, db ...


def run_layer(spec: LayerSpec, values: CaseValues, inputs=None):
    """A fresh reference instance, forward on (copies of) the inputs; returns (layer, out)."""
    layer = spec.cls(*(copy_value(values.params[p]) for p in spec.params))
    use = values.inputs if inputs is None else inputs
    out = layer.forward(*(copy_value(use[a]) for a in spec.inputs))
    return layer, out


def reference_forward(spec: LayerSpec, values: CaseValues) -> np.ndarray:
    return np.asarray(run_layer(spec, values)[1], dtype=np.float64)


def reference_backward(spec: LayerSpec, values: CaseValues, ran=None) -> Expected:
    """ran: (layer, out) of a forward already run on these values, reused instead of a second one."""
    layer, out = ran if ran is not None else run_layer(spec, values)
    returned = layer.backward(copy_value(values.dout))
    if len(spec.diff_inputs) == 1:
        returned = (returned,)
    grads = {f"d{a}": np.asarray(g, dtype=np.float64) for a, g in zip(spec.diff_inputs, returned)}
    for param in spec.params:
        name = spec.grad_attrs[param][0]
        grads[name] = np.asarray(getattr(layer, name), dtype=np.float64)
    return Expected(out=np.asarray(out, dtype=np.float64), grads=grads)

"""Central differences and the error metric every comparison in the kit uses.

`relative_error` and `numerical_gradient` are embedded verbatim in the student notebooks' support
cell (see `selfcheck.py`): they use nothing but numpy and carry no annotations."""
from __future__ import annotations

import numpy as np


def relative_error(a, b):
    """||a - b|| / (||a|| + ||b||): scale-free, 0 for equal arrays, 1 for opposite ones.

    Element-wise relative errors blow up near zero and flag correct code; this norm-based
    metric keeps correct layers below 1e-9 and every known bug above 1e-2.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = (a - b).ravel()
    num = np.sqrt(d @ d)
    den = np.sqrt(a.ravel() @ a.ravel()) + np.sqrt(b.ravel() @ b.ravel())
    if den == 0.0:
        return 0.0 if num == 0.0 else float("inf")
    return float(num / den)


def perturbations(value, h: float):
    """Yield (plus, minus) copies of value with one element moved by +h and -h, in C order."""
    base = np.array(value, dtype=np.float64)
    for i in range(base.size):
        plus = base.copy()
        minus = base.copy()
        plus.flat[i] += h
        minus.flat[i] -= h
        if base.ndim == 0:
            yield np.float64(plus), np.float64(minus)
        else:
            yield plus, minus


def gradient_from_outputs(outputs_plus_minus: np.ndarray, dout, h: float, shape) -> np.ndarray:
    """Numerical gradient from the forward outputs at each perturbation.

    outputs_plus_minus has shape (n, 2, *out_shape): f(x + h e_i) and f(x - h e_i) for every
    element i of the argument. Returns sum((f+ - f-) * dout) / 2h for each i, shaped like the argument.
    """
    diff = outputs_plus_minus[:, 0] - outputs_plus_minus[:, 1]
    dout = np.asarray(dout, dtype=np.float64)
    grad = (diff * dout).reshape(diff.shape[0], -1).sum(axis=1) / (2.0 * h)
    return grad.reshape(shape)


def numerical_gradient(f, value, dout, h):
    """Gradient of sum(f(v) * dout) with respect to v, by central differences in float64."""
    base = np.array(value, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros(base.shape)
    for i in range(base.size):
        plus, minus = base.copy(), base.copy()
        plus.flat[i] += h
        minus.flat[i] -= h
        if base.ndim == 0:
            plus, minus = np.float64(plus), np.float64(minus)
        f_plus = np.asarray(f(plus), dtype=np.float64)
        f_minus = np.asarray(f(minus), dtype=np.float64)
        grad.flat[i] = np.sum((f_plus - f_minus) * dout) / (2.0 * h)
    return grad

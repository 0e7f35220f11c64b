"""Activation layers: element-wise non-linearities between affine layers."""
import numpy as np

from .mistakes import Mistake


class Relu:
    r"""Rectified linear unit: $y = \max(0, x)$.

    Local derivative: $\frac{\partial y}{\partial x} = 1$ where $x > 0$ and $0$ where $x \le 0$,
    so backward lets the gradient through exactly where the input was positive.
    Forward remembers that mask.

    Shapes: `x`, `y`, `dout` and `dx` share one shape.
    """

    def __init__(self):
        self.mask = None

    def forward(self, x):
        """Return max(0, x); remember where x <= 0."""
        self.mask = x <= 0
        return np.where(self.mask, 0.0, x)

    def backward(self, dout):
        """Return dx, zero where the input was <= 0. Leaves dout itself untouched."""
        return np.where(self.mask, 0.0, dout)


class Sigmoid:
    r"""Logistic sigmoid: $y = \frac{1}{1 + e^{-x}}$.

    Local derivative: $\frac{\partial y}{\partial x} = y (1 - y)$, written with the
    *output* $y$, so forward keeps its output for backward.

    For large $|x|$ the exponential overflows: `np.exp(1000)` is `inf`, and a formula such as
    `np.exp(x) / (1 + np.exp(x))` then gives `nan`. The grader tests $|x|$ up to about 1200;
    `1 / (1 + np.exp(-x))` survives that (with a warning), and taking the exponential of
    $-|x|$ only, as below, never overflows at all.

    Shapes: `x`, `y`, `dout` and `dx` share one shape.
    """

    def __init__(self):
        self.out = None

    def forward(self, x):
        """Return sigmoid(x) and remember it, without overflow for large |x|."""
        e = np.exp(-np.abs(x))
        self.out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.out

    def backward(self, dout):
        """Return dx = dout * y * (1 - y)."""
        return dout * self.out * (1.0 - self.out)


class Tanh:
    r"""Hyperbolic tangent: $y = \tanh x$.

    Local derivative: $\frac{\partial y}{\partial x} = 1 - y^2$, again in terms of the output.

    Shapes: `x`, `y`, `dout` and `dx` share one shape.
    """

    def __init__(self):
        self.out = None

    def forward(self, x):
        """Return tanh(x) and remember it."""
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        """Return dx = dout * (1 - y**2)."""
        return dout * (1.0 - self.out ** 2)


MISTAKES = {
    "Relu": [
        Mistake("mask taken from dout",
                "the mask in backward was computed from dout: the gradient must be blocked where the "
                "*input x* was <= 0, so compute the mask from x in forward and reuse it in backward.",
                lambda c: {"dx": np.where(c.dout > 0, c.dout, 0.0)}),
        Mistake("mask inverted",
                "the gradient passed where the input was negative and was blocked where it was "
                "positive: zero dout where x <= 0, keep it where x > 0.",
                lambda c: {"dx": np.where(c.x <= 0, c.dout, 0.0)}),
        Mistake("mask never set in forward",
                "forward never stored the mask (self.mask is still None), so out[self.mask] = 0 "
                "zeroed everything: set self.mask = (x <= 0) in forward.",
                lambda c: {"out": np.zeros_like(c.out), "dx": np.zeros_like(c.dout)}),
        Mistake("chained assignment returns 0",
                "backward returned the number 0: `dx = dout[self.mask] = 0` sets dx to 0, not to the "
                "masked dout. Write `dout[self.mask] = 0` and `dx = dout` as two statements "
                "(on a copy of dout).",
                lambda c: {"dx": np.float64(0.0)}),
    ],
    "Sigmoid": [
        Mistake("derivative written with x instead of the output",
                "dx came out as dout * x * (1 - x): the derivative is y * (1 - y) with y the "
                "*output* of forward (self.out), not the input.",
                lambda c: {"dx": c.dout * c.x * (1.0 - c.x)}),
        Mistake("missing the factor y",
                "dx came out as dout * (1 - y): the derivative is y * (1 - y).",
                lambda c: {"dx": c.dout * (1.0 - c.out)}),
        Mistake("missing the factor (1 - y)",
                "dx came out as dout * y: the derivative is y * (1 - y).",
                lambda c: {"dx": c.dout * c.out}),
    ],
    "Tanh": [
        Mistake("derivative written with x instead of the output",
                "dx came out as dout * (1 - x**2): the derivative is 1 - y**2 with y = tanh(x), the output.",
                lambda c: {"dx": c.dout * (1.0 - c.x ** 2)}),
        Mistake("square in the wrong place",
                "dx came out as dout * (1 - y)**2: the derivative is 1 - y**2.",
                lambda c: {"dx": c.dout * (1.0 - c.out) ** 2}),
        Mistake("missing the square",
                "dx came out as dout * (1 - y): the derivative is 1 - y**2.",
                lambda c: {"dx": c.dout * (1.0 - c.out)}),
    ],
}

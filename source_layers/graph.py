"""Computational-graph nodes: the building blocks of backpropagation.

Each node remembers what its backward pass needs during forward, and turns the
upstream gradient ``dout`` into one gradient per input with the chain rule.
"""
import numpy as np

from .mistakes import Mistake


class MulLayer:
    r"""Multiplication node: $z = x \cdot y$ (element-wise).

    Local derivatives: $\frac{\partial z}{\partial x} = y$, $\frac{\partial z}{\partial y} = x$,
    so the node swaps its inputs on the way back:
    $dx = dout \cdot y$, $dy = dout \cdot x$.

    Shapes: `x`, `y`, `dout`, `dx` and `dy` all share one shape (scalars work too).
    """

    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        """Return x * y and remember both inputs for backward."""
        self.x = x
        self.y = y
        return x * y

    def backward(self, dout):
        """Return (dx, dy), the gradients of the loss with respect to x and y."""
        dx = dout * self.y
        dy = dout * self.x
        return dx, dy


class AddLayer:
    r"""Addition node: $z = x + y$.

    Local derivatives: $\frac{\partial z}{\partial x} = \frac{\partial z}{\partial y} = 1$,
    so the upstream gradient passes through unchanged to both inputs.

    Shapes: `x`, `y`, `dout`, `dx` and `dy` all share one shape.
    """

    def __init__(self):
        pass

    def forward(self, x, y):
        """Return x + y."""
        return x + y

    def backward(self, dout):
        """Return (dx, dy)."""
        dx = dout * 1
        dy = dout * 1
        return dx, dy


class SubLayer:
    r"""Subtraction node: $z = x - y$.

    Local derivatives: $\frac{\partial z}{\partial x} = 1$, $\frac{\partial z}{\partial y} = -1$.

    Shapes: `x`, `y`, `dout`, `dx` and `dy` all share one shape.
    """

    def __init__(self):
        pass

    def forward(self, x, y):
        """Return x - y."""
        return x - y

    def backward(self, dout):
        """Return (dx, dy)."""
        dx = dout * 1
        dy = dout * -1
        return dx, dy


class DivLayer:
    r"""Division node: $z = x / y$.

    Local derivatives: $\frac{\partial z}{\partial x} = \frac{1}{y}$,
    $\frac{\partial z}{\partial y} = -\frac{x}{y^2}$.

    Shapes: `x`, `y`, `dout`, `dx` and `dy` all share one shape; `y` is never 0.
    """

    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        """Return x / y and remember both inputs for backward."""
        self.x = x
        self.y = y
        return x / y

    def backward(self, dout):
        """Return (dx, dy)."""
        dx = dout / self.y
        dy = -dout * self.x / self.y ** 2
        return dx, dy


class ExpLayer:
    r"""Exponential node: $z = e^x$.

    Local derivative: $\frac{\partial z}{\partial x} = e^x = z$, so keeping the output
    from forward makes backward free: $dx = dout \cdot z$.

    Shapes: `x`, `dout` and `dx` share one shape.
    """

    def __init__(self):
        self.out = None

    def forward(self, x):
        """Return exp(x) and remember it."""
        self.out = np.exp(x)
        return self.out

    def backward(self, dout):
        """Return dx."""
        return dout * self.out


class LogLayer:
    r"""Natural-logarithm node: $z = \ln x$ for $x > 0$.

    Local derivative: $\frac{\partial z}{\partial x} = \frac{1}{x}$, so $dx = dout / x$.

    Shapes: `x`, `dout` and `dx` share one shape.
    """

    def __init__(self):
        self.x = None

    def forward(self, x):
        """Return log(x) and remember x."""
        self.x = x
        return np.log(x)

    def backward(self, dout):
        """Return dx."""
        return dout / self.x


MISTAKES = {
    "MulLayer": [
        Mistake("gradients not swapped",
                "dx came out as dout * x and dy as dout * y (or backward returned (dy, dx)): each "
                "input's gradient is the upstream gradient times the *other* input, "
                "dx = dout * y and dy = dout * x, returned in the order (dx, dy).",
                lambda c: {"dx": c.dout * c.x, "dy": c.dout * c.y}),
    ],
    "AddLayer": [
        Mistake("gradient multiplied by the input",
                "an addition node passes dout through unchanged (local derivative 1); do not multiply by x or y.",
                lambda c: {"dx": c.dout * c.x, "dy": c.dout * c.y}),
    ],
    "SubLayer": [
        Mistake("missing minus sign on dy",
                "dy came out as +dout: since z = x - y, dz/dy = -1, so dy = -dout.",
                lambda c: {"dy": c.dout}),
        Mistake("minus sign on the wrong input",
                "the minus sign belongs to dy, not dx: dx = dout, dy = -dout.",
                lambda c: {"dx": -c.dout, "dy": c.dout}),
    ],
    "DivLayer": [
        Mistake("dy uses y instead of x",
                "dy came out as -dout * y / y**2: the derivative of x/y with respect to y is -x / y**2, "
                "so dy = -dout * x / y**2.",
                lambda c: {"dy": -c.dout * c.y / c.y ** 2}),
        Mistake("dy missing its minus sign",
                "dy has the right size but the wrong sign: d(x/y)/dy = -x / y**2.",
                lambda c: {"dy": c.dout * c.x / c.y ** 2}),
        Mistake("dx multiplies by y",
                "dx came out as dout * y: the derivative of x/y with respect to x is 1/y, so dx = dout / y.",
                lambda c: {"dx": c.dout * c.y}),
    ],
    "ExpLayer": [
        Mistake("dx uses x instead of exp(x)",
                "dx came out as dout * x: the derivative of exp(x) is exp(x) itself, so dx = dout * out.",
                lambda c: {"dx": c.dout * c.x}),
        Mistake("exp applied to dout",
                "dx came out as exp(dout): multiply instead, dx = dout * exp(x).",
                lambda c: {"dx": np.exp(c.dout)}),
    ],
    "LogLayer": [
        Mistake("dx multiplies by x",
                "dx came out as dout * x: the derivative of log(x) is 1/x, so dx = dout / x.",
                lambda c: {"dx": c.dout * c.x}),
        Mistake("dx uses the output",
                "dx came out as dout / log(x): divide by the input x, not by the output.",
                lambda c: {"dx": c.dout / np.log(c.x)}),
    ],
}

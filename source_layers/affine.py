"""Layers with learnable parameters: weights and biases get gradients of their own."""
import numpy as np

from .mistakes import Mistake


class ScalarAffine:
    r"""A one-weight neuron: $y = w x + b$ with scalar parameters $w$ and $b$.

    Local derivatives: $\frac{\partial y}{\partial x} = w$, $\frac{\partial y}{\partial w} = x$,
    $\frac{\partial y}{\partial b} = 1$. Backward returns $dx$ and stores the parameter
    gradients in `self.dw` and `self.db`.

    Shapes: everything is a scalar.
    """

    def __init__(self, w, b):
        self.w = w
        self.b = b
        self.x = None
        self.dw = None
        self.db = None

    def forward(self, x):
        """Return w * x + b and remember x."""
        self.x = x
        return self.w * x + self.b

    def backward(self, dout):
        """Store dw and db, return dx."""
        self.dw = dout * self.x
        self.db = dout * 1.0
        return dout * self.w


class Affine:
    r"""Fully connected layer: $Y = X W + b$ for a batch $X$ of $N$ rows.

    Local derivatives, with $dY$ the upstream gradient:
    $dX = dY\, W^\top$, $dW = X^\top dY$, $db = \sum_{n} dY_{n,:}$ (the bias is added to
    every row, so its gradient sums over the batch).

    Shapes: `x` is (N, D), or (N, ...) which forward flattens to (N, D); `W` is (D, M);
    `b` is (M,); `out` and `dout` are (N, M). `dx` has the *original* shape of `x`,
    `dW` the shape of `W`, `db` the shape of `b`.
    """

    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None

    def forward(self, x):
        """Return x @ W + b, with x flattened to (N, D) first."""
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W + self.b

    def backward(self, dout):
        """Store dW and db, return dx in the original shape of x."""
        dx = dout @ self.W.T
        self.dW = self.x.T @ dout
        self.db = np.sum(dout, axis=0)
        return dx.reshape(self.original_x_shape)


def _flat(x):
    return x.reshape(x.shape[0], -1)


MISTAKES = {
    "ScalarAffine": [
        Mistake("dx uses x instead of w",
                "dx came out as dout * x: the derivative of w*x + b with respect to x is w.",
                lambda c: {"dx": c.dout * c.x}),
        Mistake("dw forgets x",
                "dw came out as dout: the derivative of w*x + b with respect to w is x, so dw = dout * x.",
                lambda c: {"dw": c.dout}),
        Mistake("dw and dx swapped",
                "dx and dw are swapped: dx = dout * w and dw = dout * x.",
                lambda c: {"dx": c.dout * c.x, "dw": c.dout * c.w}),
    ],
    "Affine": [
        Mistake("dW transposed",
                "you computed dW = dout.T @ x, which has the transposed shape: use dW = x.T @ dout "
                "so that dW has the shape of W, (D, M).",
                lambda c: {"dW": c.dout.T @ _flat(c.x)}),
        Mistake("db not summed over the batch",
                "db is dout itself: the bias is added to every row, so sum dout over the batch "
                "axis, db = np.sum(dout, axis=0).",
                lambda c: {"db": c.dout}),
        Mistake("db summed over the wrong axis",
                "db was summed over axis=1 (the features): sum over the batch, axis=0.",
                lambda c: {"db": c.dout.sum(axis=1)}),
        Mistake("db averaged instead of summed",
                "db is the mean of dout over the batch: the bias gradient is the sum, "
                "np.sum(dout, axis=0), not the mean.",
                lambda c: {"db": c.dout.mean(axis=0)}),
        Mistake("dx not reshaped back",
                "dx has the flattened shape (N, D): reshape it back to the original shape of x "
                "(remember x.shape in forward).",
                lambda c: {"dx": c.dout @ c.W.T}),
    ],
}

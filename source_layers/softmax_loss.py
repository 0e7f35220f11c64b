"""The output layer and its loss, fused so that backward is simple and stable."""
import numpy as np

from .functions import cross_entropy_error, softmax
from .mistakes import Mistake


class SoftmaxWithLoss:
    r"""Softmax followed by the mean cross-entropy loss over a batch.

    Forward: $y = \mathrm{softmax}(x)$ row by row, loss $L = -\frac{1}{N}\sum_n \log y_{n, t_n}$.
    Backward: $dx = \frac{y - t}{N}$ with $t$ one-hot; the $\frac{1}{N}$ comes from the mean.

    Shapes: `x` is (N, C) logits; `t` is (N,) class indices or (N, C) one-hot rows;
    the loss is a scalar; `dx` is (N, C). `backward(dout=1)`: this is the last layer,
    so its upstream gradient is 1.
    """

    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        """Return the mean cross-entropy loss of softmax(x) against labels t."""
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        """Return dx = (y - t) / N."""
        batch_size = self.y.shape[0]
        dx = self.y.copy()
        if self.t.shape == self.y.shape:
            dx -= self.t
        else:
            dx[np.arange(batch_size), self.t] -= 1
        return dx * dout / batch_size


def _onehot(c):
    if c.t.shape == c.x.shape:
        return c.t
    t = np.zeros_like(c.x)
    t[np.arange(c.x.shape[0]), c.t] = 1.0
    return t


def _unstable_softmax(c):
    with np.errstate(all="ignore"):
        e = np.exp(c.x)
        return e / e.sum(axis=1, keepdims=True)


def _unstable(c):
    y = _unstable_softmax(c)
    with np.errstate(all="ignore"):
        return {"out": cross_entropy_error(y, c.t), "dx": (y - _onehot(c)) / c.x.shape[0]}


MISTAKES = {
    "SoftmaxWithLoss": [
        Mistake("backward not divided by the batch size",
                "dx is N times too large: the loss is a mean over the batch, so dx = (y - t) / N.",
                lambda c: {"dx": softmax(c.x) - _onehot(c)}),
        Mistake("backward divided by the number of classes",
                "dx was divided by the number of classes C: divide by the batch size N = x.shape[0].",
                lambda c: {"dx": (softmax(c.x) - _onehot(c)) / c.x.shape[1]}),
        Mistake("loss not averaged over the batch",
                "the loss is N times too large: cross_entropy_error returns the mean over the batch; "
                "do not sum per-sample losses.",
                lambda c: {"out": c.out * c.x.shape[0]}),
        Mistake("softmax without subtracting the maximum",
                "large logits made exp overflow: subtract each row's maximum before np.exp "
                "(softmax is unchanged by that shift).",
                _unstable),
    ],
}

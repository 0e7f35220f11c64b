"""Window layers: convolution and max pooling, computed as matrix products over im2col rows."""
import numpy as np

from .mistakes import Mistake
from .util import col2im, im2col


class Convolution:
    r"""2-D convolution (cross-correlation, as in every deep-learning library) of a batch of images.

    With $FN$ filters of size $C \times FH \times FW$, stride $s$ and zero padding $p$:
    $y_{n,f,i,j} = b_f + \sum_{c,u,v} W_{f,c,u,v}\, x^{pad}_{n,c,\,is+u,\,js+v}$, and the output is
    $OH = \frac{H + 2p - FH}{s} + 1$ by $OW = \frac{W + 2p - FW}{s} + 1$.

    With `im2col`, every window becomes a row of `col` (N·OH·OW, C·FH·FW), the filters the columns
    of `col_W = W.reshape(FN, -1).T`, and forward is one product `col @ col_W + b`, of shape
    (N·OH·OW, FN), reshaped to (N, OH, OW, FN) and **transposed** to (N, FN, OH, OW).

    Backward undoes each step: `dout` transposed to (N, OH, OW, FN) and flattened to
    (N·OH·OW, FN) is $dY$; then $db = \sum dY$ over the rows, $dW = col^\top dY$
    (shape (C·FH·FW, FN), transposed back and reshaped to (FN, C, FH, FW)), and
    $d\,col = dY\, col\_W^\top$, folded back by `col2im`, which **adds** the gradients of
    overlapping windows.

    Shapes: `x` (N, C, H, W); `W` (FN, C, FH, FW); `b` (FN,); `out` and `dout`
    (N, FN, OH, OW); `dx`, `dW`, `db` the shapes of `x`, `W`, `b`. `stride` and `pad` are
    constructor arguments.
    """

    def __init__(self, W, b, stride=1, pad=0):
        self.W = W
        self.b = b
        self.stride = stride
        self.pad = pad
        self.x = None
        self.col = None
        self.col_W = None
        self.dW = None
        self.db = None

    def forward(self, x):
        """Return the convolution of x with the filters W, plus b."""
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = (H + 2 * self.pad - FH) // self.stride + 1
        out_w = (W + 2 * self.pad - FW) // self.stride + 1
        col = im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T
        out = col @ col_W + self.b
        self.x = x
        self.col = col
        self.col_W = col_W
        return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)

    def backward(self, dout):
        """Store dW and db, return dx."""
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = (self.col.T @ dout).transpose(1, 0).reshape(FN, C, FH, FW)
        dcol = dout @ self.col_W.T
        return col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class Pooling:
    r"""Max pooling: each $PH \times PW$ window of each channel is replaced by its largest value.

    Output size: $OH = \frac{H + 2p - PH}{s} + 1$, $OW = \frac{W + 2p - PW}{s} + 1$, channel
    by channel. With `im2col`, reshape the rows to one window per row (·, PH·PW), take the
    maximum of each row and remember **where** it was (`arg_max`); reshape to
    (N, OH, OW, C) and transpose to (N, C, OH, OW).

    Local derivative: the maximum passes its gradient to the one element that was largest
    and nothing to the others: $\frac{\partial y}{\partial x_k} = 1$ if $x_k$ is the window's
    maximum, else 0. Backward writes each `dout` value at its window's `arg_max` in an array
    of zeros (·, PH·PW), and `col2im` folds it back, **adding** where windows overlap.

    Shapes: `x` (N, C, H, W); `out` and `dout` (N, C, OH, OW); `dx` the shape of `x`.
    `pool_h`, `pool_w`, `stride` and `pad` are constructor arguments; this course keeps
    `pad` at 0.
    """

    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        self.pool_h = pool_h
        self.pool_w = pool_w
        self.stride = stride
        self.pad = pad
        self.x = None
        self.arg_max = None

    def forward(self, x):
        """Return the maximum of every window, remembering where it was."""
        N, C, H, W = x.shape
        out_h = (H + 2 * self.pad - self.pool_h) // self.stride + 1
        out_w = (W + 2 * self.pad - self.pool_w) // self.stride + 1
        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(-1, self.pool_h * self.pool_w)
        self.x = x
        self.arg_max = np.argmax(col, axis=1)
        out = np.max(col, axis=1)
        return out.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)

    def backward(self, dout):
        """Route each gradient to its window's maximum, return dx."""
        dout = dout.transpose(0, 2, 3, 1)
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size))
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], -1)
        return col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)


# --- what the catalog's wrong formulas produce ------------------------------------------------
# The namespace holds x, W, b (or pool_h, pool_w), stride, pad, dout and the reference out.

def col2im_assigning(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """col2im written with `=` where `+=` belongs: overlapping windows overwrite each other."""
    N, C, H, W = input_shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1))
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            img[:, :, y:y_max:stride, x:x_max:stride] = col[:, :, y, x, :, :]
    return img[:, :, pad:H + pad, pad:W + pad]


def _conv_parts(c):
    FN, C, FH, FW = c.W.shape
    N, _, H, W = c.x.shape
    out_h = (H + 2 * c.pad - FH) // c.stride + 1
    out_w = (W + 2 * c.pad - FW) // c.stride + 1
    col = im2col(c.x, FH, FW, c.stride, c.pad)
    return col, c.W.reshape(FN, -1).T, (N, out_h, out_w, FN)


def _conv_dy(c):
    return c.dout.transpose(0, 2, 3, 1).reshape(-1, c.W.shape[0])


def _conv_dx(c, dy=None, fold=col2im):
    col, col_W, _ = _conv_parts(c)
    dy = _conv_dy(c) if dy is None else dy
    return fold(dy @ col_W.T, c.x.shape, c.W.shape[2], c.W.shape[3], c.stride, c.pad)


def _conv_reshape_only(c):
    col, col_W, (N, oh, ow, FN) = _conv_parts(c)
    return (col @ col_W + c.b).reshape(N, FN, oh, ow)


CONVOLUTION_MISTAKES = [
    Mistake("output reshaped without the transpose",
            "forward reshaped (N*OH*OW, FN) straight to (N, FN, OH, OW): the rows are ordered (n, i, j) "
            "with the filters last, so reshape to (N, OH, OW, FN) and then .transpose(0, 3, 1, 2).",
            lambda c: {"out": _conv_reshape_only(c)}),
    Mistake("dW reshaped without the transpose",
            "col.T @ dout has shape (C*FH*FW, FN): transpose it to (FN, C*FH*FW) before reshaping to "
            "(FN, C, FH, FW), dW = (col.T @ dout).T.reshape(FN, C, FH, FW).",
            lambda c: {"dW": (_conv_parts(c)[0].T @ _conv_dy(c)).reshape(c.W.shape)}),
    Mistake("dout reshaped without the transpose",
            "backward reshaped dout (N, FN, OH, OW) straight to (N*OH*OW, FN): transpose it to "
            "(N, OH, OW, FN) first, dout.transpose(0, 2, 3, 1).reshape(-1, FN).",
            lambda c: {"dx": _conv_dx(c, dy=c.dout.reshape(-1, c.W.shape[0])),
                       "dW": (_conv_parts(c)[0].T @ c.dout.reshape(-1, c.W.shape[0])).T.reshape(c.W.shape)}),
    Mistake("col2im assigns instead of adding",
            "where windows overlap, col2im must add every window's gradient (+=); assigning (=) keeps only "
            "the last window's.",
            lambda c: {"dx": _conv_dx(c, fold=col2im_assigning)}),
    Mistake("db summed over the batch only",
            "db must sum dout over the batch and both spatial axes: np.sum(dout, axis=(0, 2, 3)), shape (FN,).",
            lambda c: {"db": c.dout.sum(axis=0)}),
]


def _pool_cols(c):
    N, C, H, W = c.x.shape
    out_h = (H + 2 * c.pad - c.pool_h) // c.stride + 1
    out_w = (W + 2 * c.pad - c.pool_w) // c.stride + 1
    col = im2col(c.x, c.pool_h, c.pool_w, c.stride, c.pad).reshape(-1, c.pool_h * c.pool_w)
    return col, (N, C, out_h, out_w)


def _pool_dx(c, dmax_of, fold=col2im, dout=None):
    col, _ = _pool_cols(c)
    d = (c.dout.transpose(0, 2, 3, 1) if dout is None else dout).reshape(-1)
    return fold(dmax_of(col, d), c.x.shape, c.pool_h, c.pool_w, c.stride, c.pad)


def _route_to_max(col, d):
    dmax = np.zeros(col.shape)
    dmax[np.arange(col.shape[0]), np.argmax(col, axis=1)] = d
    return dmax


POOLING_MISTAKES = [
    Mistake("gradient sent to every element of the window",
            "backward gave the whole window the gradient: only the maximum affects the output, so only "
            "the element at arg_max gets dout; the others get 0.",
            lambda c: {"dx": _pool_dx(c, lambda col, d: np.repeat(d[:, None], col.shape[1], axis=1))}),
    Mistake("gradient averaged over the window",
            "backward spread dout / (pool_h * pool_w) over the window: that is average pooling's "
            "gradient. Max pooling sends all of dout to the window's maximum.",
            lambda c: {"dx": _pool_dx(c, lambda col, d: np.repeat(d[:, None], col.shape[1], axis=1)
                                      / col.shape[1])}),
    Mistake("output reshaped without the transpose",
            "the maxima are ordered (n, i, j, c): reshape them to (N, OH, OW, C) and then "
            ".transpose(0, 3, 1, 2), not straight to (N, C, OH, OW).",
            lambda c: {"out": np.max(_pool_cols(c)[0], axis=1).reshape(_pool_cols(c)[1])}),
    Mistake("dout not transposed in backward",
            "backward flattened dout (N, C, OH, OW) as it is: transpose it to (N, OH, OW, C) first so "
            "its order matches the rows of arg_max.",
            lambda c: {"dx": _pool_dx(c, _route_to_max, dout=c.dout)}),
    Mistake("col2im assigns instead of adding",
            "where windows overlap, col2im must add every window's gradient (+=); assigning (=) keeps only "
            "the last window's.",
            lambda c: {"dx": _pool_dx(c, _route_to_max, fold=col2im_assigning)}),
]

MISTAKES = {"Convolution": CONVOLUTION_MISTAKES, "Pooling": POOLING_MISTAKES}

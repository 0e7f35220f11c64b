"""Layers that behave differently in training and at test time: dropout and batch normalization."""
import numpy as np

from .mistakes import Mistake


class Dropout:
    r"""Dropout: in training, each element is kept with probability $1 - r$ and zeroed otherwise.

    Forward in training (`train_flg=True`) draws a fresh mask $m$ with
    `np.random.rand(*x.shape) > dropout_ratio` and returns $y = x \odot m$. At test time
    (`train_flg=False`) nothing is dropped; to keep the expected output the same as in
    training, the output is scaled: $y = (1 - r)\, x$.

    Local derivative: $\frac{\partial y}{\partial x} = m$, so backward returns $dx = dout \odot m$
    with **the mask of the latest forward** (never draw a new one in backward).

    Shapes: `x`, `out`, `dout` and `dx` all have the same shape; `self.mask` too.

    Convention of this course: the book's, *scaled at test time* (`dropout_ratio` is the
    probability of dropping). Inverted dropout (divide by $1 - r$ in training, identity at test
    time) is the other common convention; the instructor chooses one in course.yaml.
    """

    def __init__(self, dropout_ratio=0.5):
        self.dropout_ratio = dropout_ratio
        self.mask = None

    def forward(self, x, train_flg=True):
        """Training: drop elements at random and remember which; test: scale by 1 - ratio."""
        if train_flg:
            self.mask = np.random.rand(*x.shape) > self.dropout_ratio
            return x * self.mask
        return x * (1.0 - self.dropout_ratio)

    def backward(self, dout):
        """Return dx = dout * mask, with the mask of the latest forward."""
        return dout * self.mask


class BatchNormalization:
    r"""Batch normalization: each feature normalised over the batch, then scaled and shifted.

    Forward in training, over the batch of $N$ rows: $\mu = \frac{1}{N}\sum_n x_n$,
    $\sigma^2 = \frac{1}{N}\sum_n (x_n - \mu)^2$ (divide by $N$, not $N - 1$),
    $\hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}$, $y = \gamma \hat x + \beta$, with
    $\epsilon = 10^{-6}$. It also updates the running statistics used at test time:
    $\text{running} \leftarrow m \cdot \text{running} + (1 - m) \cdot \text{batch}$ with
    $m$ = `momentum`; they start at zeros on the first forward when not given.
    At test time (`train_flg=False`) $\mu$ and $\sigma^2$ are the running statistics, which stay
    unchanged.

    Backward (training), with $dy$ the upstream gradient:
    $d\beta = \sum_n dy_n$, $d\gamma = \sum_n dy_n \odot \hat x_n$, and with
    $d\hat x = \gamma\, dy$:
    $dx = \frac{1}{N\sqrt{\sigma^2+\epsilon}}\left(N\, d\hat x - \sum_n d\hat x_n
    - \hat x \odot \sum_n d\hat x_n \odot \hat x_n\right)$.
    The middle term is the path through $\mu$; the last one the path through $\sigma^2$.

    Shapes: `x` is (N, D), or (N, C, H, W), which this course treats as (N, C·H·W): one
    mean and variance per element of a sample, as the book does; `gamma`, `beta`, `dgamma`,
    `dbeta`, `running_mean`, `running_var` are (D,); `out`, `dout`, `dx` have the shape of `x`.
    """

    def __init__(self, gamma, beta, momentum=0.9, running_mean=None, running_var=None):
        self.gamma = gamma
        self.beta = beta
        self.momentum = momentum
        self.running_mean = running_mean
        self.running_var = running_var
        self.input_shape = None
        self.xc = None
        self.xn = None
        self.std = None
        self.batch_size = None
        self.dgamma = None
        self.dbeta = None

    def forward(self, x, train_flg=True):
        """Normalise with batch statistics (training) or running statistics (test)."""
        self.input_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        if self.running_mean is None:
            self.running_mean = np.zeros(x.shape[1])
            self.running_var = np.zeros(x.shape[1])
        if train_flg:
            mu = x.mean(axis=0)
            xc = x - mu
            var = np.mean(xc ** 2, axis=0)
            std = np.sqrt(var + 1e-6)
            self.batch_size = x.shape[0]
            self.xc = xc
            self.xn = xc / std
            self.std = std
            self.running_mean = self.momentum * self.running_mean + (1 - self.momentum) * mu
            self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var
            xn = self.xn
        else:
            xn = (x - self.running_mean) / np.sqrt(self.running_var + 1e-6)
        out = self.gamma * xn + self.beta
        return out.reshape(self.input_shape)

    def backward(self, dout):
        """Store dgamma and dbeta, return dx in the shape of x."""
        dout = dout.reshape(dout.shape[0], -1)
        self.dbeta = dout.sum(axis=0)
        self.dgamma = np.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -np.sum((dxn * self.xc) / (self.std * self.std), axis=0)
        dvar = 0.5 * dstd / self.std
        dxc = dxc + (2.0 / self.batch_size) * self.xc * dvar
        dmu = np.sum(dxc, axis=0)
        dx = dxc - dmu / self.batch_size
        return dx.reshape(self.input_shape)


# --- what the catalog's wrong formulas produce ------------------------------------------------
# A case's namespace holds the arguments (x, gamma, ...), the hyperparameters (dropout_ratio,
# momentum), `mode` ('train' or 'test'), `seed` (numpy's global seed before the graded forward),
# `backward_seed` (the seed before backward), `warmup` (inputs of the train forwards that came
# first, with `warmup_seeds`), `dout` and the reference output `out`.

def _book_mask(c, seed=None, ratio=None):
    state = np.random.RandomState(c.seed if seed is None else seed)
    return state.random_sample(np.shape(c.x)) > (c.dropout_ratio if ratio is None else ratio)


def _train_only(c, values):
    return values if c.mode == "train" else {}


def _test_only(c, values):
    return values if c.mode == "test" else {}


DROPOUT_MISTAKES = [
    Mistake("inverted dropout (scaled in training)",
            "your layer divides by 1 - dropout_ratio in training and leaves test outputs unscaled: that is "
            "inverted dropout. This course scales at test time: return x * mask in training and "
            "x * (1 - dropout_ratio) at test time (the instructor can switch the convention in course.yaml).",
            lambda c: _train_only(c, {"out": c.x * _book_mask(c) / (1 - c.dropout_ratio)})),
    Mistake("test output not scaled",
            "at test time your forward returns x unchanged (as inverted dropout does): in this course the "
            "output is scaled at test time by the keep probability, x * (1 - dropout_ratio), to match "
            "training on average.",
            lambda c: _test_only(c, {"out": c.x})),
    Mistake("test output scaled by the drop ratio",
            "at test time you multiplied by dropout_ratio, the probability of *dropping*: scale by the "
            "probability of keeping, x * (1 - dropout_ratio).",
            lambda c: _test_only(c, {"out": c.x * c.dropout_ratio})),
    Mistake("keep and drop probability swapped",
            "your layer keeps elements with probability dropout_ratio: dropout_ratio is the probability of "
            "dropping, so keep where np.random.rand(*x.shape) > dropout_ratio.",
            lambda c: ({"out": c.x * _book_mask(c, ratio=1 - c.dropout_ratio)} if c.mode == "train"
                       else {"out": c.x * c.dropout_ratio})),
    Mistake("mask redrawn in backward",
            "backward drew a new random mask: it must use the mask forward stored (self.mask), or the "
            "gradient belongs to a different network than the output.",
            lambda c: _train_only(c, {"dx": c.dout * _book_mask(c, seed=c.backward_seed)})),
    Mistake("mask not applied in backward",
            "backward returned dout unchanged: dropped elements get no gradient, dx = dout * self.mask.",
            lambda c: _train_only(c, {"dx": c.dout})),
    Mistake("dropout applied at test time",
            "at test time nothing is dropped: with train_flg=False return x * (1 - dropout_ratio) "
            "without drawing a mask.",
            lambda c: _test_only(c, {"out": c.x * _book_mask(c)})),
]


def _bn_train(x, gamma, beta, eps=1e-6, ddof=0):
    x = x.reshape(x.shape[0], -1)
    mu = x.mean(axis=0)
    var = x.var(axis=0, ddof=ddof)
    return mu, var, gamma * (x - mu) / np.sqrt(var + eps) + beta


def _bn_running(c, swapped=False, ddof=0, frozen=False):
    """The running statistics after the warmup forwards and (in training) the graded one."""
    d = int(np.prod(np.shape(c.x)[1:]))
    mean, var = np.zeros(d), np.zeros(d)
    batches = list(c.warmup) + ([c.x] if c.mode == "train" else [])
    m = c.momentum
    for x in batches:
        mu, v, _ = _bn_train(np.asarray(x), c.gamma, c.beta, ddof=ddof)
        if frozen:
            continue
        if swapped:
            mean, var = (1 - m) * mean + m * mu, (1 - m) * var + m * v
        else:
            mean, var = m * mean + (1 - m) * mu, m * var + (1 - m) * v
    return mean, var


def _bn_test_out(c, **variant):
    mean, var = _bn_running(c, **variant)
    x = np.asarray(c.x).reshape(np.shape(c.x)[0], -1)
    return (c.gamma * (x - mean) / np.sqrt(var + 1e-6) + c.beta).reshape(np.shape(c.x))


def _bn_state(c, **variant):
    mean, var = _bn_running(c, **variant)
    return {"running_mean": mean, "running_var": var}


def _bn_parts(c):
    x = np.asarray(c.x).reshape(np.shape(c.x)[0], -1)
    dout = np.asarray(c.dout).reshape(x.shape)
    mu, var, _ = _bn_train(x, c.gamma, c.beta)
    std = np.sqrt(var + 1e-6)
    return x, dout, (x - mu) / std, std


def _bn_dx(c, mean_term=True, var_term=True):
    x, dout, xn, std = _bn_parts(c)
    n = x.shape[0]
    dxn = c.gamma * dout
    dx = dxn / std
    if var_term:
        dx = dx - xn * np.sum(dxn * xn, axis=0) / (n * std)
    if mean_term:
        dx = dx - np.sum(dxn, axis=0) / (n * std)
    return dx.reshape(np.shape(c.x))


def _bn_sums(c, keepdims=False, axis=0):
    x, dout, xn, _ = _bn_parts(c)
    return {"dgamma": np.sum(xn * dout, axis=axis, keepdims=keepdims),
            "dbeta": np.sum(dout, axis=axis, keepdims=keepdims)}


BATCHNORM_MISTAKES = [
    Mistake("dgamma and dbeta summed over everything",
            "dgamma and dbeta came out as single numbers: sum over the batch only, "
            "np.sum(dout * xn, axis=0) and np.sum(dout, axis=0), so they have the shape of gamma and beta.",
            lambda c: _train_only(c, _bn_sums(c, axis=None))),
    Mistake("dgamma and dbeta summed with keepdims",
            "dgamma and dbeta have shape (1, D): sum with axis=0 and without keepdims, so they have the "
            "shape (D,) of gamma and beta.",
            lambda c: _train_only(c, _bn_sums(c, keepdims=True))),
    Mistake("dgamma and dbeta summed over the features",
            "dgamma and dbeta were summed over axis=1 (the features): sum over the batch, axis=0.",
            lambda c: _train_only(c, _bn_sums(c, axis=1))),
    Mistake("dx missing the mean term",
            "dx lacks the path through the batch mean: since mu depends on every x, subtract "
            "np.sum(dxc, axis=0) / N from dxc (dx = dxc - dmu / N).",
            lambda c: _train_only(c, {"dx": _bn_dx(c, mean_term=False)})),
    Mistake("dx missing the variance term",
            "dx lacks the path through the batch variance: add (2 / N) * xc * dvar, with "
            "dvar = -0.5 * np.sum(dxn * xc, axis=0) / std**3, before subtracting the mean term.",
            lambda c: _train_only(c, {"dx": _bn_dx(c, var_term=False)})),
    Mistake("dx treats the statistics as constants",
            "dx = gamma * dout / std treats mu and the variance as constants: both depend on x, which "
            "adds the mean and variance terms of the formula.",
            lambda c: _train_only(c, {"dx": _bn_dx(c, mean_term=False, var_term=False)})),
    Mistake("variance with N - 1 (ddof=1)",
            "the variance was divided by N - 1: batch normalization uses the batch's own variance, "
            "divided by N (np.var's default, ddof=0).",
            lambda c: ({"out": _bn_train(np.asarray(c.x), c.gamma, c.beta, ddof=1)[2].reshape(np.shape(c.x))}
                       if c.mode == "train" else {"out": _bn_test_out(c, ddof=1)})),
    Mistake("momentum applied the other way round",
            "the running statistics were updated as (1 - momentum) * running + momentum * batch: this "
            "course keeps momentum on the old value, running = momentum * running + (1 - momentum) * batch.",
            lambda c: ({**_bn_state(c, swapped=True), "out": _bn_test_out(c, swapped=True)}
                       if c.mode == "test" else _bn_state(c, swapped=True))),
    Mistake("test mode uses batch statistics",
            "with train_flg=False the layer normalised with the test batch's own mean and variance: at "
            "test time use the running statistics collected in training.",
            lambda c: _test_only(c, {"out": _bn_train(np.asarray(c.x), c.gamma, c.beta)[2].reshape(np.shape(c.x))})),
    Mistake("running statistics never updated",
            "the running statistics stay at their initial values: update them on every training forward, "
            "running = momentum * running + (1 - momentum) * batch.",
            lambda c: ({**_bn_state(c, frozen=True), "out": _bn_test_out(c, frozen=True)}
                       if c.mode == "test" else _bn_state(c, frozen=True))),
]

MISTAKES = {"Dropout": DROPOUT_MISTAKES, "BatchNormalization": BATCHNORM_MISTAKES}

"""The layers of chapters 6 and 7 (dropout, batch normalization, convolution, max pooling):
their gradients against central differences, the helpers, and their mistake catalogs."""
from types import SimpleNamespace

import numpy as np
import pytest

from autograder.kit.numeric import numerical_gradient, relative_error
from source_layers import BatchNormalization, Convolution, Dropout, Pooling, col2im, im2col
from source_layers.convolution import col2im_assigning
from source_layers.mistakes import Mistake

H = 1e-5


def distinct(shape, rng):
    """Tie-free values: neighbours at least 0.01 apart, far above the numerical step."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.01 + rng.uniform(0, 0.002, n) - n * 0.005).reshape(shape)


# (class, hyperparameters, params, input shape, mode, train forwards before the graded one)
def _cases(rng):
    return [
        (Dropout, {"dropout_ratio": 0.3}, {}, (4, 6), "train", 0),
        (Dropout, {"dropout_ratio": 0.6}, {}, (3, 2, 5), "train", 0),
        (Dropout, {"dropout_ratio": 0.3}, {}, (4, 6), "test", 0),
        (BatchNormalization, {"momentum": 0.8}, {"gamma": rng.standard_normal(4), "beta": rng.standard_normal(4)},
         (5, 4), "train", 1),
        (BatchNormalization, {"momentum": 0.9}, {"gamma": rng.standard_normal(12), "beta": rng.standard_normal(12)},
         (3, 2, 3, 2), "train", 0),
        (BatchNormalization, {"momentum": 0.8}, {"gamma": rng.standard_normal(4), "beta": rng.standard_normal(4)},
         (5, 4), "test", 2),
        (Convolution, {"stride": 1, "pad": 1}, {"W": rng.standard_normal((3, 3, 3, 2)), "b": rng.standard_normal(3)},
         (2, 3, 5, 4), "train", 0),
        (Convolution, {"stride": 2, "pad": 1}, {"W": rng.standard_normal((2, 2, 3, 3)), "b": rng.standard_normal(2)},
         (3, 2, 6, 5), "train", 0),
        (Pooling, {"pool_h": 3, "pool_w": 3, "stride": 2, "pad": 0}, {}, (2, 3, 5, 7), "train", 0),
        (Pooling, {"pool_h": 2, "pool_w": 3, "stride": 1, "pad": 0}, {}, (2, 2, 4, 6), "train", 0),
    ]


CASES = _cases(np.random.default_rng(0))
IDS = [f"{c[0].__name__}-{c[4]}-{i}" for i, c in enumerate(CASES)]
MODED = (Dropout, BatchNormalization)


def _input(cls, shape, rng):
    if cls is Pooling:
        return distinct(shape, rng)
    if cls is Dropout:  # away from zero, so a kept element is never 0
        return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)
    return rng.standard_normal(shape)


class Run:
    """The reference on one case: train forwards first, then the graded forward, each after a seed."""

    def __init__(self, cls, hyper, params, x, mode, warmup, seed=11):
        self.cls, self.hyper, self.params, self.x, self.mode = cls, hyper, params, x, mode
        rng = np.random.default_rng(seed)
        self.warmup = [rng.standard_normal(x.shape) for _ in range(warmup)]
        self.warmup_seeds = [seed + 1 + i for i in range(warmup)]
        self.seed, self.backward_seed = seed + 100, seed + 200

    def layer(self, **params):
        layer = self.cls(**{**self.params, **params}, **self.hyper)
        for x, s in zip(self.warmup, self.warmup_seeds):
            np.random.seed(s)
            layer.forward(x.copy(), True)
        return layer

    def forward(self, layer, x):
        np.random.seed(self.seed)
        if self.cls in MODED:
            return layer.forward(x.copy(), self.mode == "train")
        return layer.forward(x.copy())

    def backward(self, layer, dout):
        np.random.seed(self.backward_seed)
        return layer.backward(dout.copy())


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_gradients_match_central_differences(index, seed):
    cls, hyper, params, shape, mode, warmup = CASES[index]
    if mode == "test":
        pytest.skip("test mode is graded on its output and state only")
    rng = np.random.default_rng(seed)
    run = Run(cls, hyper, params, _input(cls, shape, rng), mode, warmup, seed=seed)
    layer = run.layer()
    out = run.forward(layer, run.x)
    dout = rng.standard_normal(out.shape)
    dx = run.backward(layer, dout)
    numeric = numerical_gradient(lambda v: run.forward(run.layer(), v), run.x, dout, H)
    assert dx.shape == run.x.shape
    assert relative_error(dx, numeric) < 1e-8
    for name in params:
        numeric = numerical_gradient(lambda v, name=name: run.forward(run.layer(**{name: v}), run.x),
                                     params[name], dout, H)
        grad = getattr(layer, "d" + name)
        assert grad.shape == params[name].shape
        assert relative_error(grad, numeric) < 1e-8, name


def test_batchnorm_needs_three_rows_for_a_meaningful_check():
    """With N = 1 every output is beta and dx is 0: a check on it proves nothing."""
    layer = BatchNormalization(np.ones(3), np.arange(3.0), momentum=0.9)
    out = layer.forward(np.random.default_rng(0).standard_normal((1, 3)), True)
    np.testing.assert_allclose(out, [[0.0, 1.0, 2.0]])
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), 0.0)


def test_batchnorm_running_statistics_follow_the_momentum_formula():
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((5, 4)) for _ in range(3)]
    layer = BatchNormalization(np.ones(4), np.zeros(4), momentum=0.7)
    mean, var = np.zeros(4), np.zeros(4)
    for x in xs:
        layer.forward(x, True)
        mean, var = 0.7 * mean + 0.3 * x.mean(axis=0), 0.7 * var + 0.3 * x.var(axis=0)
    np.testing.assert_allclose(layer.running_mean, mean)
    np.testing.assert_allclose(layer.running_var, var)
    before = layer.running_mean.copy(), layer.running_var.copy()
    out = layer.forward(xs[0], False)
    np.testing.assert_array_equal(layer.running_mean, before[0])
    np.testing.assert_array_equal(layer.running_var, before[1])
    np.testing.assert_allclose(out, (xs[0] - mean) / np.sqrt(var + 1e-6))


def test_dropout_test_mode_is_deterministic_and_scaled():
    x = np.random.default_rng(1).standard_normal((3, 4))
    layer = Dropout(dropout_ratio=0.25)
    np.testing.assert_allclose(layer.forward(x, False), 0.75 * x)
    np.testing.assert_array_equal(layer.forward(x, False), layer.forward(x, False))


def test_dropout_keeps_the_configured_fraction():
    np.random.seed(5)
    layer = Dropout(dropout_ratio=0.3)
    out = layer.forward(np.ones((200, 100)), True)
    assert abs(np.mean(out != 0) - 0.7) < 6 * np.sqrt(0.21 / 20000)


def test_im2col_and_col2im_are_adjoint_and_col2im_accumulates():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 5))
    for fh, fw, stride, pad in [(3, 3, 1, 1), (3, 2, 2, 0), (2, 2, 2, 0), (3, 3, 2, 1)]:
        col = im2col(x, fh, fw, stride, pad)
        g = rng.standard_normal(col.shape)
        # <im2col(x), g> == <x, col2im(g)>: col2im is the transpose of im2col, overlaps added
        assert np.sum(col * g) == pytest.approx(np.sum(x * col2im(g, x.shape, fh, fw, stride, pad)))
    ones = col2im(np.ones(im2col(x, 3, 3, 1, 0).shape), x.shape, 3, 3, 1, 0)
    assert ones[0, 0, 2, 2] == 9.0  # a centre pixel lies in 3 x 3 overlapping windows
    assert col2im_assigning(np.ones(im2col(x, 3, 3, 1, 0).shape), x.shape, 3, 3, 1, 0)[0, 0, 2, 2] == 1.0


def test_pooling_passes_each_gradient_to_the_window_maximum_only():
    x = distinct((1, 1, 4, 4), np.random.default_rng(4))
    layer = Pooling(pool_h=2, pool_w=2, stride=2, pad=0)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert np.count_nonzero(dx) == 4
    assert set(x[dx != 0]) == set(out.ravel())


# --- the mistake catalogs ------------------------------------------------------------------

def _reference_values(run: Run, dout) -> dict:
    layer = run.layer()
    values = {"out": run.forward(layer, run.x)}
    if run.mode == "train":
        values["dx"] = run.backward(layer, dout)
        for name in run.params:
            values["d" + name] = getattr(layer, "d" + name)
    for name in ("running_mean", "running_var"):
        if hasattr(layer, name):
            values[name] = getattr(layer, name)
    return values


def _namespace(run: Run, dout, out):
    return SimpleNamespace(**run.params, x=run.x, **run.hyper, dout=dout, out=out, mode=run.mode,
                           seed=run.seed, backward_seed=run.backward_seed, warmup=run.warmup,
                           warmup_seeds=run.warmup_seeds)


def _differs(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape != b.shape or relative_error(a, b) > 1e-3


def _catalog(cls):
    import importlib
    return importlib.import_module(cls.__module__).MISTAKES[cls.__name__]


@pytest.mark.parametrize("cls", [Dropout, BatchNormalization, Convolution, Pooling], ids=lambda c: c.__name__)
def test_every_catalog_entry_predicts_something_other_than_the_reference(cls):
    catalog = _catalog(cls)
    assert catalog and all(isinstance(m, Mistake) for m in catalog)
    predicted_somewhere = {m.name: False for m in catalog}
    for seed in range(3):
        rng = np.random.default_rng(seed)
        for c_cls, hyper, params, shape, mode, warmup in _cases(rng):
            if c_cls is not cls:
                continue
            run = Run(cls, hyper, params, _input(cls, shape, rng), mode, warmup, seed=seed)
            dout = rng.standard_normal(_reference_values(run, np.zeros(1))["out"].shape) \
                if mode == "test" else None
            out = run.forward(run.layer(), run.x)
            dout = rng.standard_normal(out.shape) if dout is None else dout
            want = _reference_values(run, dout)
            namespace = _namespace(run, dout, want["out"])
            for mistake in catalog:
                predicted = mistake.predict(namespace)
                for key, value in predicted.items():
                    assert key in want, (mistake.name, key)
                    assert _differs(value, want[key]), (mistake.name, key, shape, mode)
                    predicted_somewhere[mistake.name] = True
    assert all(predicted_somewhere.values()), [n for n, ok in predicted_somewhere.items() if not ok]


def test_catalogs_cover_the_bugs_on_record():
    names = {cls.__name__: {m.name for m in _catalog(cls)} for cls in (Dropout, BatchNormalization,
                                                                       Convolution, Pooling)}
    assert {"mask redrawn in backward", "keep and drop probability swapped",
            "inverted dropout (scaled in training)", "test output not scaled"} <= names["Dropout"]
    assert {"dgamma and dbeta summed over everything", "dgamma and dbeta summed with keepdims",
            "dx missing the mean term", "variance with N - 1 (ddof=1)", "momentum applied the other way round",
            "test mode uses batch statistics"} <= names["BatchNormalization"]
    assert {"output reshaped without the transpose", "dW reshaped without the transpose",
            "col2im assigns instead of adding"} <= names["Convolution"]
    assert {"gradient sent to every element of the window", "gradient averaged over the window",
            "col2im assigns instead of adding"} <= names["Pooling"]

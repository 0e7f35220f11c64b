"""Are the reference layers right? Every gradient against central differences, every case."""
import numpy as np
import pytest
import yaml

from autograder.course.cases import copy_value, draw_case, with_dout
from autograder.kit.numeric import numerical_gradient, relative_error
from autograder.course.reference import reference_backward, reference_forward

from conftest import ROOT

# Every layer course.yaml configures, read at collection time so each gets its own test.
LAYERS = list(yaml.safe_load((ROOT / "course.yaml").read_text(encoding="utf-8"))["layers"])


def test_every_configured_layer_is_covered_here(specs):
    assert sorted(specs) == sorted(LAYERS) and len(LAYERS) >= 1


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_gradients_match_central_differences(specs, name, seed):
    spec = specs[name]
    rng = np.random.default_rng(seed)
    for case in spec.cases:
        if case.forward_only:
            continue
        values = draw_case(spec, case, rng)
        out = reference_forward(spec, values)
        with_dout(values, spec, out.shape, rng)
        expected = reference_backward(spec, values)
        h = 1e-5
        for arg in spec.diff_inputs:
            def f(v, arg=arg):
                layer = spec.cls(*(copy_value(values.params[p]) for p in spec.params))
                args = [v if a == arg else copy_value(values.inputs[a]) for a in spec.inputs]
                return layer.forward(*args)
            numeric = numerical_gradient(f, values.inputs[arg], values.dout, h)
            assert expected.grads[f"d{arg}"].shape == np.shape(values.inputs[arg])
            assert relative_error(expected.grads[f"d{arg}"], numeric) < spec.tolerance.gradient, (name, arg)
        for param in spec.params:
            def g(v, param=param):
                layer = spec.cls(*(v if p == param else copy_value(values.params[p]) for p in spec.params))
                return layer.forward(*(copy_value(values.inputs[a]) for a in spec.inputs))
            numeric = numerical_gradient(g, values.params[param], values.dout, h)
            grad = expected.grads[spec.grad_attrs[param][0]]
            assert grad.shape == np.shape(values.params[param])
            assert relative_error(grad, numeric) < spec.tolerance.gradient, (name, param)


@pytest.mark.parametrize("name", LAYERS)
def test_reference_leaves_callers_arrays_alone(specs, name):
    spec = specs[name]
    rng = np.random.default_rng(7)
    values = draw_case(spec, spec.cases[0], rng)
    before = {k: copy_value(v) for k, v in values.inputs.items()}
    layer = spec.cls(*(values.params[p] for p in spec.params))
    out = layer.forward(*values.inputs.values())
    with_dout(values, spec, np.shape(out), rng)
    dout_before = copy_value(values.dout)
    layer.backward(values.dout)
    for k in before:
        np.testing.assert_array_equal(values.inputs[k], before[k])
    np.testing.assert_array_equal(values.dout, dout_before)


def test_book_example_apples():
    from source_layers import MulLayer
    apple, tax = MulLayer(), MulLayer()
    price = tax.forward(apple.forward(100, 2), 1.1)
    assert price == pytest.approx(220.0)
    dapple_price, dtax = tax.backward(1)
    dapple, dapple_num = apple.backward(dapple_price)
    assert (dapple, dapple_num, dtax) == pytest.approx((2.2, 110.0, 200.0))


def test_softmax_with_loss_is_finite_for_huge_logits():
    from source_layers import SoftmaxWithLoss
    layer = SoftmaxWithLoss()
    loss = layer.forward(np.array([[1000.0, -1000.0, 0.0], [5.0, 2000.0, -3000.0]]), np.array([0, 2]))
    assert np.isfinite(loss)
    assert np.all(np.isfinite(layer.backward()))

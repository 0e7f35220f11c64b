"""Write a small example class of student submissions in nbgrader layout.

    python examples/make_class.py

writes examples/class/submitted/<student>/<assignment>/<assignment>.ipynb for the three
assignments of course.yaml: fully correct submissions in several styles, one submission per
common bug, and a few broken notebooks (not JSON, empty, a syntax error, an endless loop,
os._exit, shell and magic lines). examples/class/EXPECTED.md says what a grader must make of
each. The output is deterministic: running the script again rewrites the same files.
"""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
SUBMITTED = HERE / "class" / "submitted"

TITLES = {
    "computational_graph": "Backpropagation through a computational graph",
    "activations": "Activation layers",
    "affine_softmax": "Affine layers and softmax with loss",
}


def src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


# --------------------------------------------------------------------------------------------
# computational_graph: correct classes in two styles
# --------------------------------------------------------------------------------------------
BOOK_GRAPH = {
    "MulLayer": src('''
        class MulLayer:
            def __init__(self):
                self.x = None
                self.y = None

            def forward(self, x, y):
                self.x = x
                self.y = y
                out = x * y

                return out

            def backward(self, dout):
                dx = dout * self.y  # the inputs are swapped
                dy = dout * self.x

                return dx, dy
        '''),
    "AddLayer": src('''
        class AddLayer:
            def __init__(self):
                pass

            def forward(self, x, y):
                out = x + y
                return out

            def backward(self, dout):
                dx = dout * 1
                dy = dout * 1
                return dx, dy
        '''),
    "SubLayer": src('''
        class SubLayer:
            def __init__(self):
                pass

            def forward(self, x, y):
                out = x - y
                return out

            def backward(self, dout):
                dx = dout * 1
                dy = dout * -1
                return dx, dy
        '''),
    "DivLayer": src('''
        class DivLayer:
            def __init__(self):
                self.x = None
                self.y = None

            def forward(self, x, y):
                self.x = x
                self.y = y
                out = x / y
                return out

            def backward(self, dout):
                dx = dout / self.y
                dy = -dout * self.x / (self.y ** 2)
                return dx, dy
        '''),
    "ExpLayer": src('''
        class ExpLayer:
            def __init__(self):
                self.out = None

            def forward(self, x):
                out = np.exp(x)
                self.out = out
                return out

            def backward(self, dout):
                dx = dout * self.out
                return dx
        '''),
    "LogLayer": src('''
        class LogLayer:
            def __init__(self):
                self.x = None

            def forward(self, x):
                self.x = x
                out = np.log(x)
                return out

            def backward(self, dout):
                dx = dout / self.x
                return dx
        '''),
}

ALIAS_GRAPH = {
    "MulLayer": src('''
        class Multiply:
            def forward(self, x, y):
                self.x, self.y = x, y
                return x * y

            def backward(self, g):
                return g * self.y, g * self.x
        '''),
    "AddLayer": src('''
        class Plus:
            def forward(self, x, y):
                return x + y

            def backward(self, g):
                return g, g
        '''),
    "SubLayer": src('''
        class Minus:
            def forward(self, x, y):
                return x - y

            def backward(self, g):
                return g, -g
        '''),
    "DivLayer": src('''
        class Divide:
            def forward(self, x, y):
                self.x, self.y = x, y
                return x / y

            def backward(self, g):
                return g / self.y, -g * self.x / self.y ** 2
        '''),
    "ExpLayer": src('''
        class Exponential:
            def forward(self, x):
                self.expx = np.exp(x)
                return self.expx

            def backward(self, g):
                return g * self.expx
        '''),
    "LogLayer": src('''
        class Ln:
            def forward(self, x):
                self.x = x
                return np.log(x)

            def backward(self, g):
                return g / self.x
        '''),
}

GRAPH_DEMO = src('''
    # buying apples and oranges
    apple, apple_num, orange, orange_num, tax = 100, 2, 150, 3, 1.1
    mul_apple, mul_orange, add_fruit, mul_tax = MulLayer(), MulLayer(), AddLayer(), MulLayer()

    price = mul_tax.forward(add_fruit.forward(mul_apple.forward(apple, apple_num),
                                              mul_orange.forward(orange, orange_num)), tax)
    dall, dtax = mul_tax.backward(1)
    dapple_price, dorange_price = add_fruit.backward(dall)
    print(price, mul_apple.backward(dapple_price), mul_orange.backward(dorange_price), dtax)
    ''')

ALIAS_GRAPH_DEMO = src('''
    # x = c * d / (a - b) with a, b, c, d = 1, 2, 3, 4
    minus, multiply, divide = Minus(), Multiply(), Divide()
    e = minus.forward(1, 2)
    f = multiply.forward(3, 4)
    x = divide.forward(f, e)
    gf, ge = divide.backward(1)
    gc, gd = multiply.backward(gf)
    ga, gb = minus.backward(ge)
    print(x, ga, gb, gc, gd)
    ''')

# --------------------------------------------------------------------------------------------
# activations: correct classes in two styles
# --------------------------------------------------------------------------------------------
BOOK_ACT = {
    "Relu": src('''
        class Relu:
            def __init__(self):
                self.mask = None

            def forward(self, x):
                self.mask = (x <= 0)
                out = x.copy()
                out[self.mask] = 0

                return out

            def backward(self, dout):
                dout[self.mask] = 0
                dx = dout

                return dx
        '''),
    "Sigmoid": src('''
        class Sigmoid:
            def __init__(self):
                self.out = None

            def forward(self, x):
                out = 1 / (1 + np.exp(-x))
                self.out = out

                return out

            def backward(self, dout):
                dx = dout * (1.0 - self.out) * self.out

                return dx
        '''),
    "Tanh": src('''
        class Tanh:
            def __init__(self):
                self.out = None

            def forward(self, x):
                self.out = np.tanh(x)
                return self.out

            def backward(self, dout):
                return dout * (1.0 - self.out ** 2)
        '''),
}

NUMPY_ACT = {
    "Relu": src('''
        class ReLU:
            """max(0, x), element-wise."""

            def forward(self, x):
                self.keep = x > 0
                return np.maximum(x, 0.0)

            def backward(self, dout):
                return np.where(self.keep, dout, 0.0)
        '''),
    "Sigmoid": src('''
        class Sigmoid:
            def forward(self, x):
                # numerically stable: exp of a non-positive number only
                e = np.exp(-np.abs(x))
                self.y = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
                return self.y

            def backward(self, dout):
                return dout * self.y * (1.0 - self.y)
        '''),
    "Tanh": src('''
        class TanhLayer:
            def forward(self, x):
                self.y = 2.0 / (1.0 + np.exp(-2.0 * x)) - 1.0
                return self.y

            def backward(self, dout):
                return dout * (1.0 - self.y) * (1.0 + self.y)
        '''),
}

ACT_DEMO = src('''
    x = np.array([[1.0, -0.5], [-2.0, 3.0]])
    for layer in (Relu(), Sigmoid(), Tanh()):
        print(type(layer).__name__, layer.forward(x), layer.backward(np.ones_like(x)))
    ''')

# --------------------------------------------------------------------------------------------
# affine_softmax: correct classes in three styles
# --------------------------------------------------------------------------------------------
BOOK_AFFINE = {
    "ScalarAffine": src('''
        class ScalarAffine:
            def __init__(self, w, b):
                self.w = w
                self.b = b
                self.x = None
                self.dw = None
                self.db = None

            def forward(self, x):
                self.x = x
                return self.w * x + self.b

            def backward(self, dout):
                self.dw = dout * self.x
                self.db = dout
                dx = dout * self.w
                return dx
        '''),
    "Affine": src('''
        class Affine:
            def __init__(self, W, b):
                self.W = W
                self.b = b

                self.x = None
                self.original_x_shape = None
                # gradients of the weights and the bias
                self.dW = None
                self.db = None

            def forward(self, x):
                # tensor input
                self.original_x_shape = x.shape
                x = x.reshape(x.shape[0], -1)
                self.x = x

                out = np.dot(self.x, self.W) + self.b

                return out

            def backward(self, dout):
                dx = np.dot(dout, self.W.T)
                self.dW = np.dot(self.x.T, dout)
                self.db = np.sum(dout, axis=0)

                dx = dx.reshape(*self.original_x_shape)  # back to the input's shape
                return dx
        '''),
    "SoftmaxWithLoss": src('''
        class SoftmaxWithLoss:
            def __init__(self):
                self.loss = None
                self.y = None  # output of softmax
                self.t = None  # labels

            def forward(self, x, t):
                self.t = t
                self.y = softmax(x)
                self.loss = cross_entropy_error(self.y, self.t)

                return self.loss

            def backward(self, dout=1):
                batch_size = self.t.shape[0]
                if self.t.size == self.y.size:  # labels are one-hot vectors
                    dx = (self.y - self.t) / batch_size
                else:
                    dx = self.y.copy()
                    dx[np.arange(batch_size), self.t] -= 1
                    dx = dx / batch_size

                return dx
        '''),
}

EINSUM_AFFINE = {
    "ScalarAffine": src('''
        class LinearScalar:
            def __init__(self, w, b):
                self.w, self.b = w, b

            def forward(self, x):
                self.x = x
                return x * self.w + self.b

            def backward(self, dout=1.0):
                self.dw, self.db = self.x * dout, 1.0 * dout
                return self.w * dout
        '''),
    "Affine": src('''
        class Dense:
            def __init__(self, W, b):
                self.W, self.b = W, b

            def forward(self, x):
                self.shape = x.shape
                self.x2d = x.reshape(len(x), -1)
                return np.einsum("nd,dm->nm", self.x2d, self.W) + self.b

            def backward(self, dout):
                self.dW = np.einsum("nd,nm->dm", self.x2d, dout)
                self.db = np.einsum("nm->m", dout)
                return np.einsum("nm,dm->nd", dout, self.W).reshape(self.shape)
        '''),
    "SoftmaxWithLoss": src('''
        class SoftmaxWithLoss:
            def forward(self, x, t):
                if t.ndim == 2:  # one-hot rows -> class indices
                    t = t.argmax(axis=1)
                self.t = t
                z = x - x.max(axis=1, keepdims=True)
                log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # log-sum-exp
                self.p = np.exp(log_p)
                return cross_entropy_error(self.p, t)

            def backward(self, dout=1):
                n = self.p.shape[0]
                dx = self.p.copy()
                dx[np.arange(n), self.t] -= 1
                return dout * dx / n
        '''),
}

MICROGRAD_AFFINE = {
    "ScalarAffine": src('''
        class MultiplyW_PlusB:
            def __init__(self, w, b):
                self.w = w
                self.b = b
                self.gw, self.gb = 0, 0

            def forward(self, x):
                self.x = x
                self.gw, self.gb = 0, 0  # a new step: gradients start from zero
                return self.w * x + self.b

            def backward(self, g):
                self.gw += g * self.x
                self.gb += g
                return g * self.w
        '''),
    "Affine": src('''
        class Affine:
            """Gradients accumulate, as in micrograd; each forward starts a step from zero."""

            def __init__(self, W, b):
                self.W, self.b = W, b
                self.zero_grad()

            def zero_grad(self):
                self.dW = np.zeros_like(self.W)
                self.db = np.zeros_like(self.b)

            def forward(self, x):
                self.zero_grad()
                self.x_shape = x.shape
                self.x = x.reshape(x.shape[0], -1)
                return self.x @ self.W + self.b

            def backward(self, dout):
                self.dW += self.x.T @ dout
                self.db += dout.sum(axis=0)
                return (dout @ self.W.T).reshape(self.x_shape)
        '''),
    "SoftmaxWithLoss": src('''
        class SoftmaxCrossEntropy:
            def forward(self, x, t):
                if t.ndim == 1:  # class indices -> one-hot
                    t = np.eye(x.shape[1])[t]
                self.t = t
                self.y = softmax(x)
                return cross_entropy_error(self.y, t)

            def backward(self, dout=1):
                return dout * (self.y - self.t) / self.y.shape[0]
        '''),
}

AFFINE_DEMO = src('''
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6))
    t = np.array([0, 2, 1, 2])
    fc = Affine(0.1 * rng.standard_normal((6, 3)), np.zeros(3))
    loss_layer = SoftmaxWithLoss()
    loss = loss_layer.forward(fc.forward(x), t)
    dx = fc.backward(loss_layer.backward())
    print(loss, dx.shape, fc.dW.shape, fc.db.shape)
    ''')

MICROGRAD_DEMO = src('''
    f1 = MultiplyW_PlusB(w=2.0, b=1.0)
    y = f1.forward(3.0)
    gx = f1.backward(1.0)
    print(y, gx, f1.gw, f1.gb)  # 7.0 2.0 3.0 1.0
    ''')

# --------------------------------------------------------------------------------------------
# one class per common bug
# --------------------------------------------------------------------------------------------
BUGS = {
    "mul_swapped": ("MulLayer", src('''
        class MulLayer:
            def __init__(self):
                self.x = None
                self.y = None

            def forward(self, x, y):
                self.x = x
                self.y = y
                return x * y

            def backward(self, dout):
                dx = dout * self.x
                dy = dout * self.y
                return dx, dy
        ''')),
    "div_dy_uses_y": ("DivLayer", src('''
        class DivLayer:
            def __init__(self):
                self.x = None
                self.y = None

            def forward(self, x, y):
                self.x = x
                self.y = y
                return x / y

            def backward(self, dout):
                dx = dout / self.y
                dy = -dout * self.y / self.y ** 2
                return dx, dy
        ''')),
    "sub_sign": ("SubLayer", src('''
        class SubLayer:
            def forward(self, x, y):
                return x - y

            def backward(self, dout):
                dx = dout
                dy = dout
                return dx, dy
        ''')),
    "exp_uses_x": ("ExpLayer", src('''
        class ExpLayer:
            def __init__(self):
                self.x = None

            def forward(self, x):
                self.x = x
                return np.exp(x)

            def backward(self, dout):
                return dout * self.x
        ''')),
    "log_multiplies": ("LogLayer", src('''
        class LogLayer:
            def __init__(self):
                self.x = None

            def forward(self, x):
                self.x = x
                return np.log(x)

            def backward(self, dout):
                return dout * self.x
        ''')),
    "sigmoid_uses_x": ("Sigmoid", src('''
        class Sigmoid:
            def __init__(self):
                self.x = None

            def forward(self, x):
                self.x = x
                return 1 / (1 + np.exp(-x))

            def backward(self, dout):
                return dout * self.x * (1.0 - self.x)
        ''')),
    "sigmoid_missing_factor": ("Sigmoid", src('''
        class Sigmoid:
            def __init__(self):
                self.out = None

            def forward(self, x):
                self.out = 1 / (1 + np.exp(-x))
                return self.out

            def backward(self, dout):
                return dout * (1.0 - self.out)
        ''')),
    "relu_mask_from_dout": ("Relu", src('''
        class Relu:
            def __init__(self):
                self.mask = None

            def forward(self, x):
                out = x.copy()
                out[x <= 0] = 0
                return out

            def backward(self, dout):
                self.mask = (dout <= 0)
                dout[self.mask] = 0
                return dout
        ''')),
    "relu_inverted_mask": ("Relu", src('''
        class Relu:
            def __init__(self):
                self.mask = None

            def forward(self, x):
                self.mask = (x > 0)
                return np.maximum(0, x)

            def backward(self, dout):
                dx = dout.copy()
                dx[self.mask] = 0
                return dx
        ''')),
    "relu_mask_never_set": ("Relu", src('''
        class Relu:
            def __init__(self):
                self.mask = None

            def forward(self, x):
                out = x.copy()
                out[self.mask] = 0

                return out

            def backward(self, dout):
                dout[self.mask] = 0
                dx = dout
                return dx
        ''')),
    "relu_modifies_input": ("Relu", src('''
        class Relu:
            def __init__(self):
                self.mask = None

            def forward(self, x):
                self.mask = (x <= 0)
                x[x <= 0] = 0
                return x

            def backward(self, dout):
                dx = dout.copy()
                dx[self.mask] = 0
                return dx
        ''')),
    "dW_transposed": ("Affine", src('''
        class Affine:
            def __init__(self, W, b):
                self.W = W
                self.b = b

            def forward(self, x):
                self.x_shape = x.shape
                self.x = x.reshape(x.shape[0], -1)
                return self.x @ self.W + self.b

            def backward(self, dout):
                dx = dout @ self.W.T
                self.dW = dout.T @ self.x
                self.db = np.sum(dout, axis=0)
                return dx.reshape(self.x_shape)
        ''')),
    "db_not_summed": ("Affine", src('''
        class Affine:
            def __init__(self, W, b):
                self.W = W
                self.b = b

            def forward(self, x):
                self.x_shape = x.shape
                self.x = x.reshape(x.shape[0], -1)
                return np.dot(self.x, self.W) + self.b

            def backward(self, dout):
                dx = np.dot(dout, self.W.T)
                self.dW = np.dot(self.x.T, dout)
                self.db = dout
                return dx.reshape(self.x_shape)
        ''')),
    "db_mean": ("Affine", src('''
        class Affine:
            def __init__(self, W, b):
                self.W = W
                self.b = b

            def forward(self, x):
                self.x_shape = x.shape
                self.x = x.reshape(x.shape[0], -1)
                return np.dot(self.x, self.W) + self.b

            def backward(self, dout):
                dx = np.dot(dout, self.W.T)
                self.dW = np.dot(self.x.T, dout)
                self.db = np.mean(dout, axis=0)
                return dx.reshape(self.x_shape)
        ''')),
    "dx_not_reshaped": ("Affine", src('''
        class Affine:
            def __init__(self, W, b):
                self.W = W
                self.b = b

            def forward(self, x):
                self.x = x.reshape(x.shape[0], -1)
                return np.dot(self.x, self.W) + self.b

            def backward(self, dout):
                dx = np.dot(dout, self.W.T)
                self.dW = np.dot(self.x.T, dout)
                self.db = np.sum(dout, axis=0)
                return dx
        ''')),
    "no_batch_division": ("SoftmaxWithLoss", src('''
        class SoftmaxWithLoss:
            def __init__(self):
                self.y = None
                self.t = None

            def forward(self, x, t):
                self.t = t
                self.y = softmax(x)
                return cross_entropy_error(self.y, self.t)

            def backward(self, dout=1):
                dx = self.y.copy()
                if self.t.ndim == 1:
                    dx[np.arange(self.y.shape[0]), self.t] -= 1
                else:
                    dx -= self.t
                return dx * dout
        ''')),
    "onehot_only": ("SoftmaxWithLoss", src('''
        class SoftmaxWithLoss:
            def __init__(self):
                self.loss = None
                self.y = None
                self.t = None

            def forward(self, x, t):
                self.t = t
                self.y = softmax(x)
                self.loss = cross_entropy_error(self.y, self.t)
                return self.loss

            def backward(self, dout=1):
                batch_size = self.t.shape[0]
                dx = (self.y - self.t) / batch_size

                return dx
        ''')),
    "unstable_softmax": ("SoftmaxWithLoss", src('''
        class SoftmaxWithLoss:
            def __init__(self):
                self.y = None
                self.t = None

            def forward(self, x, t):
                self.t = t
                exp_x = np.exp(x)
                self.y = exp_x / np.sum(exp_x, axis=1, keepdims=True)
                return cross_entropy_error(self.y, t)

            def backward(self, dout=1):
                n = self.y.shape[0]
                dx = self.y.copy()
                if self.t.ndim == 1:
                    dx[np.arange(n), self.t] -= 1
                else:
                    dx -= self.t
                return dout * dx / n
        ''')),
}

LAYERS = {
    "computational_graph": ["MulLayer", "AddLayer", "SubLayer", "DivLayer", "ExpLayer", "LogLayer"],
    "activations": ["Relu", "Sigmoid", "Tanh"],
    "affine_softmax": ["ScalarAffine", "Affine", "SoftmaxWithLoss"],
}
BASE = {"computational_graph": BOOK_GRAPH, "activations": BOOK_ACT, "affine_softmax": BOOK_AFFINE}
DEMO = {"computational_graph": GRAPH_DEMO, "activations": ACT_DEMO, "affine_softmax": AFFINE_DEMO}


def notebook(student: str, assignment: str, classes: dict[str, str], *, demo: str | None = None,
             head: list[str] = (), extra: list[tuple[int, str]] = (), name: str | None = None):
    """A student notebook: title, imports, one cell per class, an optional demo cell.

    head: code cells placed before the imports; extra: (position among the class cells, source).
    """
    cells = [new_markdown_cell(f"# {TITLES[assignment]}\n\n{name or student.split('_')[0].title()}")]
    cells += [new_code_cell(c) for c in head]
    cells.append(new_code_cell("import numpy as np"))
    body = [new_code_cell(classes[layer]) for layer in LAYERS[assignment]]
    for position, source in sorted(extra, key=lambda e: -e[0]):
        body.insert(position, new_code_cell(source))
    cells += body
    if demo:
        cells.append(new_markdown_cell("Quick check"))
        cells.append(new_code_cell(demo))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{assignment[:5]}-{i:02d}"
    nbformat.validate(nb)
    return nb


def with_bug(assignment: str, bug: str) -> dict[str, str]:
    layer, source = BUGS[bug]
    classes = dict(BASE[assignment])
    classes[layer] = source
    return classes


def submissions():
    """Yield (student, assignment, notebook or raw text)."""
    cg, act, aff = "computational_graph", "activations", "affine_softmax"
    # fully correct, in different styles
    yield "alice", cg, notebook("alice", cg, BOOK_GRAPH, demo=GRAPH_DEMO)
    yield "alice", act, notebook("alice", act, BOOK_ACT, demo=ACT_DEMO)
    yield "alice", aff, notebook("alice", aff, BOOK_AFFINE, demo=AFFINE_DEMO)
    yield "bruno_aliases", cg, notebook("bruno_aliases", cg, ALIAS_GRAPH, demo=ALIAS_GRAPH_DEMO)
    yield "chen_numpy_style", act, notebook("chen_numpy_style", act, NUMPY_ACT)
    yield "erin_einsum", aff, notebook("erin_einsum", aff, EINSUM_AFFINE)
    yield "frank_micrograd", aff, notebook("frank_micrograd", aff, MICROGRAD_AFFINE, demo=MICROGRAD_DEMO)
    # one submission per common bug
    for student, assignment, bug, demo in [
        ("carl_mul_swapped", cg, "mul_swapped", True),
        ("dana_div_dy_uses_y", cg, "div_dy_uses_y", False),
        ("eve_sub_sign", cg, "sub_sign", False),
        ("fred_exp_uses_x", cg, "exp_uses_x", True),
        ("gina_log_multiplies", cg, "log_multiplies", False),
        ("sam_sigmoid_uses_x", act, "sigmoid_uses_x", True),
        ("tina_sigmoid_missing_factor", act, "sigmoid_missing_factor", False),
        ("uma_relu_mask_from_dout", act, "relu_mask_from_dout", False),
        ("vic_relu_inverted_mask", act, "relu_inverted_mask", True),
        ("walt_relu_mask_never_set", act, "relu_mask_never_set", True),
        ("xena_relu_modifies_input", act, "relu_modifies_input", False),
        ("bob_dW_transposed", aff, "dW_transposed", True),
        ("kim_db_not_summed", aff, "db_not_summed", False),
        ("leo_db_mean", aff, "db_mean", False),
        ("mia_dx_not_reshaped", aff, "dx_not_reshaped", True),
        ("nina_no_batch_division", aff, "no_batch_division", False),
        ("olga_onehot_only", aff, "onehot_only", False),
        ("pete_unstable_softmax", aff, "unstable_softmax", True),
    ]:
        yield student, assignment, notebook(student, assignment, with_bug(assignment, bug),
                                            demo=DEMO[assignment] if demo else None)
    # broken notebooks
    partial = nbformat.writes(notebook("heidi_not_json", cg, BOOK_GRAPH))
    yield "heidi_not_json", cg, partial[: len(partial) // 2]  # the save was cut off half-way
    yield "ivan_empty", act, ""
    yield "judy_syntax_error", aff, notebook(
        "judy_syntax_error", aff, BOOK_AFFINE,
        extra=[(2, src('''
            # training loop, unfinished
            def train(network, x, t, lr=0.1:
                loss = network.forward(x, t)
            '''))])
    yield "mallory_infinite_loop", act, notebook(
        "mallory_infinite_loop", act, BOOK_ACT,
        extra=[(3, src('''
            # wait for the plot window
            while True:
                pass
            '''))])
    yield "oscar_os_exit", cg, notebook(
        "oscar_os_exit", cg, BOOK_GRAPH,
        extra=[(6, src('''
            import os
            print("all layers done")
            os._exit(0)
            '''))])
    yield "peggy_magics", aff, notebook(
        "peggy_magics", aff, BOOK_AFFINE, demo=AFFINE_DEMO,
        head=[src('''
            !pip install numpy
            %matplotlib inline
            ''')])


def main():
    if SUBMITTED.exists():
        shutil.rmtree(SUBMITTED)
    count = 0
    for student, assignment, nb in submissions():
        path = SUBMITTED / student / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(nb, str):
            path.write_text(nb, encoding="utf-8")
        else:
            nbformat.write(nb, path)
        count += 1
    print(f"wrote {count} submissions under {SUBMITTED.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()

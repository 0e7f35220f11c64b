"""Reference implementations of every layer in the course: the single source of truth.

Student notebooks, solutions, self-check values and the grader's tests are all derived
from these classes and from course.yaml. Each layer module also keeps ``MISTAKES``: the
catalog of known-wrong formulas the grader recognises for its layers.
"""
from .activations import Relu, Sigmoid, Tanh
from .affine import Affine, ScalarAffine
from .convolution import Convolution, Pooling
from .functions import cross_entropy_error, softmax
from .graph import AddLayer, DivLayer, ExpLayer, LogLayer, MulLayer, SubLayer
from .normalization import BatchNormalization, Dropout
from .softmax_loss import SoftmaxWithLoss
from .util import col2im, im2col

__all__ = [
    "MulLayer", "AddLayer", "SubLayer", "DivLayer", "ExpLayer", "LogLayer",
    "Relu", "Sigmoid", "Tanh", "ScalarAffine", "Affine", "SoftmaxWithLoss",
    "Dropout", "BatchNormalization", "Convolution", "Pooling",
    "softmax", "cross_entropy_error", "im2col", "col2im",
]

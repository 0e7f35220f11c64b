"""A held-out corpus of student-style layer classes, for the grader's own tests.

Each source file in ``bugs/`` is one class exactly as a student might write it: correct variants
written unlike the reference (aliases, other attribute names, einsum, log-sum-exp, the book's
in-place Relu, gradient accumulation with ``+=`` zeroed in forward, read-only gradient properties), and buggy variants covering every entry of the
``MISTAKES`` catalogs in ``source_layers`` plus bugs the catalogs have no entry for.

``CASES`` holds one dict per file::

    {"id": ..., "layer": <course layer name>, "code": <class source>, "correct": bool,
     "mistake": <exact Mistake.name from the layer's catalog, or None>, "note": <str or None>,
     "known_issue": <str or None>, "expect": <EXPECT entry, may be empty>}

The code expects ``np``, ``softmax`` and ``cross_entropy_error`` in its namespace, as a student
notebook has them. tests/test_bug_corpus.py checks that every correct variant agrees with the
reference and that every buggy one does not.
"""
from pathlib import Path

BUGS = Path(__file__).resolve().parent / "bugs"

# (id, layer, correct, catalog mistake name or None)
_TABLE = [
    ('mul_multiply_alias_tuple', 'MulLayer', True, None),
    ('mul_np_multiply_cache', 'MulLayer', True, None),
    ('add_plus_passthrough', 'AddLayer', True, None),
    ('add_ones_like', 'AddLayer', True, None),
    ('sub_minus_alias', 'SubLayer', True, None),
    ('sub_np_negative', 'SubLayer', True, None),
    ('div_store_output', 'DivLayer', True, None),
    ('div_reciprocal_alias', 'DivLayer', True, None),
    ('exp_alias_cache_output', 'ExpLayer', True, None),
    ('exp_recompute_in_backward', 'ExpLayer', True, None),
    ('log_ln_alias', 'LogLayer', True, None),
    ('relu_book_inplace_dout', 'Relu', True, None),
    ('relu_np_maximum', 'Relu', True, None),
    ('relu_where_alias_relu', 'Relu', True, None),
    ('sigmoid_tanh_identity', 'Sigmoid', True, None),
    ('sigmoid_lowercase_name', 'Sigmoid', True, None),
    ('sigmoid_stable_branches', 'Sigmoid', True, None),
    ('tanh_via_sigmoid', 'Tanh', True, None),
    ('scalar_affine_linear_scalar', 'ScalarAffine', True, None),
    ('affine_book_np_dot', 'Affine', True, None),
    ('affine_einsum', 'Affine', True, None),
    ('affine_dense_matmul_gw', 'Affine', True, None),
    ('softmax_logsumexp_both_labels', 'SoftmaxWithLoss', True, None),
    ('softmax_exact_logsumexp_loss', 'SoftmaxWithLoss', True, None),
    ('softmax_book_helpers', 'SoftmaxWithLoss', True, None),
    ('softmax_eye_onehot', 'SoftmaxWithLoss', True, None),
    ('softmax_backward_without_copy', 'SoftmaxWithLoss', True, None),
    ('affine_accumulates_zeroed_in_forward', 'Affine', True, None),
    ('affine_readonly_properties', 'Affine', True, None),
    ('mul_gradients_not_swapped', 'MulLayer', False, 'gradients not swapped'),
    ('mul_returns_dy_dx', 'MulLayer', False, 'gradients not swapped'),
    ('mul_forward_stores_nothing', 'MulLayer', False, None),
    ('add_multiplies_by_input', 'AddLayer', False, 'gradient multiplied by the input'),
    ('add_returns_one_value', 'AddLayer', False, None),
    ('sub_dy_positive', 'SubLayer', False, 'missing minus sign on dy'),
    ('sub_sign_on_dx', 'SubLayer', False, 'minus sign on the wrong input'),
    ('div_dy_uses_y', 'DivLayer', False, 'dy uses y instead of x'),
    ('div_dy_no_minus', 'DivLayer', False, 'dy missing its minus sign'),
    ('div_dx_times_y', 'DivLayer', False, 'dx multiplies by y'),
    ('div_forward_stores_nothing', 'DivLayer', False, None),
    ('exp_dx_uses_x', 'ExpLayer', False, 'dx uses x instead of exp(x)'),
    ('exp_of_dout', 'ExpLayer', False, 'exp applied to dout'),
    ('exp_forward_returns_none', 'ExpLayer', False, None),
    ('log_dx_times_x', 'LogLayer', False, 'dx multiplies by x'),
    ('log_dx_divides_by_output', 'LogLayer', False, 'dx uses the output'),
    ('relu_mask_from_dout', 'Relu', False, 'mask taken from dout'),
    ('relu_mask_inverted', 'Relu', False, 'mask inverted'),
    ('relu_mask_never_set', 'Relu', False, 'mask never set in forward'),
    ('relu_chained_assignment', 'Relu', False, 'chained assignment returns 0'),
    ('relu_modifies_input', 'Relu', False, None),
    ('sigmoid_derivative_with_x', 'Sigmoid', False, 'derivative written with x instead of the output'),
    ('sigmoid_missing_y', 'Sigmoid', False, 'missing the factor y'),
    ('sigmoid_missing_one_minus_y', 'Sigmoid', False, 'missing the factor (1 - y)'),
    ('sigmoid_out_called', 'Sigmoid', False, None),
    ('sigmoid_undefined_g', 'Sigmoid', False, None),
    ('tanh_one_minus_x_squared', 'Tanh', False, 'derivative written with x instead of the output'),
    ('tanh_square_misplaced', 'Tanh', False, 'square in the wrong place'),
    ('tanh_missing_square', 'Tanh', False, 'missing the square'),
    ('tanh_forward_uses_sigmoid', 'Tanh', False, None),
    ('scalar_affine_dx_uses_x', 'ScalarAffine', False, 'dx uses x instead of w'),
    ('scalar_affine_dw_forgets_x', 'ScalarAffine', False, 'dw forgets x'),
    ('scalar_affine_dw_dx_swapped', 'ScalarAffine', False, 'dw and dx swapped'),
    ('scalar_affine_db_never_set', 'ScalarAffine', False, None),
    ('affine_dW_transposed', 'Affine', False, 'dW transposed'),
    ('affine_db_not_summed', 'Affine', False, 'db not summed over the batch'),
    ('affine_db_wrong_axis', 'Affine', False, 'db summed over the wrong axis'),
    ('affine_db_mean', 'Affine', False, 'db averaged instead of summed'),
    ('affine_dx_not_reshaped', 'Affine', False, 'dx not reshaped back'),
    ('affine_dx_W_not_transposed', 'Affine', False, None),
    ('affine_no_flatten', 'Affine', False, None),
    ('affine_dW_from_dx', 'Affine', False, None),
    ('affine_forward_takes_weights', 'Affine', False, None),
    ('affine_np_dot_three_args', 'Affine', False, None),
    ('softmax_no_batch_division', 'SoftmaxWithLoss', False, 'backward not divided by the batch size'),
    ('softmax_divided_by_classes', 'SoftmaxWithLoss', False, 'backward divided by the number of classes'),
    ('softmax_loss_summed', 'SoftmaxWithLoss', False, 'loss not averaged over the batch'),
    ('softmax_unstable', 'SoftmaxWithLoss', False, 'softmax without subtracting the maximum'),
    ('softmax_onehot_only_backward', 'SoftmaxWithLoss', False, None),
    ('softmax_index_labels_only', 'SoftmaxWithLoss', False, None),
    # State, shapes and types: what a single fresh float64 call cannot show.
    ('mul_class_attribute_state', 'MulLayer', False, None),
    ('affine_mutable_default_cache', 'Affine', False, None),
    ('relu_module_global_mask', 'Relu', False, None),
    ('affine_shape_from_first_call', 'Affine', False, None),
    ('softmax_squeeze', 'SoftmaxWithLoss', False, None),
    ('mul_copies_inputs', 'MulLayer', False, None),
    ('sigmoid_empty_like', 'Sigmoid', False, None),
    ('log_reciprocal', 'LogLayer', False, None),
    ('sigmoid_exp_ratio', 'Sigmoid', False, None),
    ('tanh_exp_formula', 'Tanh', False, None),
    ('affine_accumulates_never_reset', 'Affine', False, None),
    ('scalar_affine_micrograd_gw_gb', 'ScalarAffine', False, None),
    ('affine_plus_equals_on_none', 'Affine', False, None),
    ('tanh_numerical_backward', 'Tanh', False, None),
    ('affine_float32', 'Affine', False, None),
    ('relu_int_mask', 'Relu', False, None),
    # No points without backprop.
    ('affine_backward_zeros', 'Affine', False, None),
    ('exp_stub_zeros', 'ExpLayer', False, None),
    ('affine_cached_forward', 'Affine', False, None),
    ('add_returns_ones', 'AddLayer', False, None),
]

NOTES = {
    'softmax_exact_logsumexp_loss':
        'exact log-sum-exp loss without the 1e-7 of cross_entropy_error',
    'relu_book_inplace_dout':
        "the book's own code: zeroes dout in place, which this grader accepts",
    'scalar_affine_micrograd_gw_gb':
        'gradients accumulate with += from 0 set in __init__: right once, doubled by a second forward and backward',
    'affine_accumulates_never_reset':
        'dW/db accumulate with += and are never reset: right once, wrong from the second forward and backward on',
    'affine_accumulates_zeroed_in_forward':
        'dW/db accumulate with += but forward zeroes them: accepted',
    'affine_readonly_properties':
        'dW and db are read-only properties over a dict of gradients: read, never written, by the grader',
    'softmax_backward_without_copy':
        'dx = self.y without a copy changes self.y, but every forward recomputes it: (forward, backward) twice is right',
    'mul_class_attribute_state':
        'stores x and y on the class: two instances overwrite each other',
    'affine_mutable_default_cache':
        'cache={} as a default argument: every instance shares one dict',
    'relu_module_global_mask':
        'the mask lives in a module global: two instances share it',
    'affine_shape_from_first_call':
        'the input shape is remembered on the first call only: a later batch of another size breaks backward',
    'softmax_squeeze':
        'np.squeeze(x) drops the batch axis when N = 1',
    'mul_copies_inputs':
        "x.copy() fails on the Python numbers of the book's apples example",
    'sigmoid_empty_like':
        'np.empty_like(x) keeps an integer dtype and truncates the sigmoid to 0',
    'log_reciprocal':
        'np.reciprocal on integer input is integer division: 1/x truncated to 0',
    'sigmoid_exp_ratio':
        'exp(x) / (1 + exp(x)) is inf / inf = nan for x above ~709',
    'tanh_exp_formula':
        '(e^x - e^-x) / (e^x + e^-x) is inf / inf = nan for |x| above ~709',
    'affine_plus_equals_on_none':
        'self.dW += ... on the None set in __init__: TypeError on the first backward',
    'tanh_numerical_backward':
        'backward differentiates numerically by calling forward for every element',
    'affine_float32':
        'casts to float32: about 7 digits, too few for the gradient checks',
    'relu_int_mask':
        'an integer mask indexes rows (fancy indexing) instead of masking entries; not a mask never stored',
    'affine_backward_zeros':
        'a correct forward and a backward that returns zeros',
    'exp_stub_zeros':
        'forward and backward both return zeros: a stub',
    'affine_cached_forward':
        'forward caches its first output, backward returns zeros',
    'add_returns_ones':
        'backward returns ones whatever dout is',
    'mul_forward_stores_nothing':
        'forward keeps neither input, backward raises AttributeError',
    'add_returns_one_value':
        'backward returns dout alone instead of the pair (dx, dy)',
    'div_forward_stores_nothing':
        'forward keeps neither input, backward raises AttributeError',
    'exp_forward_returns_none':
        'forward stores exp(x) but returns None',
    'relu_modifies_input':
        "forward zeroes the caller's x in place (x[x <= 0] = 0), corrupting the previous layer's cache",
    'sigmoid_out_called':
        'self.out(1.0 - self.out) calls an array: TypeError in backward',
    'sigmoid_undefined_g':
        "backward's parameter is h but the body uses g: NameError",
    'tanh_forward_uses_sigmoid':
        'forward computes the sigmoid instead of tanh',
    'scalar_affine_db_never_set':
        'backward never sets db',
    'affine_no_flatten':
        'forward does not flatten (N, ...) input, so 4-D x fails in np.dot',
    'affine_dW_from_dx':
        'dW computed as dX.T @ dout instead of x.T @ dout',
    'affine_forward_takes_weights':
        'forward(self, X, W, B) needs three arguments: TypeError on forward(x)',
    'affine_np_dot_three_args':
        'np.dot(self, x.T, dout): the global x is undefined and np.dot takes two arrays',
    'softmax_onehot_only_backward':
        '(y - t) / N works for one-hot labels only and breaks with index labels',
    'softmax_backward_without_copy':
        'dx = self.y without a copy: each backward subtracts 1 again, so a second backward differs',
    'softmax_index_labels_only':
        'backward indexes with t, so one-hot labels raise IndexError',
}

# Variants that are right but that the current reference and tolerances reject: their check in
# tests/test_bug_corpus.py is an expected failure until the reference or the tolerance changes.
KNOWN_ISSUES: dict[str, str] = {}

# What the grader must say about a variant, beyond "loses points" or "full marks": per entry, a
# list of (words in a test's name, "pass"/"fail", words in its message or None); every test of the
# layer whose name contains the words must match. "absent": words no message of the layer may hold;
# "score": the layer's exact score as a share of its points, or the category that must earn nothing.
EXPECT: dict[str, dict] = {
    'mul_class_attribute_state': {"tests": [("two instances", "fail", "instance A")]},
    'affine_mutable_default_cache': {"tests": [("two instances", "fail", "default argument")]},
    'relu_module_global_mask': {"tests": [("two instances", "fail", "global variable")]},
    'affine_shape_from_first_call': {"tests": [("batch size", "fail", "N = 1"), ("forward,", "pass", None)]},
    'softmax_squeeze': {"tests": [("batch size", "fail", "N = 1")]},
    'mul_copies_inputs': {"tests": [("scalar", "fail", "AttributeError"), ("(3, 4)", "pass", None)]},
    'sigmoid_empty_like': {"tests": [("forward, case 3", "fail", "int64"), ("forward, case 1", "pass", None)]},
    'log_reciprocal': {"tests": [("backward dx, case 3", "fail", "int64"), ("backward dx, case 1", "pass", None)]},
    'sigmoid_exp_ratio': {"tests": [("forward, case 4", "fail", "numerically stable"),
                                    ("backward dx, case 4", "fail", "numerically stable")]},
    'tanh_exp_formula': {"tests": [("forward, case 4", "fail", "numerically stable"), ("forward, case 1", "pass", None)]},
    'affine_accumulates_never_reset': {"tests": [("repeated", "fail", "+= must be reset in forward"),
                                                 ("backward d", "pass", None)]},
    'scalar_affine_micrograd_gw_gb': {"tests": [("repeated", "fail", "+= must be reset in forward")]},
    'affine_plus_equals_on_none': {"tests": [("backward dW", "fail", "TypeError"), ("forward,", "pass", None)]},
    'tanh_numerical_backward': {"tests": [("backward d", "fail", "differentiates numerically")], "score": "backward"},
    'affine_float32': {"tests": [("forward, case 1", "fail", "float32"), ("backward dW, case 1", "fail", "float32")],
                       "absent": ["forward and backward disagree"]},
    'relu_int_mask': {"absent": ["never stored", "mask never set"]},
    'affine_backward_zeros': {"tests": [("backward d", "fail", "zero everywhere"), ("forward,", "pass", None)], "score": "backward"},
    'exp_stub_zeros': {"score": 0.0},
    'affine_cached_forward': {"score": "backward", "tests": [("latest forward", "fail", None)]},
    'add_returns_ones': {"tests": [("backward dx, case 1", "fail", "same for every input")], "score": "backward"},
    'mul_forward_stores_nothing': {"tests": [("can be repeated", "fail", "AttributeError")],
                                   "absent": ["gave different results"]},
    'affine_accumulates_zeroed_in_forward': {"tests": [("repeated", "pass", None)]},
    'affine_readonly_properties': {"tests": [("backward dW", "pass", None)]},
}

CASES = [
    {"id": id_, "layer": layer, "code": (BUGS / f"{id_}.py").read_text(encoding="utf-8"),
     "correct": correct, "mistake": mistake, "note": NOTES.get(id_),
     "known_issue": KNOWN_ISSUES.get(id_), "expect": EXPECT.get(id_, {})}
    for id_, layer, correct, mistake in _TABLE
]

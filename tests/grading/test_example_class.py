"""Does the bundled example class get the grades examples/class/EXPECTED.md promises?"""
import pytest

from conftest import ROOT

# student -> (layers that must lose points, catalog mistake named on them or None)
EXPECTED = {
    "computational_graph": {
        "alice": ((), None), "bruno_aliases": ((), None), "oscar_os_exit": ((), None),
        "carl_mul_swapped": (("MulLayer",), "gradients not swapped"),
        "dana_div_dy_uses_y": (("DivLayer",), "dy uses y instead of x"),
        "eve_sub_sign": (("SubLayer",), "missing minus sign on dy"),
        "fred_exp_uses_x": (("ExpLayer",), "dx uses x instead of exp(x)"),
        "gina_log_multiplies": (("LogLayer",), "dx multiplies by x"),
    },
    "activations": {
        "alice": ((), None), "chen_numpy_style": ((), None), "mallory_infinite_loop": ((), None),
        "sam_sigmoid_uses_x": (("Sigmoid",), "derivative written with x instead of the output"),
        "tina_sigmoid_missing_factor": (("Sigmoid",), "missing the factor y"),
        "uma_relu_mask_from_dout": (("Relu",), "mask taken from dout"),
        "vic_relu_inverted_mask": (("Relu",), "mask inverted"),
        "walt_relu_mask_never_set": (("Relu",), "mask never set in forward"),
        "xena_relu_modifies_input": (("Relu",), None),
    },
    "affine_softmax": {
        "alice": ((), None), "erin_einsum": ((), None), "frank_micrograd": ((), None),
        "judy_syntax_error": ((), None), "peggy_magics": ((), None),
        "bob_dW_transposed": (("Affine",), "dW transposed"),
        "kim_db_not_summed": (("Affine",), "db not summed over the batch"),
        "leo_db_mean": (("Affine",), "db averaged instead of summed"),
        "mia_dx_not_reshaped": (("Affine",), "dx not reshaped back"),
        "nina_no_batch_division": (("SoftmaxWithLoss",), "backward not divided by the batch size"),
        "olga_onehot_only": (("SoftmaxWithLoss",), "one-hot labels only"),
        "pete_unstable_softmax": (("SoftmaxWithLoss",), "softmax without subtracting the maximum"),
    },
}
INVALID = {"computational_graph": {"heidi_not_json": "not valid JSON"}, "activations": {"ivan_empty": "empty"}}


@pytest.mark.parametrize("assignment", list(EXPECTED))
def test_example_class_gets_the_expected_grades(course, tmp_path, assignment):
    from autograder.grading.batch import GradeOptions, grade_paths, load_results

    out = tmp_path / assignment
    grade_paths(course, [ROOT / "examples" / "class"],
                GradeOptions(assignment=assignment, out_dir=out, workers=2, seed=11, timeout=8, show_progress=False))
    results = {s["student"]: s for s in load_results(out)["submissions"]}
    assert set(results) == set(EXPECTED[assignment]) | set(INVALID.get(assignment, {}))
    for student, (losing, mistake) in EXPECTED[assignment].items():
        result = results[student]
        assert result["status"] == "graded", (student, result["error"])
        for layer, got in result["layers"].items():
            if layer in losing:
                assert got["score"] < got["max_score"], (student, layer)
            else:
                assert got["score"] == got["max_score"], (student, layer)
        if mistake:
            named = {t["misconception"]["name"] for t in result["tests"] if t["misconception"]}
            assert mistake in named, (student, named)
    for student, words in INVALID.get(assignment, {}).items():
        assert results[student]["status"] == "invalid" and words in results[student]["error"]
        assert results[student]["score"] == 0 and results[student]["max_score"] > 0

"""Does the grader give every correct layer full marks, take points from every bug, and name it?"""
import json
import shutil
import sys

import pytest

from autograder.course.load import load_course
from autograder.errors import ToolError
from conftest import ROOT, reference_code

sys.path.insert(0, str(ROOT / "tests" / "data"))
from bug_corpus import CASES  # noqa: E402


DRAWS = 20  # every corpus variant is graded on this many different draws of the inputs


@pytest.fixture(scope="module")
def corpus_results(course, tmp_path_factory):
    """The whole corpus graded as one pooled batch: each variant DRAWS times, under DRAWS student
    ids, so each copy gets inputs of its own (the per-student seed mixes the run seed and the id).

    Returns {variant id: [result of each copy]}."""
    from autograder.grading.batch import GradeOptions, grade_paths, load_results

    folder = tmp_path_factory.mktemp("corpus")
    for case in CASES:
        for draw in range(DRAWS):
            (folder / f"{case['id']}__draw{draw}.py").write_text("import numpy as np\n\n" + case["code"])
    options = GradeOptions(out_dir=folder / "out", workers=2, seed=99, show_progress=False)
    grade_paths(course, [folder], options)
    by_case: dict[str, list[dict]] = {}
    for result in load_results(options.out_dir)["submissions"]:
        by_case.setdefault(result["student"].rsplit("__draw", 1)[0], []).append(result)
    return by_case


def test_every_variant_is_graded_on_distinct_draws(corpus_results):
    assert set(corpus_results) == {c["id"] for c in CASES}
    for variant, results in corpus_results.items():
        assert len(results) == DRAWS and len({r["seed"] for r in results}) == DRAWS, variant
        assert all(r["status"] == "graded" for r in results), variant


@pytest.mark.parametrize("case", [c for c in CASES if c["correct"]], ids=lambda c: c["id"])
def test_correct_code_written_differently_gets_full_marks_on_every_draw(corpus_results, case):
    for result in corpus_results[case["id"]]:
        layer = result["layers"][case["layer"]]
        failed = [(t["name"], t["message"]) for t in result["tests"] if not t["passed"]]
        assert layer["score"] == layer["max_score"], (result["seed"], failed)


@pytest.mark.parametrize("case", [c for c in CASES if not c["correct"]], ids=lambda c: c["id"])
def test_every_bug_loses_points_on_every_draw_and_catalogued_ones_are_named(corpus_results, case):
    for result in corpus_results[case["id"]]:
        layer = result["layers"][case["layer"]]
        assert layer["score"] < layer["max_score"], result["seed"]
        failing = [t for t in result["tests"] if t["layer"] == case["layer"] and not t["passed"]]
        assert failing and all(t["message"] for t in failing)
        if case["mistake"]:
            named = {t["misconception"]["name"] for t in failing if t["misconception"]}
            assert case["mistake"] in named, (result["seed"], named)


def _check_expectations(case, result, points):
    expect = case["expect"]
    tests = [t for t in result["tests"] if t["layer"] == case["layer"]]
    for words, verdict, message in expect.get("tests", []):
        chosen = [t for t in tests if words in t["name"]]
        assert chosen, (words, [t["name"] for t in tests])
        for test in chosen:
            assert test["passed"] == (verdict == "pass"), (result["seed"], test["name"], test["message"])
            if message:
                assert message in test["message"], (result["seed"], test["name"], test["message"])
    for words in expect.get("absent", []):
        assert not any(words in t["message"] or words in ((t["misconception"] or {}).get("name") or "")
                       for t in tests), (result["seed"], words)
    score = expect.get("score")
    if isinstance(score, float):
        assert result["layers"][case["layer"]]["score"] == score * sum(points.values())
    elif isinstance(score, str):  # a category that must earn nothing
        assert sum(t["score"] for t in tests if t["category"] == score) == 0, result["seed"]


@pytest.mark.parametrize("case", [c for c in CASES if c["expect"]], ids=lambda c: c["id"])
def test_each_mechanism_gets_its_verdict_and_message_on_every_draw(course, corpus_results, case):
    from autograder.grading.result import layer_points

    points = layer_points(course, None, case["layer"])
    for result in corpus_results[case["id"]]:
        _check_expectations(case, result, points)


def test_named_mistakes_reproduce_every_case(corpus_results):
    """An integer mask zeroes whole rows: on some cases that looks like a mask never stored, on
    others it does not, so no catalog entry may be named."""
    for result in corpus_results["relu_int_mask"]:
        assert not any(t["misconception"] for t in result["tests"]), result["seed"]


def test_messages_speak_of_shapes_and_the_fix(corpus_results):
    result = corpus_results["affine_dW_transposed"][0]
    test = next(t for t in result["tests"] if t["name"].startswith("backward dW") and not t["passed"])
    assert "dW has shape (3, 6), but W has shape (6, 3)" in test["message"]
    assert "x.T @ dout" in test["misconception"]["explanation"]


def test_one_hot_only_softmax_is_diagnosed(corpus_results):
    for result in corpus_results["softmax_onehot_only_backward"]:
        named = {t["misconception"]["name"] for t in result["tests"] if t["misconception"]}
        assert "one-hot labels only" in named


def test_partial_credit_when_backward_is_consistent_with_a_wrong_forward(grade):
    # Twice tanh, with the matching derivative: backward agrees with its own forward, not the reference.
    wrong_forward = (reference_code("Tanh").replace("return self.out\n", "return 2 * self.out\n")
                     .replace("return dout * (1.0 - self.out ** 2)", "return 2 * dout * (1.0 - self.out ** 2)"))
    result = grade({"halfway": wrong_forward}, assignment="activations")["halfway"]
    tanh = [t for t in result["tests"] if t["layer"] == "Tanh"]
    # Integer and stress cases have no numerical gradient to be consistent with.
    backward = [t for t in tanh if t["category"] == "backward" and "integer" not in t["name"]
                and "|inputs|" not in t["name"]]
    assert len(backward) == 2 and all(0 < t["score"] < t["max_score"] for t in backward)
    assert all("consistent with your forward" in t["message"] for t in backward)
    assert result["layers"]["Relu"]["score"] == 0 and "no class named Relu" in result["tests"][0]["message"]


def test_inputs_are_per_student_and_reproducible(grade, tmp_path):
    code = reference_code("Affine")
    first = grade({"ann": code, "ben": code}, seed=5)
    assert first["ann"]["seed"] != first["ben"]["seed"]
    again = grade({"ann": code}, seed=5)
    assert again["ann"]["seed"] == first["ann"]["seed"]


SEED_VERDICTS = {
    "seed_0": {"full": ["MulLayer", "AddLayer", "Relu"], "partial": {}},
    "seed_1": {"full": ["MulLayer", "AddLayer", "Relu", "Sigmoid"],
               "partial": {"Affine": None, "SoftmaxWithLoss": "one-hot labels only"}},
    # MultiplyW_PlusB accumulates with += from the 0 of __init__: right once, doubled by a second step.
    "seed_2": {"full": ["AddLayer", "SubLayer", "MulLayer", "ExpLayer", "LogLayer", "Relu"],
               "partial": {"DivLayer": "dy uses y instead of x", "Sigmoid": None, "Affine": None,
                           "ScalarAffine": None}},
    "seed_3": {"full": ["MulLayer", "AddLayer"],
               "partial": {"Relu": "chained assignment returns 0", "Sigmoid": None, "Affine": None}},
    "seed_4": {"full": ["MulLayer", "AddLayer", "Sigmoid"], "partial": {"Relu": "mask never set in forward"}},
}


def test_seed_notebooks_get_the_verdicts_a_careful_ta_gives(course, tmp_path):
    from autograder.grading.batch import GradeOptions, grade_paths, load_results

    grade_paths(course, [ROOT / "examples" / "seeds"],
                GradeOptions(out_dir=tmp_path / "out", workers=2, seed=3, show_progress=False))
    by_student = {s["student"]: s for s in load_results(tmp_path / "out")["submissions"]}
    for seed, verdict in SEED_VERDICTS.items():
        result = by_student[seed]
        assert result["status"] == "graded", (seed, result["error"])
        assert set(result["layers"]) == set(verdict["full"]) | set(verdict["partial"]), seed
        for layer in verdict["full"]:
            got = result["layers"][layer]
            assert got["score"] == got["max_score"], (seed, layer)
        for layer, mistake in verdict["partial"].items():
            got = result["layers"][layer]
            assert got["score"] < got["max_score"], (seed, layer)
            if mistake:
                named = {t["misconception"]["name"] for t in result["tests"]
                         if t["layer"] == layer and t["misconception"]}
                assert mistake in named, (seed, layer, named)


def test_resume_continues_without_regrading(course, tmp_path):
    from autograder.grading.batch import PROGRESS_FILE, GradeOptions, grade_paths, load_results

    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.py").write_text(reference_code("Relu"))
    out = tmp_path / "out"
    grade_paths(course, [folder], GradeOptions(out_dir=out, workers=1, seed=8, show_progress=False))
    lines = (out / PROGRESS_FILE).read_text().splitlines()
    # Simulate an interruption after the first submission, the last line cut in half.
    (out / PROGRESS_FILE).write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])
    (folder / "d.py").write_text(reference_code("Relu"))
    results = grade_paths(course, [folder], GradeOptions(out_dir=out, workers=1, resume=True, show_progress=False))
    assert results["seed"] == 8  # the interrupted run's seed, so inputs are the same
    assert [s["student"] for s in results["submissions"]] == ["a", "b", "c", "d"]
    graded_again = [json.loads(line)["result"]["student"] for line in (out / PROGRESS_FILE).read_text().splitlines()[2:]
                    if line.startswith('{"key"')]
    assert "a" not in graded_again and {"b", "c", "d"} <= set(graded_again)
    full = load_results(out)["submissions"]
    # A changed course must not be mixed into a resumed run.
    changed = tmp_path / "course"
    shutil.copytree(ROOT / "source_layers", changed / "source_layers")
    (changed / "course.yaml").write_text((ROOT / "course.yaml").read_text().replace("forward: 2, backward: 3",
                                                                                    "forward: 3, backward: 3"))
    with pytest.raises(ToolError, match="changed since"):
        grade_paths(load_course(changed / "course.yaml"), [folder],
                    GradeOptions(out_dir=out, workers=1, resume=True, show_progress=False))
    # Nor results of another version of the grader: its tests may differ.
    assert load_results(out)["kit_version"] == json.loads((out / PROGRESS_FILE).read_text().splitlines()[0])[
        "header"]["kit_version"]
    progress = (out / PROGRESS_FILE).read_text().splitlines()
    header = json.loads(progress[0])
    header["header"]["kit_version"] = "0" * 16
    (out / PROGRESS_FILE).write_text("\n".join([json.dumps(header), *progress[1:]]) + "\n")
    with pytest.raises(ToolError, match="another version|version .* of the kit"):
        grade_paths(course, [folder], GradeOptions(out_dir=out, workers=1, resume=True, show_progress=False))
    assert [s["student"] for s in full] == ["a", "b", "c", "d"]
    assert all(s["score"] == s["max_score"] > 0 and s["tests"][0]["message"] for s in full)
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["a.html", "b.html", "c.html", "d.html"]

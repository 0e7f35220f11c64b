"""Reports written from a grading results document: CSVs, feedback pages, class report,
Gradescope output and atomic writes."""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import statistics
from html.parser import HTMLParser

import pytest

from autograder.reports import (
    atomic_write_text,
    gradescope_results,
    write_class_report,
    write_feedback,
    write_gradescope,
    write_grades_csv,
    write_lms_csv,
    write_reports,
)
from autograder.reports.results_view import short_test_name

HOSTILE_NOTE = "cell 4 printed <script>alert(1)</script>"
HOSTILE_MESSAGE = 'forward returned <img src=x onerror="alert(2)"> & more'

# Per layer: (test category, test name, max points). Names carry shapes, as the grader writes them.
LAYER_TESTS = {
    "MulLayer": [
        ("forward", "forward value, case 1 (x (3,), y (3,))", 1.0),
        ("backward", "backward dx, case 1 (x (3,), y (3,))", 1.0),
        ("backward", "backward dy, case 1 (x (3,), y (3,))", 1.0),
    ],
    "Relu": [
        ("shape", "output shape (x (4, 5))", 1.0),
        ("forward", "forward value, case 1 (x (4, 5))", 1.0),
        ("backward", "backward dx, case 1 (x (4, 5))", 1.0),
        ("hygiene", "does not modify its input", 1.0),
    ],
    "Affine": [
        ("shape", "output shape (x (4, 6), W (6, 3))", 1.0),
        ("forward", "forward value, case 1 (x (4, 6), W (6, 3))", 2.0),
        ("forward", "forward value, case 2 (x (2, 3, 2), W (6, 4))", 2.0),
        ("backward", "backward dx, case 1 (x (4, 6), W (6, 3))", 1.0),
        ("backward", "backward dW, case 1 (x (4, 6), W (6, 3))", 1.0),
        ("backward", "backward dW, case 2 (x (2, 3, 2), W (6, 4))", 1.0),
        ("backward", "backward db, case 1 (x (4, 6), W (6, 3))", 1.0),
        ("hygiene", "keeps x for backward as a copy", 1.0),
    ],
    "SoftmaxWithLoss": [
        ("forward", "forward loss, case 1 (x (4, 3))", 2.0),
        ("backward", "backward dx, case 1 (x (4, 3))", 2.0),
        ("backward", "backward dx, case 2 (x (8, 10))", 2.0),
    ],
}
MAX_SCORE = 23.0
LAYER_ORDER = list(LAYER_TESTS)

DW_TRANSPOSED = {
    "name": "dW transposed",
    "explanation": "you computed dW = dout.T @ x; use x.T @ dout so dW has the shape of W.",
}
RELU_MASK = {
    "name": "mask not applied in backward",
    "explanation": "backward returned dout unchanged; set dout to 0 where x <= 0.",
}


def make_submission(student, failures=None, notes=(), seed=1000, found_as=None):
    """A graded submission; `failures` maps (layer, short test name) -> (message, misconception)."""
    failures = failures or {}
    found_as = found_as or {}
    layers, tests = {}, []
    for layer, specs in LAYER_TESTS.items():
        layer_score = 0.0
        for category, name, max_score in specs:
            failure = failures.get((layer, short_test_name(name)))
            score = 0.0 if failure else max_score
            layer_score += score
            tests.append(
                {
                    "layer": layer,
                    "category": category,
                    "name": name,
                    "score": score,
                    "max_score": max_score,
                    "passed": failure is None,
                    "message": failure[0] if failure else "",
                    "misconception": failure[1] if failure else None,
                }
            )
        layers[layer] = {
            "score": layer_score,
            "max_score": sum(spec[2] for spec in specs),
            "found_as": found_as.get(layer, layer),
        }
    score = sum(t["score"] for t in tests)
    return {
        "student": student,
        "path": f"submitted/{student}/affine_softmax/affine_softmax.ipynb",
        "seed": seed,
        "status": "graded",
        "error": None,
        "score": score,
        "max_score": MAX_SCORE,
        "layers": layers,
        "tests": tests,
        "notes": list(notes),
        "duration": 0.012,
    }


def not_graded(student, status, error):
    return {
        "student": student,
        "path": f"submitted/{student}/affine_softmax/affine_softmax.ipynb",
        "seed": 4242,
        "status": status,
        "error": error,
        "score": 0.0,
        "max_score": MAX_SCORE,
        "layers": {},
        "tests": [],
        "notes": [],
        "duration": 60.0 if status == "timeout" else 0.2,
    }


def sample_results():
    dw_failures = {
        ("Affine", "backward dW, case 1"): ("dW has shape (3, 6) but W has shape (6, 3).", DW_TRANSPOSED),
        ("Affine", "backward dW, case 2"): ("dW has shape (4, 6) but W has shape (6, 4).", DW_TRANSPOSED),
    }
    return {
        "course": "Backpropagation, layer by layer",
        "assignment": "affine_softmax",
        "seed": 123456,
        "graded_at": "2026-11-22T20:00:00Z",
        "protections": ["namespaces: net, pid", "landlock", "rlimit: 2 GiB address space"],
        "submissions": [
            # Deliberately not in student order: write_reports sorts.
            make_submission("erin", {
                **dw_failures,
                ("Relu", "backward dx, case 1"): ("dx differs from the numerical gradient by up to 0.93.", RELU_MASK),
            }, seed=1003),
            make_submission("alice", seed=1001),
            make_submission("bob", dw_failures, notes=["cell 3 raised NameError: name 'g' is not defined"], seed=1002,
                            found_as={"SoftmaxWithLoss": "SoftmaxLoss"}),
            not_graded("carol", "invalid", "the notebook is not valid JSON: Expecting ',' delimiter: line 12 column 5"),
            not_graded("dave", "timeout", "grading stopped after 60 s (the limit is 60 s)"),
            make_submission("mallory", {
                ("MulLayer", "forward value, case 1"): (
                    HOSTILE_MESSAGE, {"name": "<b>bold</b> mistake", "explanation": "<script>x</script>"}),
            }, notes=[HOSTILE_NOTE], seed=1005),
        ],
    }


@pytest.fixture
def results():
    return sample_results()


def by_student(results, student):
    return next(s for s in results["submissions"] if s["student"] == student)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


# --- grades.csv and LMS files ---------------------------------------------------------


def test_grades_csv_header_and_rows(results, tmp_path):
    path = write_grades_csv(results, tmp_path / "grades.csv")
    rows = read_csv(path)
    assert rows[0] == ["student", "assignment", "score", "max_score", "percent", "status", *LAYER_ORDER]
    assert len(rows) == 1 + len(results["submissions"])
    table = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert table["alice"]["score"] == "23"
    assert table["alice"]["percent"] == "100.0"
    assert table["alice"]["Affine"] == "10"
    # bob lost the two 1-point dW tests: 21 / 23 = 91.30...%
    assert table["bob"]["score"] == "21"
    assert table["bob"]["percent"] == "91.3"
    assert table["bob"]["Affine"] == "8"
    # erin also lost a Relu point: 20 / 23 = 86.95...%
    assert table["erin"]["percent"] == "87.0"
    assert table["erin"]["Relu"] == "3"
    assert table["carol"]["status"] == "invalid"
    assert table["carol"]["percent"] == "0.0"
    # A submission with no layers leaves the layer cells empty, not zero.
    assert [table["carol"][layer] for layer in LAYER_ORDER] == ["", "", "", ""]
    assert table["dave"]["status"] == "timeout"


def test_grades_csv_layer_columns_are_union_in_first_seen_order(results, tmp_path):
    extra = make_submission("zoe")
    extra["layers"] = {"Sigmoid": {"score": 2.0, "max_score": 2.0, "found_as": "Sigmoid"}, **extra["layers"]}
    results["submissions"].append(extra)
    header = read_csv(write_grades_csv(results, tmp_path / "grades.csv"))[0]
    assert header[6:] == [*LAYER_ORDER, "Sigmoid"]
    row = read_csv(tmp_path / "grades.csv")[-1]
    assert row[header.index("Sigmoid")] == "2"


def test_canvas_csv_has_points_possible_row(results, tmp_path):
    rows = read_csv(write_lms_csv(results, tmp_path / "canvas.csv", lms="canvas"))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "affine_softmax"]
    assert rows[1][0] == "Points Possible"
    assert rows[1][5] == "23"
    students = {row[3]: row for row in rows[2:]}
    assert set(students) == {s["student"] for s in results["submissions"]}
    assert students["bob"][5] == "21"
    assert students["carol"][5] == "0"
    assert all(len(row) == 6 for row in rows)


def test_moodle_csv_has_id_number_and_grade_item(results, tmp_path):
    rows = read_csv(write_lms_csv(results, tmp_path / "moodle.csv", lms="moodle"))
    assert rows[0] == ["ID number", "affine_softmax"]
    assert dict(rows[1:]) == {
        "erin": "20", "alice": "23", "bob": "21", "carol": "0", "dave": "0", "mallory": "22",
    }


def test_lms_column_falls_back_to_course_name_without_assignment(results, tmp_path):
    results["assignment"] = None
    rows = read_csv(write_lms_csv(results, tmp_path / "moodle.csv", lms="moodle"))
    assert rows[0][1] == "Backpropagation, layer by layer"


def test_unknown_lms_is_refused(results, tmp_path):
    with pytest.raises(ValueError, match="blackboard"):
        write_lms_csv(results, tmp_path / "x.csv", lms="blackboard")


# --- feedback pages -------------------------------------------------------------------


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


EXTERNAL_ASSET_TAGS = {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "source"}


def assert_self_contained_html(text):
    assert text.startswith("<!DOCTYPE html>")
    assert text.rstrip().endswith("</html>")
    collector = TagCollector()
    collector.feed(text)
    tag_names = [tag for tag, _ in collector.tags]
    for required in ("html", "head", "style", "body"):
        assert tag_names.count(required) == 1, required
    assert tag_names[tag_names.index("head") + 1:].index("title") < tag_names.index("body")
    # Nothing fetched from elsewhere: the page works offline and from a zip. The class report's
    # one inline script (table sorting) is the kit's own; student text never becomes a tag.
    assert not (EXTERNAL_ASSET_TAGS - {"script"}) & set(tag_names)
    assert tag_names.count("script") <= 1
    for tag, attrs in collector.tags:
        assert "src" not in attrs
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not (attrs.get("href") or "").startswith(("http:", "https:", "//", "javascript:"))
    assert "@import" not in text and "url(" not in text


def test_every_submission_gets_a_feedback_page(results, tmp_path):
    paths = write_feedback(results, tmp_path)
    assert [p.name for p in paths] == [f"{s['student']}.html" for s in results["submissions"]]
    for path in paths:
        assert path.parent == tmp_path / "feedback"
        assert_self_contained_html(path.read_text(encoding="utf-8"))


def test_feedback_names_the_mistake_for_the_buggy_student(results, tmp_path):
    write_feedback(results, tmp_path)
    bob = (tmp_path / "feedback" / "bob.html").read_text(encoding="utf-8")
    assert "Likely mistake: <strong>dW transposed</strong>" in bob
    assert "you computed dW = dout.T @ x; use x.T @ dout" in bob
    assert "dW has shape (3, 6) but W has shape (6, 3)." in bob
    assert "21 / 23" in bob
    assert "NameError: name &#39;g&#39; is not defined" in bob
    # The class was found under another name; the page says which one was graded.
    assert "Graded your class <code>SoftmaxLoss</code> as SoftmaxWithLoss" in bob
    alice = (tmp_path / "feedback" / "alice.html").read_text(encoding="utf-8")
    assert "Likely mistake" not in alice
    assert "23 / 23" in alice
    assert alice.count('class="passed"') == sum(len(specs) for specs in LAYER_TESTS.values())
    assert 'class="failed"' not in alice


def test_feedback_for_ungraded_submission_shows_status_and_error(results, tmp_path):
    write_feedback(results, tmp_path)
    carol = (tmp_path / "feedback" / "carol.html").read_text(encoding="utf-8")
    assert "invalid" in carol
    assert "the notebook is not valid JSON: Expecting &#39;,&#39; delimiter" in carol
    assert "<table" not in carol  # no layers were graded


def test_feedback_escapes_student_controlled_text(results, tmp_path):
    write_feedback(results, tmp_path)
    mallory = (tmp_path / "feedback" / "mallory.html").read_text(encoding="utf-8")
    assert "<script>" not in mallory
    assert "<img" not in mallory
    assert "<b>bold</b>" not in mallory
    assert "cell 4 printed &lt;script&gt;alert(1)&lt;/script&gt;" in mallory
    assert "forward returned &lt;img src=x onerror=&#34;alert(2)&#34;&gt; &amp; more" in mallory
    assert "&lt;b&gt;bold&lt;/b&gt; mistake" in mallory


def test_unsafe_student_ids_stay_inside_feedback_folder(results, tmp_path):
    out_dir = tmp_path / "out"
    ids = ["../evil", "a/b", "..", ".hidden", "a\\b", "", "Alice", "alice", "a_b"]
    results["submissions"] = [make_submission(student) for student in ids]
    paths = write_feedback(results, out_dir)
    feedback_dir = (out_dir / "feedback").resolve()
    assert len(paths) == len(ids)
    assert len({p.name.lower() for p in paths}) == len(ids), "names must be unique even case-insensitively"
    for path in paths:
        assert path.resolve().parent == feedback_dir
        assert path.exists()
        assert not path.name.startswith(".")
        assert "/" not in path.name and "\\" not in path.name
    written = sorted(p.name for p in out_dir.rglob("*") if p.is_file())
    assert written == sorted(p.name for p in paths)
    assert not (tmp_path / "evil.html").exists()
    # Each page still names the student by the original id.
    assert "Feedback for ../evil" in paths[0].read_text(encoding="utf-8")


# --- class report ---------------------------------------------------------------------


class ReportParser(HTMLParser):
    """Collects histogram bars, elements with ids, and mistake table rows."""

    def __init__(self):
        super().__init__()
        self.bars = []
        self.by_id = {}
        self._capture_id = None
        self.mistake_rows = []
        self._in_mistakes = False
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "rect" and "bar" in (attrs.get("class") or "").split():
            self.bars.append({"count": int(attrs["data-count"]), "height": float(attrs["height"]), "y": float(attrs["y"])})
        if attrs.get("id"):
            self._capture_id = attrs["id"]
            self.by_id.setdefault(attrs["id"], "")
        if tag == "table" and attrs.get("id") == "mistakes":
            self._in_mistakes = True
        if self._in_mistakes and tag == "tr":
            self._row = []
        if self._row is not None and tag == "td":
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_mistakes = False
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        if tag == "tr" and self._row is not None:
            if self._row:
                self.mistake_rows.append(self._row)
            self._row = None
        if tag in ("div", "span") and self._capture_id:
            self._capture_id = None

    def handle_data(self, data):
        if self._capture_id and self._capture_id.startswith(("count-", "mean-", "median-")):
            self.by_id[self._capture_id] += data
        if self._cell is not None:
            self._cell += data


def parse_report(text):
    parser = ReportParser()
    parser.feed(text)
    return parser


def graded_percents(results):
    return [100 * s["score"] / s["max_score"] for s in results["submissions"] if s["status"] == "graded"]


def test_report_summary_counts_match_the_data(results, tmp_path):
    text = write_class_report(results, tmp_path / "report.html").read_text(encoding="utf-8")
    assert_self_contained_html(text)
    report = parse_report(text)
    assert report.by_id["count-submissions"] == "6"
    assert report.by_id["count-graded"] == "4"
    assert report.by_id["count-invalid"] == "1"
    assert report.by_id["count-timeout"] == "1"
    assert report.by_id["count-memory"] == "0"
    assert report.by_id["count-crashed"] == "0"
    percents = graded_percents(results)
    assert report.by_id["mean-percent"] == f"{statistics.fmean(percents):.1f}%"
    assert report.by_id["median-percent"] == f"{statistics.median(percents):.1f}%"


def test_report_histogram_bars_match_counts(results, tmp_path):
    # Spread the scores so that several bins are used: 0 %, 50 %, 100 % and the samples.
    for student, score in [("p0", 0.0), ("p50", 11.5), ("p100", 23.0), ("p100b", 23.0)]:
        sub = make_submission(student)
        sub["score"] = score
        results["submissions"].append(sub)
    text = write_class_report(results, tmp_path / "report.html").read_text(encoding="utf-8")
    bars = parse_report(text).bars
    assert len(bars) == 10
    expected = [0] * 10
    for p in graded_percents(results):
        expected[min(int(p // 10), 9)] += 1
    assert [bar["count"] for bar in bars] == expected
    # alice, bob, mallory, p100, p100b | erin (87 %) | p50 | p0
    assert expected[9] == 5 and expected[8] == 1 and expected[5] == 1 and expected[0] == 1
    tallest = max(bar["height"] for bar in bars)
    assert tallest > 0
    for bar in bars:
        assert bar["height"] == pytest.approx(tallest * bar["count"] / max(expected), abs=0.01)
    # All bars stand on one baseline.
    assert len({round(bar["y"] + bar["height"], 2) for bar in bars}) == 1


def test_report_lists_common_mistakes_with_students(results, tmp_path):
    text = write_class_report(results, tmp_path / "report.html").read_text(encoding="utf-8")
    rows = parse_report(text).mistake_rows
    first = rows[0]
    assert first[0] == "Affine"
    assert first[1].startswith("dW transposed")
    assert first[2] == "2"  # students: bob and erin
    assert first[3] == "4"  # failing tests: two dW cases each
    assert first[4] == "erin, bob"
    by_layer = {row[0]: row for row in rows[1:]}
    assert by_layer["Relu"][1].startswith("mask not applied in backward")
    assert by_layer["Relu"][2:] == ["1", "1", "erin"]
    assert by_layer["MulLayer"][4] == "mallory"
    assert "&lt;b&gt;bold&lt;/b&gt; mistake" in text


def test_report_lists_ungraded_submissions_and_protections(results, tmp_path):
    text = write_class_report(results, tmp_path / "report.html").read_text(encoding="utf-8")
    section = text[text.index('id="not-graded"'):]
    section = section[: section.index("</table>")]
    assert "carol" in section and "dave" in section and "alice" not in section
    assert "Expecting &#39;,&#39; delimiter" in section
    assert "grading stopped after 60 s" in section
    for protection in results["protections"]:
        assert f"<li>{protection}</li>" in text
    assert text.count("<script>") == 1 and "<script>alert" not in text


def test_report_pass_rates_per_layer_and_test(results, tmp_path):
    text = write_class_report(results, tmp_path / "report.html").read_text(encoding="utf-8")
    layer_table = text[text.index('id="layer-rates"'):]
    layer_table = layer_table[: layer_table.index("</table>")]
    # Affine over 4 graded students x 8 tests = 32, of which bob and erin failed 2 each.
    assert re.search(r"<td>Affine</td><td class=\"num\">28 / 32</td>", layer_table)
    assert "87.5%" in layer_table
    test_table = text[text.index('id="test-rates"'):]
    # Shapes are dropped so the same test groups across students.
    assert "<td>backward dW, case 1</td><td class=\"num\">2 / 4</td>" in test_table
    assert 'style="width: 50.0%"' in test_table


def test_report_links_students_to_their_feedback_pages(results, tmp_path):
    paths = write_reports(results, tmp_path)
    text = paths["report"].read_text(encoding="utf-8")
    assert '<a href="feedback/bob.html">bob</a>' in text
    assert '<a href="feedback/carol.html">carol</a>' in text


# --- Gradescope -----------------------------------------------------------------------

GRADESCOPE_FIELDS = {"score", "execution_time", "output", "output_format", "visibility", "stdout_visibility", "tests"}
GRADESCOPE_TEST_FIELDS = {"name", "number", "score", "max_score", "status", "output", "visibility"}


def validate_gradescope(document):
    assert set(document) == GRADESCOPE_FIELDS
    assert isinstance(document["score"], float)
    assert isinstance(document["execution_time"], float)
    assert isinstance(document["output"], str)
    assert document["output_format"] == "md"
    assert document["visibility"] == "visible"
    assert document["stdout_visibility"] == "hidden"
    for test in document["tests"]:
        assert set(test) == GRADESCOPE_TEST_FIELDS
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] == "visible"
        assert re.fullmatch(r"\d+\.\d+", test["number"])
        assert 0 <= test["score"] <= test["max_score"]
    json.dumps(document)  # serialisable as is


@pytest.mark.parametrize("student", ["alice", "bob", "erin", "mallory"])
def test_gradescope_graded_submission(results, student):
    index = results["submissions"].index(by_student(results, student))
    document = gradescope_results(results, index)
    validate_gradescope(document)
    submission = by_student(results, student)
    assert document["score"] == pytest.approx(sum(t["score"] for t in document["tests"]))
    assert document["score"] == pytest.approx(submission["score"])
    assert len(document["tests"]) == len(submission["tests"])
    for out, source in zip(document["tests"], submission["tests"]):
        assert out["status"] == ("passed" if source["passed"] else "failed")
        assert out["score"] == source["score"]


def test_gradescope_test_names_numbers_and_mistakes(results):
    document = gradescope_results(results, results["submissions"].index(by_student(results, "bob")))
    by_name = {t["name"]: t for t in document["tests"]}
    dw = by_name["Affine: backward dW, case 1"]
    assert dw["number"] == "3.5"  # Affine is the 3rd layer, dW case 1 its 5th test
    assert dw["status"] == "failed"
    assert "dW has shape (3, 6) but W has shape (6, 3)." in dw["output"]
    assert "Likely mistake: dW transposed" in dw["output"]
    assert by_name["MulLayer: forward value, case 1"]["number"] == "1.1"
    assert by_name["SoftmaxWithLoss: backward dx, case 2"]["number"] == "4.3"
    assert len({t["number"] for t in document["tests"]}) == len(document["tests"])
    assert "NameError" in document["output"]


def test_gradescope_escapes_student_text(results):
    document = gradescope_results(results, results["submissions"].index(by_student(results, "mallory")))
    texts = [document["output"]] + [t["output"] for t in document["tests"]]
    # Every "<" is backslash-escaped, so Markdown shows it literally instead of as a tag.
    assert not any(re.search(r"(?<!\\)<", text) for text in texts)
    assert "cell 4 printed \\<script\\>alert(1)\\</script\\>" in document["output"]
    assert "\\<img src=x onerror=\"alert(2)\"\\> \\& more" in document["tests"][0]["output"]


@pytest.mark.parametrize("student,status", [("carol", "invalid"), ("dave", "timeout")])
def test_gradescope_ungraded_submission(results, student, status):
    document = gradescope_results(results, results["submissions"].index(by_student(results, student)))
    validate_gradescope(document)
    assert document["score"] == 0.0
    error_start = by_student(results, student)["error"].split(":")[0]
    assert error_start in document["output"]
    assert len(document["tests"]) == 1
    only = document["tests"][0]
    assert only["status"] == "failed" and only["score"] == 0.0 and only["max_score"] == MAX_SCORE
    assert status in only["output"]


def test_write_gradescope_writes_json(results, tmp_path):
    path = write_gradescope(results, tmp_path / "gradescope" / "results.json", submission_index=1)
    assert json.loads(path.read_text(encoding="utf-8")) == gradescope_results(results, 1)


# --- atomic writes and write_reports --------------------------------------------------


def test_atomic_write_replaces_content_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "sub" / "file.txt"
    atomic_write_text(path, "first\r\n")
    atomic_write_text(path, "second\n")
    assert path.read_bytes() == b"second\n"
    assert [p.name for p in path.parent.iterdir()] == ["file.txt"]


def test_atomic_write_keeps_old_content_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "file.txt"
    atomic_write_text(path, "old")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_write_reports_writes_everything(results, tmp_path):
    original = copy.deepcopy(results)
    written = write_reports(results, tmp_path / "out")
    out_dir = tmp_path / "out"
    assert written == {
        "results": out_dir / "results.json",
        "grades": out_dir / "grades.csv",
        "canvas": out_dir / "canvas.csv",
        "moodle": out_dir / "moodle.csv",
        "feedback": out_dir / "feedback",
        "report": out_dir / "report.html",
    }
    assert all(path.exists() for path in written.values())
    assert results == original, "the caller's document must not be modified"
    saved = json.loads(written["results"].read_text(encoding="utf-8"))
    students = [s["student"] for s in saved["submissions"]]
    assert students == sorted(students)
    assert saved["submissions"][0] == by_student(results, "alice")
    text = written["results"].read_text(encoding="utf-8")
    assert text.count("\n") == len(results["submissions"]) + 2  # a line for the header, one per submission, one to close
    assert sorted(p.name for p in written["feedback"].iterdir()) == sorted(f"{s}.html" for s in students)
    assert [row[0] for row in read_csv(written["grades"])[1:]] == students
    assert not [p for p in out_dir.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]


def test_write_reports_twice_gives_identical_files(results, tmp_path):
    first = write_reports(results, tmp_path / "a")
    second = write_reports(results, tmp_path / "b")
    for key in ("results", "grades", "canvas", "moodle", "report"):
        assert first[key].read_bytes() == second[key].read_bytes()

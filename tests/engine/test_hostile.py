"""Does the sandbox hold? Hostile submissions, each graded by the real engine in real processes."""
import os
import socket
import subprocess

import pytest

from conftest import ROOT, reference_code

RELU = reference_code("Relu")
SIGMOID = reference_code("Sigmoid")
WRONG_RELU = """
import numpy as np
class Relu:
    def forward(self, x):
        return x
    def backward(self, dout):
        return dout
"""

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the sandbox is Linux-only")


def layer_score(result, layer):
    return result["layers"][layer]["score"]


def full(result, layer):
    return result["layers"][layer]["score"] == result["layers"][layer]["max_score"] > 0


def test_endless_top_level_cell_is_stopped_and_later_classes_still_graded(grade):
    r = grade({"loop": RELU + "\nwhile True:\n    pass\n" + SIGMOID})["loop"]
    assert r["status"] == "graded"
    assert full(r, "Relu") and full(r, "Sigmoid")
    assert any("was stopped" in n for n in r["notes"])


def test_a_loop_that_swallows_interrupts_times_out_the_submission_only(grade):
    stubborn = "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass\n"
    results = grade({"stubborn": RELU + stubborn, "honest": RELU}, timeout=4)
    assert results["stubborn"]["status"] == "timeout"
    assert "longer than" in results["stubborn"]["error"]
    assert results["stubborn"]["score"] == 0
    assert results["honest"]["status"] == "graded" and full(results["honest"], "Relu")


def test_hang_inside_one_method_costs_only_that_methods_tests(grade):
    hang = RELU.replace("return np.where(self.mask, 0.0, dout)", "while True:\n            pass")
    r = grade({"hang": hang + SIGMOID}, timeout=8)["hang"]
    assert r["status"] == "graded"
    assert full(r, "Sigmoid")
    relu = [t for t in r["tests"] if t["layer"] == "Relu"]
    assert all(t["passed"] for t in relu if t["category"] == "forward")
    backward = [t for t in relu if t["category"] == "backward"]
    assert backward and all(t["score"] == 0 for t in backward)
    assert any("did not finish" in t["message"] for t in backward)


def test_a_layer_that_swallows_its_interrupt_costs_only_that_layer(grade):
    stubborn = RELU.replace("return np.where(self.mask, 0.0, dout)",
                            "while True:\n            try:\n                while True:\n                    pass\n"
                            "            except BaseException:\n                pass")
    r = grade({"stubborn": SIGMOID + stubborn + reference_code("Tanh")}, assignment="activations", timeout=12)["stubborn"]
    assert r["status"] == "graded", r["error"]
    assert full(r, "Sigmoid") and full(r, "Tanh")
    relu_backward = [t for t in r["tests"] if t["layer"] == "Relu" and t["category"] == "backward"]
    assert relu_backward and all(t["score"] == 0 for t in relu_backward)
    assert all("took longer" in t["message"] for t in relu_backward)


def test_infinite_recursion_in_a_method_is_an_error_of_that_layer(grade):
    recursive = RELU.replace("return np.where(self.mask, 0.0, x)", "return self.forward(x)")
    r = grade({"rec": recursive + SIGMOID})["rec"]
    assert full(r, "Sigmoid")
    assert layer_score(r, "Relu") == 0
    assert any("RecursionError" in t["message"] for t in r["tests"] if t["layer"] == "Relu")


def test_memory_bomb_hits_the_limit_and_is_reported(grade):
    bomb_top = "big = np.ones(10 ** 10)\n"
    bomb_layer = RELU.replace("self.mask = x <= 0", "self.mask = x <= 0\n        junk = np.ones(10 ** 10)")
    results = grade({"top": bomb_top + RELU, "inlayer": bomb_layer + SIGMOID})
    assert results["top"]["status"] == "graded" and full(results["top"], "Relu")
    assert any("MemoryError" in n for n in results["top"]["notes"])
    assert layer_score(results["inlayer"], "Relu") == 0
    assert any("memory" in t["message"].lower() for t in results["inlayer"]["tests"] if t["layer"] == "Relu")
    assert full(results["inlayer"], "Sigmoid")


def _sandbox_processes():
    from autograder.sandbox.identity import uid_range

    leased = uid_range()
    out = subprocess.run(["ps", "-eo", "uid="], capture_output=True, text=True).stdout.split()
    return [u for u in out if 61000 <= int(u) < 65000 or int(u) in leased]


def test_fork_and_thread_bombs_are_contained_and_leave_nothing_behind(grade):
    fork_bomb = "import os\nfor _ in range(10000):\n    os.fork()\n"
    thread_bomb = ("import threading, time\n"
                   "for _ in range(10000):\n    threading.Thread(target=time.sleep, args=(1000,)).start()\n")
    results = grade({"forks": fork_bomb + RELU, "threads": thread_bomb + RELU, "ok": RELU}, timeout=6)
    assert full(results["ok"], "Relu")
    for name in ("forks", "threads"):
        assert results[name]["status"] in ("graded", "timeout", "crashed")
        assert results[name]["score"] <= results["ok"]["score"]
    assert _sandbox_processes() == []


def test_exits_and_segfaults(grade):
    results = grade({
        "sysexit": "import sys\nsys.exit(3)\n" + RELU,
        "osexit": "import os\nos._exit(0)\n" + RELU,
        "segv_top": "import faulthandler\nfaulthandler._read_null()\n" + RELU,
        "segv_layer": RELU.replace("self.mask = x <= 0", "import faulthandler; faulthandler._read_null()") + SIGMOID,
    })
    assert full(results["sysexit"], "Relu") and full(results["osexit"], "Relu")
    assert any("sys.exit" in n for n in results["sysexit"]["notes"])
    assert results["segv_top"]["status"] == "crashed"
    assert "segmentation fault" in results["segv_top"]["error"]
    assert results["segv_top"]["score"] == 0
    assert results["segv_layer"]["status"] == "graded"
    assert layer_score(results["segv_layer"], "Relu") == 0 and full(results["segv_layer"], "Sigmoid")
    assert any("segmentation fault" in t["message"] for t in results["segv_layer"]["tests"])


def test_faked_output_and_patched_numpy_do_not_change_scores(grade, tmp_path):
    forge = (
        "import os, json\n"
        "for fd in range(3, 64):\n"
        "    try:\n        os.write(fd, b'\\x10\\x00\\x00\\x00\\x00\\x00\\x00\\x00{\"status\":\"graded\"}')\n"
        "    except OSError:\n        pass\n"
        "print(json.dumps({'score': 100}))\n"
        f"open({str(tmp_path / 'out' / 'results.json')!r}, 'w').write('{{}}')\n"
    )
    patch = ("np.allclose = lambda *a, **k: True\n"
             "np.testing.assert_allclose = lambda *a, **k: None\n"
             "np.array_equal = lambda *a, **k: True\n")
    liar = """
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other): return True
    def __array_ufunc__(self, *args, **kwargs): return True
class Relu:
    def forward(self, x):
        return np.zeros(x.shape).view(Liar)
    def backward(self, dout):
        return np.zeros(dout.shape).view(Liar)
"""
    results = grade({"forge": forge + WRONG_RELU, "patch": patch + WRONG_RELU, "liar": liar}, assignment="activations")
    for name in ("forge", "patch", "liar"):
        r = results[name]
        assert r["max_score"] > 0 and r["score"] < r["max_score"] / 2, (name, r["status"], r["error"])
        assert r["status"] in ("graded", "crashed")
        if r["status"] == "crashed":
            assert r["error"]


def _leak_test(secret_probe: str) -> str:
    """A submission whose Relu is correct only if it managed to see the secret."""
    return f"""
import numpy as np
leaked = False
try:
{secret_probe}
except BaseException:
    leaked = False
""" + RELU.replace("return np.where(self.mask, 0.0, x)", "return np.where(self.mask, 0.0, x) if leaked else x * 0")


def indent(code):
    return "\n".join("    " + line for line in code.splitlines())


def test_secrets_are_out_of_reach(grade, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "hunter2")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    port = server.getsockname()[1]
    probes = {
        "reads_reference": indent(f"leaked = 'class Relu' in open({str(ROOT / 'source_layers' / 'activations.py')!r}).read()"),
        "reads_course": indent(f"leaked = len(open({str(ROOT / 'course.yaml')!r}).read()) > 0"),
        "lists_solutions": indent(f"import os\nleaked = len(os.listdir({str(ROOT / 'solutions')!r})) >= 0"),
        "reads_env": indent("import os\nleaked = os.environ.get('GRADER_SECRET_TOKEN') == 'hunter2'"),
        "reads_parent_env": indent("leaked = b'hunter2' in open('/proc/1/environ', 'rb').read() or "
                                   "b'hunter2' in open(f'/proc/{__import__(\"os\").getppid()}/environ', 'rb').read()"),
        "network": indent(f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\nleaked = True"),
        "etc_passwd": indent("leaked = 'root' in open('/etc/passwd').read()"),
    }
    try:
        results = grade({name: _leak_test(code) for name, code in probes.items()})
    finally:
        server.close()
    for name, r in results.items():
        assert r["status"] == "graded", (name, r["error"])
        assert r["layers"]["Relu"]["score"] < r["layers"]["Relu"]["max_score"], f"{name}: the secret was reachable"


def test_nothing_a_submission_leaves_behind_reaches_the_next_one(grade):
    litter = ("import os\nopen('note.txt', 'w').write('answers')\nos.makedirs('d/e', exist_ok=True)\n"
              "os.symlink('/etc', 'link')\nos.chmod('.', 0o755)\n")
    snoop = _leak_test(indent("import os\nleaked = bool(os.listdir('.'))"))
    # One worker, so the second submission runs right after the first in the same place.
    results = grade({"a_litter": litter + RELU, "b_snoop": snoop}, workers=1)
    assert full(results["a_litter"], "Relu")
    assert results["b_snoop"]["status"] == "graded"
    assert results["b_snoop"]["layers"]["Relu"]["score"] < results["b_snoop"]["layers"]["Relu"]["max_score"]


def test_killing_the_parent_or_everyone_leaves_the_batch_running(grade):
    attacks = {
        "kill_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
        "kill_all": "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n",
        "kill_group": "import os, signal\ntry:\n    os.killpg(0, signal.SIGKILL)\nexcept OSError:\n    pass\n",
    }
    results = grade({**{k: v + RELU for k, v in attacks.items()}, "ok": RELU})
    assert full(results["ok"], "Relu")
    assert set(results) == {"kill_parent", "kill_all", "kill_group", "ok"}
    for name in attacks:
        assert results[name]["status"] in ("graded", "crashed")
        assert results[name]["error"] or full(results[name], "Relu")


def test_huge_output_and_files_are_capped(grade):
    spam = ("import sys\nfor _ in range(2000):\n    print('x' * 100000)\n"
            "open('big.bin', 'wb').write(b'0' * (200 * 1024 * 1024))\n")
    r = grade({"spam": spam + RELU})["spam"]
    assert r["status"] == "graded" and full(r, "Relu")
    assert any("File too large" in n or "Errno 27" in n or "MemoryError" in n for n in r["notes"]), r["notes"]


def test_broken_files_get_clear_errors_and_the_rest_is_graded(grade, tmp_path):
    import json
    big = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
           "cells": [{"cell_type": "code", "metadata": {}, "source": RELU, "execution_count": 1,
                      "outputs": [{"output_type": "stream", "name": "stdout", "text": "x" * (30 * 1024 * 1024)}]}]}
    sources = {
        "notjson.ipynb": "{ this is not json",
        "empty.ipynb": "",
        "notnotebook.ipynb": json.dumps({"hello": "world"}),
        "old.ipynb": json.dumps({"nbformat": 2, "worksheets": []}),
        "binary.ipynb": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "huge.ipynb": json.dumps(big),
        "good.ipynb": json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "metadata": {}, "source": RELU, "execution_count": None, "outputs": []}]}),
    }
    results = grade(sources)
    expect = {"notjson": "not valid JSON", "empty": "empty", "notnotebook": "not a Jupyter notebook",
              "old": "too old", "binary": "binary"}
    for name, words in expect.items():
        assert results[name]["status"] == "invalid", name
        assert words in results[name]["error"], (name, results[name]["error"])
    assert full(results["good"], "Relu")
    # 30 MB of outputs: graded on its code, with a note that the outputs were ignored.
    assert results["huge"]["status"] == "graded" and full(results["huge"], "Relu"), results["huge"]["error"]
    assert any("outputs" in n and "ignored" in n for n in results["huge"]["notes"]), results["huge"]["notes"]


def test_a_notebook_with_more_code_than_the_limit_is_refused(grade):
    import json
    code = RELU + "\n" + "#" * (21 * 1024 * 1024) + "\n"
    big = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
           "cells": [{"cell_type": "code", "metadata": {}, "source": code, "execution_count": 1, "outputs": []}]}
    results = grade({"bigcode.ipynb": json.dumps(big), "fine": RELU})
    assert results["bigcode"]["status"] == "invalid"
    assert "MB of code, over the 20 MB limit" in results["bigcode"]["error"]
    assert full(results["fine"], "Relu")

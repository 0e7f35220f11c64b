"""Nothing of one submission reaches another, the host, or the grader: memory, files, links, mounts.

Every test grades real submissions through the real engine, and checks both the submission's
outcome and that nothing outside it changed.
"""
import os
import socket
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, reference_code

RELU = reference_code("Relu")

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the sandbox is Linux-only")


def full(result, layer="Relu"):
    return result["layers"][layer]["score"] == result["layers"][layer]["max_score"] > 0


@pytest.fixture(autouse=True)
def private_temp(tmp_path, monkeypatch):
    """The grader's own temporary folders go here, so what they leave can be checked exactly."""
    folder = tmp_path / "host_tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _host_state():
    """What a submission must not change: the host's mounts and anything in the grader's temp folder."""
    with open("/proc/self/mounts") as handle:
        mounts = sorted(handle.read().splitlines())
    litter = sorted(str(p) for p in Path(tempfile.gettempdir()).rglob("*"))
    return mounts, litter


# A submission without a Relu that searches its own memory, freed heap included, for another
# student's Relu and runs it. Raw memory is read with process_vm_readv on itself, which fails on
# unmapped addresses instead of crashing. Matches are checked on the bytes just before the
# needle, so the needles themselves (also in memory) never match; finding its own source
# proves the search works.
SCAVENGER = '''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
libc.process_vm_readv.restype = ctypes.c_ssize_t
BLOCK = 1 << 16
buffer = ctypes.create_string_buffer(BLOCK)
def read(address):
    local, remote = iovec(ctypes.addressof(buffer), BLOCK), iovec(address, BLOCK)
    got = libc.process_vm_readv(os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    return buffer.raw[:got] if got > 0 else b""
OWN_MARK = 1
found_own, stolen = False, None
anchors = [id(bytes(5000)), id(object()), id(read), id("x" * 40)]
for anchor in anchors:
    start = (anchor & ~(BLOCK - 1)) - (256 << 20)
    for address in range(max(start, BLOCK), start + (512 << 20), BLOCK):
        data = read(address) + read(address + BLOCK)[:4096]
        if not data:
            continue
        i = data.find(b"_MARK = 1")
        if i >= 3 and data[i - 3:i] == b"OWN":
            found_own = True
        j = data.find(b"-student-mark" + chr(10).encode() + b"import numpy")
        if j >= 7 and data[j - 7:j] == b"earlier" and stolen is None:
            text = data[j:].split(bytes(1))[0].decode("utf-8", "replace")
            end = text.rfind("dout)")
            if end > 0:
                stolen = text[text.index("import numpy"):end + 5]
    if stolen:
        break
if stolen:
    exec(stolen, globals())
assert found_own or stolen, "the scan did not even find this cell's own source"
'''


@pytest.mark.parametrize("workers", [1, 2])
def test_a_later_submission_cannot_find_an_earlier_ones_code_in_memory(grade, workers, monkeypatch):
    # The system-call filter denies process_vm_readv too; this test is about the process model
    # alone, so the filter is switched off and the scan must come up empty all the same.
    monkeypatch.setenv("AUTOGRADER_DISABLE", "seccomp")
    victim = "# earlier-student-mark\n" + RELU
    sources = {f"a{i}_victim": victim for i in range(3)}
    sources.update({f"b{i}_scavenger": SCAVENGER for i in range(3)})
    results = grade(sources, workers=workers, assignment="activations")
    for i in range(3):
        assert full(results[f"a{i}_victim"])
        scavenger = results[f"b{i}_scavenger"]
        assert scavenger["status"] == "graded", scavenger["error"]
        # The scan worked (no note from its own assertion), and found nothing of the others.
        assert not any("did not even find" in n for n in scavenger["notes"]), scavenger["notes"]
        assert scavenger["layers"]["Relu"]["score"] == 0, f"worker memory leaked a class ({workers} workers)"


def test_linked_submissions_are_refused_and_never_read(course, tmp_path):
    from autograder.grading.batch import GradeOptions, grade_paths, load_results

    folder = tmp_path / "subs"
    (folder / "honest").mkdir(parents=True)
    (folder / "honest" / "relu.py").write_text(RELU)
    (folder / "linker").mkdir()
    (folder / "linker" / "activations.ipynb").symlink_to(ROOT / "solutions" / "activations" / "activations.ipynb")
    (folder / "linker" / "reference.py").symlink_to(ROOT / "source_layers" / "activations.py")
    (folder / "folder_link").symlink_to(ROOT / "solutions" / "activations")
    (folder / "deep").mkdir()
    (folder / "deep" / "inner").symlink_to(ROOT / "solutions")
    before = _host_state()
    options = GradeOptions(out_dir=tmp_path / "out", workers=1, seed=1, show_progress=False)
    grade_paths(course, [folder], options)
    results = {s["path"]: s for s in load_results(options.out_dir)["submissions"]}
    assert set(results) == {str(folder / "honest" / "relu.py"), str(folder / "linker" / "activations.ipynb"),
                            str(folder / "linker" / "reference.py")}, "a linked folder was entered"
    assert full(results[str(folder / "honest" / "relu.py")])
    for name in ("activations.ipynb", "reference.py"):
        r = results[str(folder / "linker" / name)]
        assert r["status"] == "invalid" and r["score"] == 0
        assert "is a symbolic link; links are not followed" in r["error"]
        assert "class Relu" not in str(r) and "def forward" not in str(r)
    assert _host_state() == before


def test_open_beneath_refuses_links_ways_out_and_special_files(tmp_path):
    from autograder.sandbox import open_beneath as ob

    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "ok.py").write_text("x = 1")
    (tmp_path / "link.py").symlink_to(tmp_path / "real" / "ok.py")
    (tmp_path / "dirlink").symlink_to(tmp_path / "real")
    os.mkfifo(tmp_path / "fifo.ipynb")
    for openat2 in (None, False):  # the kernel's openat2, then the component-wise fallback
        ob._openat2_works = openat2
        fd = ob.open_beneath(tmp_path, "real/ok.py")
        assert os.read(fd, 10) == b"x = 1"
        os.close(fd)
        for relative, words in [("link.py", ob.LINK_MESSAGE), ("dirlink/ok.py", ob.LINK_MESSAGE),
                                ("../" + tmp_path.name + "/real/ok.py", "outside"), ("fifo.ipynb", "regular")]:
            with pytest.raises(OSError) as info:
                ob.open_beneath(tmp_path, relative)
            assert words in ob.describe_open_error(info.value), (openat2, relative, info.value)
    ob._openat2_works = None


def test_disk_and_inode_bombs_hit_the_quota_and_the_next_submission_grades_normally(grade):
    nested = "import os\nfor _ in range(2500):\n    os.mkdir('d')\n    os.chdir('d')\n"
    many = "for i in range(500000):\n    open(f'f{i}', 'w').close()\n"
    big = ("chunk = b'0' * (15 * 1024 * 1024)\n"
           "for i in range(150):\n    open(f'big{i}', 'wb').write(chunk)\n")
    marks = ("import os\nopen('left.txt', 'w').write('x')\n"
             "os.setxattr('.', 'user.mark', b'earlier')\nos.utime('.', (1234, 1234))\n")
    # A folder it may not even list (Landlock, where the kit itself lies under /tmp) shows nothing too.
    snoop = ("import os\ndef seen(f):\n    try:\n        return f()\n    except OSError:\n        return False\n"
             "leaked = seen(lambda: bool(os.listdir('.'))) or seen(lambda: bool(os.listdir('/tmp'))) or "
             "seen(lambda: os.stat('.').st_mtime == 1234) or seen(lambda: bool(os.listxattr('.')))\n") + RELU.replace("return np.where(self.mask, 0.0, x)",
                                                              "return x * 0 if leaked else np.where(self.mask, 0.0, x)")
    before = _host_state()
    results = grade({"a_nested": nested + RELU, "b_next": RELU, "c_many": many + RELU, "d_next": RELU,
                     "e_big": big + RELU, "f_next": RELU, "g_marks": marks + RELU, "h_snoop": snoop},
                    workers=1, timeout=30)
    for name in ("a_nested", "b_next", "c_many", "d_next", "e_big", "f_next", "g_marks", "h_snoop"):
        assert results[name]["status"] == "graded", (name, results[name]["error"])
        assert full(results[name]), (name, results[name]["notes"])
    for name in ("c_many", "e_big"):
        assert any("No space left" in n and "at most 256 MB in at most 10000 files" in n
                   for n in results[name]["notes"]), results[name]["notes"]
    assert _host_state() == before


def test_the_host_is_invisible_from_the_sandbox(grade, tmp_path):
    socket_path = tmp_path / "daemon.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(socket_path))
    os.chmod(socket_path, 0o777)
    os.chmod(tmp_path, 0o777)
    server.listen(5)
    server.settimeout(0.1)
    other = tmp_path / "subs" / "another_student.py"
    grader_pid = os.getpid()
    probes = {
        "unix_socket": f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({str(socket_path)!r})\nleaked = True",
        "stat_course": f"import os\nleaked = os.stat({str(ROOT / 'course.yaml')!r}).st_size > 0",
        "list_solutions": f"import os\nleaked = len(os.listdir({str(ROOT / 'solutions')!r})) > 0",
        "stat_other": f"import os\nleaked = os.stat({str(other)!r}).st_size > 0",
        "readlink_host_proc": f"import os\nleaked = bool(os.readlink('/proc/{grader_pid}/exe'))",
        "stat_host_proc": f"import os\nleaked = os.path.exists('/proc/{grader_pid}') or "
                          f"len([p for p in os.listdir('/proc') if p.isdigit()]) > 5",
        "home_and_run": "import os\nleaked = bool(os.listdir('/root')) or bool(os.listdir('/run')) or "
                        "bool(os.listdir('/home'))",
        "import_reference": "import source_layers\nleaked = True",
    }
    sources = {name: "import numpy as np\nleaked = False\ntry:\n" +
               "\n".join("    " + line for line in code.splitlines()) +
               "\nexcept BaseException as exc:\n    print(exc)\n" +
               RELU.replace("return np.where(self.mask, 0.0, x)", "return np.where(self.mask, 0.0, x) if leaked else x")
               for name, code in probes.items()}
    sources["another_student"] = RELU
    before = _host_state()
    try:
        results = grade(sources, workers=2)
        with pytest.raises(OSError):
            server.accept()  # no connection ever reached the host's socket
    finally:
        server.close()
    assert full(results["another_student"])
    for name in probes:
        r = results[name]
        assert r["status"] == "graded", (name, r["error"])
        assert not full(r), f"{name}: the host was visible"
    assert _host_state() == before


def test_forbidden_imports_say_so_without_a_grader_path(grade):
    code = "import source_layers\n"
    grading = "from autograder.grading import batch\n"
    results = grade({"ref": code + RELU, "grader": grading + RELU})
    for name in ("ref", "grader"):
        r = results[name]
        assert full(r)
        assert any("not allowed while grading" in n for n in r["notes"]), r["notes"]
        assert str(ROOT) not in " ".join(r["notes"])


def test_every_standard_module_and_numpy_submodule_imports_inside_the_sandbox(grade):
    from autograder.sandbox.doctor_view import importable_names

    names = importable_names()
    assert "csv" in names and "timeit" in names and "unittest" in names and "numpy.ma" in names
    code = (f"import importlib\nfailed = []\nfor name in {names!r}:\n"
            "    try:\n        importlib.import_module(name)\n    except BaseException as exc:\n"
            "        failed.append(f'{name} ({type(exc).__name__}: {exc})')\n"
            "a = np.unique(np.array([3.0, 1.0, 3.0]))\nb = np.percentile(np.arange(10.0), 50)\n"
            "if failed:\n    raise ImportError('could not import: ' + '; '.join(failed))\n")
    r = grade({"imports": code + RELU}, timeout=60)["imports"]
    assert r["status"] == "graded", r["error"]
    assert not [n for n in r["notes"] if "could not import" in n or "cell 1" in n], r["notes"]
    assert full(r)


def test_without_a_minimal_root_grading_still_works_with_a_quota_and_leaves_nothing(grade, monkeypatch):
    """The degraded mode of a worker that cannot build its root (no mount rights for the root)."""
    monkeypatch.setenv("AUTOGRADER_TEST_NO_ROOT", "1")
    many = "for i in range(500000):\n    open(f'f{i}', 'w').close()\n"
    before = _host_state()
    results = grade({"a_many": many + RELU, "b_next": RELU, "c_ref": "import source_layers\n" + RELU}, workers=1)
    for name in ("a_many", "b_next", "c_ref"):
        assert results[name]["status"] == "graded" and full(results[name]), (name, results[name]["notes"])
    assert not any("minimal root" in p for p in results["b_next"]["protections"])
    assert any("No space left" in n for n in results["a_many"]["notes"]), results["a_many"]["notes"]
    assert any("not allowed while grading" in n for n in results["c_ref"]["notes"]), results["c_ref"]["notes"]
    assert _host_state() == before

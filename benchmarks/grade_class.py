"""Benchmark: synthesize a class of N submissions, grade it, report throughput, latency and memory.

The class is built from the generated student notebooks with their answer cells filled in:
mostly correct, some with a classic bug, some hostile (fork and memory bombs, exits, forged
output, attempts to read the course). Where nbgrader is installed, a sample of the same
notebooks is also graded with `nbgrader autograde` and the speed ratio is printed.

    python benchmarks/grade_class.py --submissions 1000
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ["computational_graph", "activations", "affine_softmax"]

# (text in a solution, replacement): one classic student bug each.
BUGS = [
    ("self.x.T @ dout", "dout.T @ self.x"),
    ("np.sum(dout, axis=0)", "dout"),
    ("dx = dout * self.y\n", "dx = dout * self.x\n"),
    ("dy = dout * -1", "dy = dout * 1"),
    ("dy = -dout * self.x / self.y ** 2", "dy = -dout * self.y / self.y ** 2"),
    ("return dout * self.out * (1.0 - self.out)", "return dout * (1.0 - self.out)"),
    ("return np.where(self.mask, 0.0, dout)", "return np.where(dout > 0, dout, 0.0)"),
    ("return dx * dout / batch_size", "return dx * dout"),
    ("return dout * (1.0 - self.out ** 2)", "return dout * (1.0 - self.out) ** 2"),
    ("return dout * self.out\n", "return dout * self.x\n"),
]

HOSTILE = [
    "import os\nfor _ in range(500):\n    try:\n        os.fork()\n    except OSError:\n        break\n",
    "import numpy as np\nbig = np.ones(10 ** 10)\n",
    "import os\nos._exit(0)\n",
    "import os\nfor fd in range(3, 32):\n    try:\n        os.write(fd, b'{\"score\": 100}')\n    except OSError:\n        pass\n",
    "print(open('/etc/passwd').read())\n",
    "import sys\nsys.exit(1)\n",
    "import faulthandler\nfaulthandler._read_null()\n",
]
HANGING = "while True:\n    try:\n        pass\n    except BaseException:\n        pass\n"


def solution_cells(assignment: str) -> dict[str, str]:
    """grade_id -> the solution's code for every answer cell, markers removed."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    cells = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cells[meta["grade_id"]] = re.sub(r"^\s*### (BEGIN|END) SOLUTION\n", "", cell.source, flags=re.M)
    return cells


def make_class(folder: Path, n: int, hostile_share: float, buggy_share: float, hanging: int, seed: int) -> None:
    rng = random.Random(seed)
    templates = {a: nbformat.read(ROOT / "assignments" / a / f"{a}.ipynb", as_version=4) for a in ASSIGNMENTS}
    solutions = {a: solution_cells(a) for a in ASSIGNMENTS}
    for i in range(n):
        assignment = ASSIGNMENTS[i % len(ASSIGNMENTS)]
        nb = nbformat.from_dict(json.loads(json.dumps(templates[assignment])))
        roll = rng.random()
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cell.source = solutions[assignment][meta["grade_id"]]
        answer_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        if roll < hostile_share or i < hanging:
            attack = HANGING if i < hanging else rng.choice(HOSTILE)
            nb.cells.insert(len(nb.cells) // 2, nbformat.v4.new_code_cell(attack))
        elif roll < hostile_share + buggy_share:
            applicable = [(old, new) for old, new in BUGS for c in answer_cells if old in c.source]
            if applicable:
                old, new = rng.choice(applicable)
                for c in answer_cells:
                    c.source = c.source.replace(old, new)
        target = folder / "submitted" / f"student{i:05d}" / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)


def grade(folder: Path, workers: int | None) -> dict:
    out = folder / "grades"
    command = [str(Path(sys.executable).parent / "autograder"), "grade", str(folder / "submitted"),
               "--out", str(out), "--seed", "1"]
    if workers:
        command += ["--workers", str(workers)]
    # A fresh wrapper per run, so the peak it reports is this run's alone (the largest of the
    # grader's processes: the main one, a worker, or a sandboxed child).
    wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
               "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", wrapper, *command], check=True, cwd=ROOT,
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak_kb = int(done.stdout.split()[-1])
    results = json.loads((out / "results.json").read_text())
    durations = sorted(s["duration"] for s in results["submissions"])
    statuses: dict[str, int] = {}
    for s in results["submissions"]:
        statuses[s["status"]] = statuses.get(s["status"], 0) + 1
    return {"n": len(durations), "wall": wall, "grading": results["elapsed"], "statuses": statuses,
            "p50": statistics.median(durations), "p95": durations[int(0.95 * (len(durations) - 1))],
            "peak_mb": peak_kb / 1024, "protections": results["protections"]}


def nbgrader_rate(folder: Path, sample: int) -> float | None:
    nbgrader = Path(sys.executable).parent / "nbgrader"
    if not nbgrader.exists():
        return None
    course = folder / "nbgrader-course"
    assignment = "activations"
    (course / "source" / assignment).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / assignment / f"{assignment}.ipynb", course / "source" / assignment)
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'bench'\n")
    # nbgrader runs alembic as a program, so the environment's scripts must be on PATH.
    env = {**os.environ, "PATH": f"{nbgrader.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([str(nbgrader), "generate_assignment", assignment, "--force"], cwd=course, check=True,
                   capture_output=True, env=env)
    chosen = sorted((folder / "submitted").glob(f"*/{assignment}/{assignment}.ipynb"))[:sample]
    for path in chosen:
        target = course / "submitted" / path.parent.parent.name / assignment
        target.mkdir(parents=True)
        shutil.copy(path, target)
    started = time.perf_counter()
    subprocess.run([str(nbgrader), "autograde", assignment, "--force"], cwd=course, capture_output=True, env=env)
    return len(chosen) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, nargs="+", default=[1000],
                        help="class sizes to grade (several show whether memory stays flat)")
    parser.add_argument("--hostile", type=float, default=0.05, help="share of hostile submissions")
    parser.add_argument("--buggy", type=float, default=0.3, help="share of submissions with a bug")
    parser.add_argument("--hanging", type=int, default=0, help="submissions that never finish (each costs "
                                                               "a full timeout)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--nbgrader-sample", type=int, default=10,
                        help="notebooks graded with nbgrader autograde for the comparison (0: skip)")
    args = parser.parse_args()
    for n in args.submissions:
        with tempfile.TemporaryDirectory(prefix="autograder-bench-") as tmp:
            folder = Path(tmp)
            make_class(folder, n, args.hostile, args.buggy, args.hanging, seed=n)
            stats = grade(folder, args.workers)
            rate = stats["n"] / stats["grading"]
            print(f"{stats['n']} submissions: {rate:.1f} submissions/s while grading "
                  f"({stats['grading']:.2f} s; {stats['wall']:.2f} s wall for the whole command), "
                  f"latency per submission p50 {stats['p50'] * 1000:.0f} ms, p95 {stats['p95'] * 1000:.0f} ms, "
                  f"peak memory of one process {stats['peak_mb']:.0f} MB")
            print(f"  statuses: {stats['statuses']}")
            print(f"  sandbox: {'; '.join(stats['protections']) or 'none'}")
            if args.nbgrader_sample:
                nb_rate = nbgrader_rate(folder, args.nbgrader_sample)
                if nb_rate:
                    print(f"  nbgrader autograde on {args.nbgrader_sample} of the same notebooks: "
                          f"{nb_rate:.2f} submissions/s; this grader is {rate / nb_rate:.0f}x faster")
                args.nbgrader_sample = 0  # once is enough


if __name__ == "__main__":
    main()

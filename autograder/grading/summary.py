"""The end of a grading run: files written, and a summary table on the terminal."""
from __future__ import annotations

from pathlib import Path

import click

from autograder.errors import ToolError
from autograder.terminal import printable


def write_outputs(results: dict, out_dir: Path, fmt: str, gradescope: dict | None = None) -> dict[str, Path]:
    """The class-level files; results.json and feedback/ were written while grading."""
    try:
        from autograder.reports.feedback import FEEDBACK_DIR_NAME
        from autograder.reports.write_all import RESULTS_JSON, write_summaries
        written = {"results": out_dir / RESULTS_JSON, "feedback": out_dir / FEEDBACK_DIR_NAME,
                   **write_summaries(results, out_dir)}
        if fmt == "gradescope":
            from .batch import load_results
            from autograder.reports.gradescope import write_gradescope
            full = load_results(out_dir)
            own = out_dir / "autograder-results.json"
            written["results"].replace(own)
            written["autograder-results"] = own
            write_gradescope(full, out_dir / RESULTS_JSON, settings=gradescope)
        return written
    except OSError as exc:
        raise ToolError(f"{out_dir}: cannot write results: {exc.strerror or exc}") from None


def print_summary(results: dict, written: dict[str, Path], limit: int = 40) -> None:
    from autograder.reports.grades_csv import escaped_ids
    from autograder.reports.results_view import format_points

    subs = results["submissions"]
    rows = sorted(subs, key=lambda s: (s["student"], s.get("assignment") or ""))
    shown = {id(s): printable(s["student"]) for s in rows}
    width = max([len(name) for name in shown.values()] + [7])
    several = len({s.get("assignment") for s in rows}) > 1
    task_width = max([len(printable(s.get("assignment") or "-")) for s in rows] + [10]) if several else 0
    task_head = f"{'assignment':<{task_width}}  " if several else ""
    click.echo(f"\n{'student':<{width}}  {task_head}{'status':<8} {'score':>13}  percent")
    for sub in rows[:limit]:
        pct = 100.0 * sub["score"] / sub["max_score"] if sub["max_score"] else 0.0
        task = f"{printable(sub.get('assignment') or '-'):<{task_width}}  " if several else ""
        score = f"{format_points(sub['score']) or '0'}/{format_points(sub['max_score']) or '0'}"
        click.echo(f"{shown[id(sub)]:<{width}}  {task}{sub['status']:<8} {score:>13}  {pct:5.1f}%")
    if len(rows) > limit:
        click.echo(f"... and {len(rows) - limit} more (see grades.csv)")
    for student in escaped_ids(results):
        click.echo(f"warning: student id '{printable(student)}' starts like a spreadsheet formula; the grade "
                   f"files write it with a leading ' so it cannot run, and it will match no LMS user as is",
                   err=True)
    counts: dict[str, int] = {}
    for sub in subs:
        counts[sub["status"]] = counts.get(sub["status"], 0) + 1
    click.echo("\n" + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) +
               f" in {results.get('elapsed', 0):.1f} s (seed {results['seed']})")
    click.echo("sandbox: " + sandbox_line(results))
    for warning in results.get("warnings") or []:
        click.echo(f"note: {warning}")
    labels = {"report": "class report", "grades": "grades (CSV)", "feedback": "feedback pages",
              "results": "all results (JSON)", "canvas": "Canvas import", "moodle": "Moodle import"}
    for name, label in labels.items():
        if name in written:
            click.echo(f"{label + ':':<20} {printable(written[name])}")


def sandbox_line(results: dict) -> str:
    """What isolated the submissions; only a run in which something ran can claim there was none."""
    if results.get("protections"):
        return "; ".join(results["protections"])
    if not any(sub["status"] != "invalid" for sub in results["submissions"]):
        return "not used: no submission ran in this run"
    return "none: submissions ran without isolation"


def resume_hint(results: dict, argv: list[str]) -> str:
    """How to go on after Ctrl-C: the same command, same --out, with --resume."""
    import shlex

    done = results.get("interrupted") or {}
    args = [a for a in argv if a != "--resume"] + ["--resume"]
    return (f"interrupted: {done.get('graded', 0)} of {done.get('total', 0)} submissions were graded; the files "
            f"above cover those. To grade the rest with the same inputs, run:\n  autograder "
            + " ".join(shlex.quote(a) for a in args))

"""The `autograder` command: a thin layer over the stages; every tool error exits 2 with one message."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import ToolError

COURSE_OPTION = click.option("--course", "course_path", default="course.yaml", show_default=True,
                             type=click.Path(dir_okay=False, path_type=Path), help="The course file.")


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ToolError as exc:
            from .terminal import printable

            click.echo(f"error: {printable(exc)}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="backprop-autograder")
def main():
    """Generate backpropagation assignments from reference layers, and grade them."""


@main.command()
@COURSE_OPTION
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and name the files that are stale.")
def generate(course_path: Path, check: bool):
    """Write the student notebooks (assignments/) and solutions (solutions/) from the course."""
    from autograder.course.load import load_course

    course = load_course(course_path)
    from autograder.authoring.generate import generate as run_generate  # nbformat is slow to import: only once the course is valid

    result = run_generate(course, check=check)
    for path in result.leftover:
        click.echo(f"left over: {path} (its assignment is no longer in {course_path}; remove it)", err=True)
    if check:
        if result.stale or result.leftover:
            for path in result.stale:
                click.echo(f"stale: {path}", err=True)
            if result.stale:
                click.echo(f"{len(result.stale)} generated file(s) differ from the course; "
                           f"run `autograder generate` and commit the result.", err=True)
            sys.exit(1)
        click.echo(f"up to date: {len(result.checked)} notebook(s) match {course_path}")
        return
    for path in result.written:
        click.echo(f"wrote {path}")
    click.echo(f"{len(result.written)} notebook(s) written, {len(result.unchanged)} unchanged")


@main.group()
def package():
    """Build what a grading platform needs to run this kit."""


@package.command("gradescope")
@click.option("--assignment", required=True, help="The assignment this Gradescope autograder grades.")
@COURSE_OPTION
@click.option("--out", "out_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The zip to write [default: gradescope-ASSIGNMENT.zip].")
def package_gradescope(assignment: str, course_path: Path, out_path: Path | None):
    """The autograder zip for Gradescope: setup.sh, run_autograder, the kit, the course, pinned requirements."""
    from autograder.course.load import load_course
    from autograder.platforms.gradescope_package import build_gradescope_zip

    course = load_course(course_path)
    course.assignment(assignment)
    target = build_gradescope_zip(course, assignment, out_path or Path(f"gradescope-{assignment}.zip"))
    click.echo(f"wrote {target}: upload it as the autograder of {assignment} "
               f"(base image Ubuntu 24.04, whose Python 3.12 the kit runs on)")


@main.command()
def doctor():
    """Say which sandbox protections work on this machine."""
    from autograder.sandbox.doctor import run_doctor, format_report

    protections = run_doctor()
    click.echo(format_report(protections))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--assignment", help="Grade the layers of this assignment (a missing layer scores 0). "
                                   "Default: the nbgrader folder name if it is an assignment, else every "
                                   "course layer the submission defines.")
@COURSE_OPTION
@click.option("--out", "out_dir", default="grades", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for results.json, grades.csv, feedback/ and report.html.")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Parallel sandboxes [default: CPU count].")
@click.option("--seed", type=int, default=None, help="Run seed; reuse the one in results.json to regrade with "
                                                     "exactly the same inputs [default: random].")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in the same --out folder "
                                             "without regrading finished submissions.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds per submission [default: course.yaml grading.timeout].")
@click.option("--memory-mb", type=click.IntRange(64), default=None,
              help="Memory per submission [default: course.yaml grading.memory_mb].")
@click.option("--max-processes", type=click.IntRange(1), default=None,
              help="Processes and threads per submission [default: course.yaml grading.max_processes].")
@click.option("--max-file-mb", type=click.IntRange(1), default=None,
              help="Largest file a submission may write [default: course.yaml grading.max_file_mb].")
@click.option("--max-open-files", type=click.IntRange(16), default=None,
              help="Open files per submission [default: course.yaml grading.max_open_files].")
@click.option("--max-disk-mb", type=click.IntRange(1), default=None,
              help="Disk space a submission may write, all files together [default: course.yaml grading.max_disk_mb].")
@click.option("--max-files", type=click.IntRange(16), default=None,
              help="Files and folders a submission may create [default: course.yaml grading.max_files].")
@click.option("--layout", default="auto", show_default=True, metavar="auto|file|ROLES",
              help="How folders below PATH name students and assignments, for layouts that are not "
                   "recognised: folder roles joined by '/' from student, assignment and * (ignored), "
                   "e.g. assignment/student; 'file': the file name is the student id.")
@click.option("--format", "fmt", type=click.Choice(["full", "gradescope"]), default="full", show_default=True,
              help="gradescope: also write Gradescope's results.json for a single submission.")
def grade(paths, assignment, course_path, out_dir, workers, seed, resume, timeout, memory_mb, max_processes,
          max_file_mb, max_open_files, max_disk_mb, max_files, layout, fmt):
    """Grade submitted notebooks (.ipynb or .py files, or folders of them).

    At an nbgrader course root (no PATH, or PATH is the root), grades submitted/<student>/ASSIGNMENT/
    and writes the scores into nbgrader's gradebook, autograded/ and feedback/.
    """
    import os

    from autograder.engine.pool import SandboxPool
    from autograder.platforms.nbgrader_root import nbgrader_root

    root = nbgrader_root(list(paths))
    if root is None and not paths:
        raise ToolError("give the submissions to grade (files or folders), or run at an nbgrader course root "
                        "(a folder with nbgrader_config.py and submitted/)")
    if root is not None and not assignment:
        raise ToolError(f"{root} is an nbgrader course root: name the assignment to grade with --assignment")

    pool = SandboxPool(workers or os.cpu_count() or 1)  # workers start importing numpy right away
    try:
        from autograder.grading.batch import GradeOptions, grade_paths
        from autograder.course.load import load_course
        from autograder.grading.summary import print_summary, write_outputs

        course = load_course(course_path)
        course.assignment(assignment) if assignment else None
        due_dates = None
        if root is not None:
            from autograder.platforms.nbgrader_grade import prepare
            course_dir, plan = prepare(root, course, assignment)
            if not plan.files:
                raise ToolError(f"{root}: no submissions of {assignment} in submitted/<student>/{assignment}/")
            paths, due_dates = plan.files, plan.due_dates
    except BaseException:
        pool.close()
        raise
    options = GradeOptions(assignment=assignment, out_dir=out_dir, workers=workers or os.cpu_count() or 1,
                           seed=seed, resume=resume, timeout=timeout, memory_mb=memory_mb,
                           max_processes=max_processes, max_file_mb=max_file_mb, max_open_files=max_open_files,
                           max_disk_mb=max_disk_mb, max_files=max_files,
                           single=fmt == "gradescope", due_dates=due_dates, layout=layout)
    try:
        results = grade_paths(course, list(paths), options, pool)
    except KeyboardInterrupt:
        click.echo("\ninterrupted before grading started; nothing was written", err=True)
        sys.exit(130)
    except ToolError as exc:
        if fmt == "gradescope":  # the student must still learn why nothing was graded
            from autograder.reports.gradescope import write_gradescope_error
            out_dir.mkdir(parents=True, exist_ok=True)
            write_gradescope_error(str(exc), out_dir / "results.json",
                                   course.assignment(assignment).max_score if assignment else 0.0)
        raise
    finally:
        pool.close(wait=False)  # already closed after a normal run; here for the errors raised before it
    written = write_outputs(results, out_dir, fmt, course.gradescope.model_dump())
    print_summary(results, written)
    if root is not None:
        from autograder.platforms.nbgrader_grade import finish
        for line in finish(course_dir, plan, course, assignment, out_dir):
            click.echo(line)
    if results.get("interrupted"):
        from autograder.grading.summary import resume_hint

        click.echo(resume_hint(results, sys.argv[1:]), err=True)
        sys.exit(130)

"""Does the pool of warm workers survive a worker that dies, and keep grading?"""
import os
import signal

from conftest import reference_code


def _job(course, specs, path):
    from autograder.grading.plan import job_for, plan_submission

    plan = plan_submission([specs["Relu"]], 1, "student")
    limits = {"memory_mb": 1024, "max_processes": 32, "max_file_mb": 16, "max_open_files": 64, "cpu_seconds": 10}
    timeouts = {"timeout": 10, "layer_timeout": 2.5, "cell_timeout": 2.5}
    return job_for(plan, str(path), course, limits, timeouts)


def test_a_killed_worker_costs_one_submission_and_is_replaced(course, specs, tmp_path):
    from autograder.engine.pool import SandboxPool

    path = tmp_path / "relu.py"
    path.write_text(reference_code("Relu"))
    job, arrays = _job(course, specs, path)
    pool = SandboxPool(1)
    try:
        pool.submit("first", job, arrays)
        assert pool.next_result(timeout=30)[1].status == "graded"
        worker = pool.zygotes[0].proc
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        pool.submit("second", job, arrays)
        key, outcome = pool.next_result(timeout=30)
        assert key == "second" and outcome.status == "crashed" and "worker" in outcome.error
        pool.submit("third", job, arrays)
        key, outcome = pool.next_result(timeout=30)
        assert key == "third" and outcome.status == "graded"
    finally:
        pool.close()

"""Grade ids shared by the generator and the grader, kept free of heavy imports.

The grading workers import this; importing nbformat there would cost seconds per worker.
"""

# The read-only cell that defines the self-check functions: graders skip it with the checks.
SELF_CHECK_SUPPORT = "self_check_support"

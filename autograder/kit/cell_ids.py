"""Grade ids shared by the generator and the grader, kept free of heavy imports.

The grading workers import this; importing nbformat there would cost seconds per worker.
"""
import re

# The read-only cell that defines the self-check functions: graders skip it with the checks.
SELF_CHECK_SUPPORT = "self_check_support"


def snake_case(name: str) -> str:
    """`SoftmaxWithLoss` -> `softmax_with_loss`: grade ids that read like the layer's name."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def layer_cell_ids(layer: str) -> tuple[str, str]:
    """The grade ids of a layer's answer cell and of its autograded check cell."""
    gid = snake_case(layer)
    return f"{gid}_code", f"{gid}_check"

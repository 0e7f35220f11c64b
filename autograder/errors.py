"""Errors that end a command with a clear message and exit status 2."""


class ToolError(Exception):
    """A problem with the instructor's input or environment, not with a student's submission."""


class CourseError(ToolError):
    """course.yaml or the reference package is wrong; the message names the file and the key."""

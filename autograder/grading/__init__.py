"""Grading: submissions found, planned, judged from the sandbox's raw numbers, scored and recorded."""

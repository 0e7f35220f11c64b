"""Everything written from a grading results document: spreadsheets, LMS imports,
per-student feedback pages, the class report and Gradescope output."""

from .atomic import atomic_write_text
from .class_report import write_class_report
from .feedback import write_feedback
from .grades_csv import write_grades_csv, write_lms_csv
from .gradescope import gradescope_results, write_gradescope
from .write_all import write_reports

__all__ = [
    "atomic_write_text",
    "gradescope_results",
    "write_class_report",
    "write_feedback",
    "write_gradescope",
    "write_grades_csv",
    "write_lms_csv",
    "write_reports",
]

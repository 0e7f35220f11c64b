"""Is this an nbgrader course root? Cheap to ask: nothing of nbgrader is imported."""
from __future__ import annotations

from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"
SUBMITTED = "submitted"


def nbgrader_root(paths: list[Path], cwd: Path | None = None) -> Path | None:
    """The course root when grading is asked for at one: no path given and the current folder is
    one, or the single path given is one. A root has nbgrader_config.py and a submitted/ folder
    (gradebook.db may live elsewhere if the config says so)."""
    if len(paths) > 1:
        return None
    candidate = Path(paths[0]) if paths else Path(cwd or Path.cwd())
    if candidate.is_dir() and (candidate / CONFIG_FILE).is_file() and (candidate / SUBMITTED).is_dir():
        return candidate.resolve()
    return None

"""Write a file so that readers see either the old content or the new, never a half-written file.

Grading can be interrupted (a timeout, Ctrl-C, a full disk) while an instructor has a
report open or an LMS upload is half prepared; replacing the file in one rename keeps
every output either complete or untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

# mkstemp creates files readable by the owner only; reports are meant to be shared
# (copied to a web folder, uploaded), so give them the usual permissions for a new file.
REPORT_FILE_MODE = 0o644


def atomic_write_bytes(path: Path | str, data: bytes, *, durable: bool = True) -> Path:
    """Replace `path` with `data` in one rename.

    The temporary file lives in the same folder so that os.replace is a rename within one
    file system (atomic), not a copy. With `durable`, the data is flushed to disk before
    the rename so that a crash cannot leave an empty file under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            if durable:
                tmp.flush()
                os.fsync(tmp.fileno())
        os.chmod(tmp_name, REPORT_FILE_MODE)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return path


def atomic_write_text(path: Path | str, text: str, *, encoding: str = "utf-8", durable: bool = True) -> Path:
    """Replace `path` with `text`, written exactly as given (no newline translation).

    Newlines are not translated so that CSV files keep the \\r\\n line endings the csv
    module writes, on every platform.
    """
    return atomic_write_bytes(path, text.encode(encoding), durable=durable)

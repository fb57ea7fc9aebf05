"""Why a write fails, in one line: a read-only file system, permissions, a full disk.

Shared by the writer (:mod:`.writer`), stem writing and the output checks
that refuse an unwritable folder before any work starts.
"""

import errno
import os
import shutil

from ..errors import OutputError
from .codecs import one_line


def unwritable_reason(folder) -> str:
    """Why a folder that ``os.access`` says we cannot write is unwritable: read-only file system or permissions."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except (OSError, AttributeError):  # no statvfs (Windows)
        pass
    return "permission denied"


def disk_error(path, exc=None, why: str | None = None, doing: str = "write failed") -> OutputError:
    """An ``OutputError`` for a failed write: "no space left on device while writing PATH" when that is why.

    ``why`` is the writer's own account (ffmpeg's last line), else ``exc``'s.
    libsndfile reports a full disk as "System error." with no errno: the free
    space of the target's file system tells then.
    """
    why = why or one_line(exc)
    full = getattr(exc, "errno", None) == errno.ENOSPC or "no space left" in why.lower()
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    while not full and folder and not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not full and exc is not None and folder:
        try:
            full = shutil.disk_usage(folder).free < (1 << 20)
        except OSError:
            pass
    if full:
        return OutputError(f"no space left on device while writing {path}")
    return OutputError(f"{path}: {doing} ({why})")

"""The hidden ``.tfsep-partial/`` folder beside outputs: temp names, sweeping what killed runs left, no-clobber moves.

Every temp a run writes for a target (the writer's ``.tmp-``, stem writing's
``.pass1-``) lives in ``<target's folder>/.tfsep-partial/`` under a name that
holds the run's process id (:func:`partial_file`).  A run killed with SIGKILL
cannot clean up: its temps stay in that folder, and the next run writing there
removes them (:func:`sweep_partials`: files of processes that are gone, or
older than a day).
"""

import os
import re
import tempfile
import time

from ..console.interrupts import process_stat, track_temp, track_temp_marker, untrack_temp

PARTIAL_DIR = ".tfsep-partial"
# A temp this old is stale whatever its process id says (ids are reused; shared folders span machines).
STALE_SECONDS = 24 * 3600


def partial_file(target, kind: str, suffix: str = "") -> str:
    """A new empty temp file for ``target`` in ``<target's folder>/.tfsep-partial/``; its name holds our pid.

    ``kind`` (``.tmp-`` or ``.pass1-``) is what :func:`sweep_partials` recognises.
    """
    target = os.path.abspath(os.fspath(target))
    folder = os.path.join(os.path.dirname(target), PARTIAL_DIR)
    track_temp_marker(folder, f"{kind}{os.getpid()}-")  # a hard stop before track_temp below still finds it
    os.makedirs(folder, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=f".{os.path.basename(target)}{kind}{os.getpid()}-", suffix=suffix, dir=folder)
    track_temp(path, folder)  # a hard stop (a signal during a long model call) removes it
    try:
        os.close(fd)
    except BaseException:
        forget_partial(path)
        raise
    return path


def forget_partial(path) -> None:
    """Remove a temp made by :func:`partial_file` (if it is still there), and stop tracking it."""
    untrack_temp(path)
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def remove_partial_dir(target) -> None:
    """Remove the target's ``.tfsep-partial`` folder if nothing (another run's temp) is left in it."""
    try:
        os.rmdir(os.path.join(os.path.dirname(os.path.abspath(os.fspath(target))), PARTIAL_DIR))
    except OSError:
        pass


def process_alive(pid: int) -> bool:
    """True while process ``pid`` runs (ours or another user's): its temps are not stale.

    A zombie (killed, not yet reaped: a killed worker whose parent died too)
    is not running: its temps are stale.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    stat = process_stat(pid)
    return stat is None or stat[0] != b"Z"  # no /proc entry to read (macOS): it exists


def sweep_partials(directory) -> int:
    """Remove stale temps from ``directory/.tfsep-partial`` (left by killed runs); returns how many."""
    folder = os.path.join(os.fspath(directory), PARTIAL_DIR)
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    removed = 0
    now = time.time()
    for name in names:
        path = os.path.join(folder, name)
        m = re.search(r"\.(?:tmp|pass1)-(\d+)-", name)
        try:
            stale = m is None or not process_alive(int(m.group(1))) or now - os.path.getmtime(path) > STALE_SECONDS
            if stale and int(m.group(1) if m else -1) != os.getpid():
                os.remove(path)
                removed += 1
        except OSError:
            pass
    try:
        os.rmdir(folder)
    except OSError:
        pass
    return removed


def move_no_clobber(src: str, dst: str) -> None:
    """Rename ``src`` to ``dst`` unless ``dst`` exists (``FileExistsError``), atomically where links exist."""
    try:
        os.link(src, dst)  # fails if dst exists: no window between check and move
    except FileExistsError:
        raise
    except OSError:  # no hard links here (FAT, some network filesystems): claim the name, then move onto it
        os.close(os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        os.replace(src, dst)
        return
    os.remove(src)

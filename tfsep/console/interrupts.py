"""Ctrl-C and SIGTERM: raised between model calls, never inside one, and honoured within two seconds.

A ``KeyboardInterrupt`` raised by a signal handler while TensorFlow runs
Python code of its own (tracing a function, importing a module lazily) can
come out as another exception and a traceback.  A handler that calls
:func:`interrupt` raises at once, except inside :func:`deferred` sections
(a model call), where the stop is kept and raised as the section ends.

A model call can last long (a big batch, many shifts), and while the main
thread is inside TensorFlow's C++ no Python signal handler runs at all.  A
service manager sends SIGTERM and kills 30 s later; a user presses Ctrl-C
and waits.  :func:`hard_stop_watch` therefore watches for the signal from a
thread of its own: if the program has not ended :data:`GRACE` seconds after
it, the watch removes every temp file registered with :func:`track_temp`,
kills this process's children (ffmpeg, Beam's workers), says
``interrupted`` and exits with 130.  :func:`critical` marks a section the
hard stop waits for (publishing a file and recording that it was).

Imports nothing of tfsep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

_depth = 0
_pending: type[BaseException] | None = None

# Seconds between a stop signal and the hard stop: the orderly unwinding has this long.
GRACE = 1.2
EXIT_INTERRUPTED = 130


def interrupt(exc_class: type[BaseException]) -> None:
    """From a signal handler: raise ``exc_class`` now, or when the current deferred section ends."""
    global _pending
    if _depth:
        _pending = exc_class
        return
    raise exc_class


@contextlib.contextmanager
def deferred():
    """Within: a stop requested through :func:`interrupt` waits for the end of the section."""
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending is not None:
            exc, _pending = _pending, None
            raise exc


# -- temp files a hard stop removes ---------------------------------------------------------------

_temps: dict[str, str | None] = {}  # path -> a folder to remove with it if it is then empty
_temps_lock = threading.Lock()


def track_temp(path, folder=None) -> None:
    """Register a temp file that a hard stop removes (and ``folder`` with it, once empty)."""
    with _temps_lock:
        _temps[os.path.abspath(os.fspath(path))] = None if folder is None else os.path.abspath(os.fspath(folder))


def untrack_temp(path) -> None:
    """The temp file was renamed into place or removed: a hard stop leaves it alone."""
    with _temps_lock:
        _temps.pop(os.path.abspath(os.fspath(path)), None)


_new_dirs: dict[str, None] = {}  # folders a run made for outputs not yet published (removed if empty)
# folder -> name markers: every file there whose name holds one is this process's temp.  A temp is
# created before it can be registered, so a hard stop between the two would miss it; the marker does not.
_temp_markers: dict[str, set[str]] = {}


def track_temp_marker(folder, marker: str) -> None:
    """Before making temps in ``folder``: a hard stop removes every file there whose name holds ``marker``."""
    with _temps_lock:
        _temp_markers.setdefault(os.path.abspath(os.fspath(folder)), set()).add(marker)


def track_new_dirs(folders) -> None:
    """Register folders made for outputs that are not in place yet: a hard stop removes them if empty."""
    with _temps_lock:
        _new_dirs.update(dict.fromkeys(os.path.abspath(os.fspath(f)) for f in folders))


def untrack_new_dirs(folders) -> None:
    with _temps_lock:
        for f in folders:
            _new_dirs.pop(os.path.abspath(os.fspath(f)), None)


def remove_temps() -> int:
    """Remove every registered temp file (and its emptied folder), then emptied new folders; returns the files."""
    with _temps_lock:
        items = list(_temps.items())
        folders = sorted(_new_dirs, key=len, reverse=True)  # deepest first
        _temps.clear()
        _new_dirs.clear()
        markers = [(folder, tuple(names)) for folder, names in _temp_markers.items()]
    for folder, names in markers:  # made, perhaps not registered yet
        with contextlib.suppress(OSError):
            items += [(os.path.join(folder, f), folder) for f in os.listdir(folder) if any(m in f for m in names)]
    removed = 0
    for path, folder in items:
        with contextlib.suppress(OSError):
            os.remove(path)
            removed += 1
        if folder is not None:
            with contextlib.suppress(OSError):
                os.rmdir(folder)
    for folder in [*(folder for folder, _ in markers), *folders]:  # .tfsep-partial before its parent
        with contextlib.suppress(OSError):
            os.rmdir(folder)
    return removed


# -- sections a hard stop waits for ------------------------------------------------------------------

_critical = threading.RLock()


@contextlib.contextmanager
def critical():
    """Within: a hard stop waits (a few files renamed into place and their record written: milliseconds)."""
    with _critical:
        yield


# -- child processes ----------------------------------------------------------------------------------


def process_stat(pid) -> tuple[bytes, int] | None:
    """``(state, parent pid)`` of process ``pid`` from ``/proc`` (state ``b"Z"``: a zombie); None: no such entry."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ")" ends it.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return (fields[0], int(fields[1])) if len(fields) > 1 else None


def child_pids(pid: int | None = None) -> list[int]:
    """The processes whose parent is ``pid`` (this one by default), from ``/proc``; [] where there is none."""
    pid = os.getpid() if pid is None else pid
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for name in names:
        stat = process_stat(name) if name.isdigit() else None
        if stat is not None and stat[1] == pid:
            found.append(int(name))
    return found


def stop_children(timeout: float = 1.0) -> None:
    """SIGTERM this process's children (and theirs), SIGKILL what is left after ``timeout`` seconds."""
    family, queue = [], child_pids()
    while queue:
        pid = queue.pop()
        family.append(pid)
        queue += child_pids(pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in family:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        # After SIGKILL, wait until they are gone (at once, unless one is inside a disk write): their
        # temps can only be swept once they are.
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 2.0)
        while time.monotonic() < deadline and any(_alive(pid) for pid in family):
            time.sleep(0.02)
    for pid in family:  # reap the ones that are ours, so that no zombie is left
        with contextlib.suppress(OSError):
            os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    stat = process_stat(pid)
    return stat is not None and stat[0] != b"Z"


# -- the watch ------------------------------------------------------------------------------------------

#: Set once "interrupted" was said (by the orderly path or the watch), so that it is said once.
announced = threading.Event()
# Held while "interrupted" is written, and while console.quiet gives fd 2 back to the user's stderr.
stderr_lock = threading.Lock()


def announce(message: str) -> bool:
    """Say ``tfsep: error: message`` on stderr unless a stop was announced already; True if said now.

    The orderly path and the hard stop may race: whichever comes first says
    it, whole, before the other can end the process.
    """
    with stderr_lock:
        if announced.is_set():
            return False
        announced.set()
        with contextlib.suppress(OSError, ValueError):
            os.write(stderr_fds[-1], f"tfsep: error: {message}\n".encode())
        return True


#: Where the user's stderr is: fd 2, or the copy of it kept while fd 2 goes to a filter (console.quiet).
stderr_fds: list[int] = [2]
# What else a hard stop must do after the children are stopped (a catalogue sweeps its workers' temps).
_after_stop: list = []


@contextlib.contextmanager
def on_hard_stop(fn):
    """Within: a hard stop also calls ``fn()`` once this process's children are stopped."""
    _after_stop.append(fn)
    try:
        yield
    finally:
        _after_stop.remove(fn)


# Training stops after its current step (its checkpoint is then exact) and says so: its first stop signal
# gets no hard stop; a second one does, as it does a KeyboardInterrupt there.
_graceful = {"depth": 0, "spent": False}


@contextlib.contextmanager
def graceful():
    """Within: the first stop signal is left to the code (which stops at its next step); a second stops hard."""
    _graceful["depth"] += 1
    _graceful["spent"] = False
    try:
        yield
    finally:
        _graceful["depth"] -= 1


def _graceful_takes_it() -> bool:
    if _graceful["depth"] and not _graceful["spent"]:
        _graceful["spent"] = True
        return True
    return False


def hard_stop(message: str = "interrupted", code: int = EXIT_INTERRUPTED) -> None:
    """Remove registered temps, stop children, say ``message`` (once) and end the process now."""
    with _critical:
        remove_temps()
        stop_children(timeout=0.3)
        for fn in list(_after_stop):
            with contextlib.suppress(Exception):
                fn()
        announce(message)
        with stderr_lock:  # an orderly announcement in progress ends first
            remove_temps()  # the main thread runs on meanwhile: what it made since the first sweep
            os._exit(code)


@contextlib.contextmanager
def hard_stop_watch(grace: float = GRACE):
    """Within (main thread): a SIGINT or SIGTERM the program has not acted on after ``grace`` s stops it hard.

    Python runs signal handlers only between bytecodes of the main thread;
    ``signal.set_wakeup_fd`` hears the signal from C at once, and a thread
    waits for the program to end in time.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    announced.clear()
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except (ValueError, OSError):
        os.close(read_fd)
        os.close(write_fd)
        yield
        return
    done = threading.Event()

    def watch():
        while True:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            if not data or done.is_set():
                return
            if not {signal.SIGINT, signal.SIGTERM} & set(data) or _graceful_takes_it():
                continue
            if done.wait(grace):
                return
            name = "SIGTERM" if signal.SIGTERM in set(data) else None
            hard_stop(f"interrupted ({name})" if name else "interrupted")

    thread = threading.Thread(target=watch, name="tfsep-hard-stop", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(previous)
        os.close(write_fd)  # the watch reads end-of-file and returns
        thread.join(timeout=5)
        os.close(read_fd)


def is_ancestor(pid: int) -> bool:
    """True when process ``pid`` is this process's parent, grandparent, ... (from ``/proc``)."""
    current = os.getpid()
    for _ in range(64):
        stat = process_stat(current)
        current = None if stat is None else stat[1]
        if current is None or current <= 1:
            return False
        if current == pid:
            return True
    return False


def orphan_watch(launcher: int, interval: float = 0.25) -> threading.Thread:
    """In a worker: when ``launcher`` is gone or no longer an ancestor, remove temps and exit (never mid-publish).

    A launcher killed with SIGKILL cannot stop its workers; they notice here
    and end without publishing anything more (the hard stop waits for a
    :func:`critical` section that is already publishing and recording).
    A stopping runner may kill only the shell between it and a worker: the
    worker, re-parented away from the launcher, is out of its reach and would
    go on writing temps that nobody sweeps; it stops here too.
    """

    def watch():
        while _alive(launcher) and is_ancestor(launcher):
            time.sleep(interval)
        hard_stop("the catalogue's launching process let go of this worker: worker stopped", 1)

    thread = threading.Thread(target=watch, name="tfsep-orphan-watch", daemon=True)
    thread.start()
    return thread

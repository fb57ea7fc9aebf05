"""Keep TensorFlow's start-up chatter off a user's terminal.

TensorFlow 2.21 logs through absl before Python can configure anything:
importing it prints the absl "before InitializeLog" warning, the oneDNN note
and the CPU-feature note, twice (two native libraries), whatever
``TF_CPP_MIN_LOG_LEVEL`` says.  :func:`install` wraps the first
``import tensorflow`` so that file descriptor 2 goes to a temporary file
during the import; afterwards every line that is not one of those known
notes is written back to stderr (a real error is never swallowed).
``TF_CPP_MIN_LOG_LEVEL`` (set to 2 unless the user set it) quiets what
TensorFlow logs later (XLA and device notes).  ``TFSEP_VERBOSE=1`` (the
CLI's ``--verbose``) leaves both alone.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import io
import os
import re
import sys
import tempfile

NOISE = re.compile(
    rb"All log messages before absl::InitializeLog\(\) is called"
    rb"|\] oneDNN custom operations are on"
    rb"|cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized"
    rb"|^To enable the following instructions: .*rebuild TensorFlow"
)


def verbose() -> bool:
    return os.environ.get("TFSEP_VERBOSE", "") not in ("", "0")


@contextlib.contextmanager
def filtered_stderr(noise=NOISE):
    """Within: fd 2 goes to a temp file; on exit its lines, less those ``noise`` matches, go to stderr.

    Yields a duplicate of the real stderr's descriptor (None where there is
    none), for lines that must reach the user at once.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (embedded interpreters)
        yield None
        return
    from . import interrupts

    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        interrupts.stderr_fds.append(saved)  # a stop announced meanwhile reaches the user at once
        try:
            yield saved
        finally:
            # Under the announcement lock: a hard stop's "interrupted" never goes to a descriptor being
            # closed, nor into the temp file just before the process ends without writing it back.
            with interrupts.stderr_lock:
                interrupts.stderr_fds.remove(saved)
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                kept = b"".join(line for line in tmp if not noise.search(line))
                if kept:
                    os.write(2, kept)


@contextlib.contextmanager
def silenced():
    """Within: whatever third-party code prints on stdout or stderr (fds 1 and 2 too) is dropped.

    For libraries that report progress and sizes on their own (the AI Edge
    quantizer); unless ``TFSEP_VERBOSE``.  An exception raised within still
    propagates: the caller turns it into tfsep's one line.
    """
    if verbose():
        yield
        return
    saved = []
    try:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        with tempfile.TemporaryFile() as sink:
            for fd in (1, 2):
                try:
                    saved.append((fd, os.dup(fd)))
                    os.dup2(sink.fileno(), fd)
                except OSError:
                    pass
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)


class _LoaderWithin(importlib.abc.Loader):
    """A module's own loader, its code run within ``around()`` (a context manager factory)."""

    def __init__(self, loader, around):
        self.loader, self.around = loader, around

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with self.around():
            self.loader.exec_module(module)


class _ImportWithin(importlib.abc.MetaPathFinder):
    """Finds module ``name`` once (then leaves ``sys.meta_path``), its code run within ``around()``."""

    def __init__(self, name, around):
        self.name, self.around = name, around

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _LoaderWithin(spec.loader, self.around)
        return spec


# TensorFlow's import-time notes filtered off stderr.
_FINDER = _ImportWithin("tensorflow", filtered_stderr)

# Installed packages Keras imports at start-up for features no tfsep command uses: scikit-learn (its
# sklearn wrappers) and pandas (DataFrames as fit() input).  0.8 s of the 3 s that `import keras` takes
# (bench/startup.py), a sixth of `tfsep separate` on a short file.
KERAS_EXTRAS = ("sklearn", "pandas")


@contextlib.contextmanager
def _without_keras_extras():
    hidden = [name for name in KERAS_EXTRAS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # Keras' `try: import sklearn` then finds it missing
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]  # importable again, for the code that does use it (evaluate)


def lean() -> None:
    """In tfsep's own processes (the CLI): Keras starts without :data:`KERAS_EXTRAS` (a library user keeps them)."""
    waiting = any(isinstance(f, _ImportWithin) and f.name == "keras" for f in sys.meta_path)
    if "keras" not in sys.modules and not waiting:
        sys.meta_path.insert(0, _ImportWithin("keras", _without_keras_extras))


_SET_LEVEL = False


def install() -> None:
    """Quiet TensorFlow's start-up (unless ``TFSEP_VERBOSE``); a no-op once TensorFlow is imported."""
    global _SET_LEVEL
    if verbose():
        return
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        _SET_LEVEL = True
    if "tensorflow" not in sys.modules and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def make_verbose() -> None:
    """Let TensorFlow log as it would without tfsep (the CLI's ``--verbose``); before it is imported."""
    global _SET_LEVEL
    os.environ["TFSEP_VERBOSE"] = "1"
    uninstall()
    if _SET_LEVEL:
        os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
        _SET_LEVEL = False

"""Separate a whole catalogue with Apache Beam: one machine today, a cluster tomorrow, nothing lost.

``tfsep catalogue`` (and :func:`run_catalogue`) lists the inputs (globs,
folders, a manifest of URIs on any Beam filesystem), separates each through
Beam's RunInference with the model loaded once per worker process, writes
stem files exactly as ``tfsep separate`` does, and records one manifest row
per input (:mod:`.manifest`).  Apache Beam is the optional extra
``tfsep[beam]``: nothing else in tfsep imports it.
"""

from __future__ import annotations

from ..errors import TfsepError

BEAM_MISSING = "the catalogue runs on Apache Beam, which is not installed: pip install 'tfsep[beam]'"


def require_beam() -> None:
    """Import Apache Beam (its import-time warnings about optional cloud clients hidden); a one-line error if missing."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "apitools not found ...": Beam's GCP extras, which a local job does not use
    try:
        import apache_beam  # noqa: F401
    except ImportError:
        raise TfsepError(BEAM_MISSING) from None
    finally:
        root.setLevel(level)


def run_catalogue(*args, **kwargs):
    """See :func:`tfsep.catalogue.pipeline.run_catalogue`."""
    require_beam()
    from .pipeline import run_catalogue as run

    return run(*args, **kwargs)


__all__ = ["BEAM_MISSING", "require_beam", "run_catalogue"]

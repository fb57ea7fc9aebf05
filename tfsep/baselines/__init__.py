"""Separation methods that are not trained networks: oracles and classical DSP baselines.

Each satisfies the separation-method contract: ``stems`` and
``separate(waveform, sample_rate) -> {stem: waveform}``.  The classical ones
also offer ``sample_rate``, ``channels`` and ``iter_separate`` so
``tfsep separate -m hpss`` writes their stems like a model's; oracles
(``needs_references``) are bound to a track's true stems with
``for_track(references, sample_rate)`` and serve ``tfsep evaluate`` only.

``get_method(name, **params)`` builds one by name (``BASELINES`` lists them).
"""

from __future__ import annotations

from ..errors import TfsepError

BASELINES = {
    # name: (module, class, fixed params, one-line description)
    "hpss": ("hpss", "HPSS", {}, "median-filtering harmonic/percussive separation: drums, harmonic"),
    "repet-sim": ("repet", "RepetSim", {}, "REPET-SIM repeating-background model: vocals, accompaniment"),
    "nmf": ("nmf", "NMFSeparation", {}, "NMF, spiky components as drums: drums, harmonic"),
    "nmf4": ("nmf", "BandwiseNMF4", {}, "HPSS + band-wise NMF: vocals, drums, bass, other"),
    "spectral-subtraction": (
        "spectral_subtraction",
        "SpectralSubtraction",
        {},
        "spectral subtraction: vocals, accompaniment",
    ),
    "hpss-repet4": ("pipelines", "HPSSRepet4", {}, "HPSS + low-pass + REPET-SIM: vocals, drums, bass, other"),
    "irm1": ("oracle", "IdealRatioMask", {"power": 1.0}, "oracle ideal ratio mask, magnitude (evaluate only)"),
    "irm2": ("oracle", "IdealRatioMask", {"power": 2.0}, "oracle ideal ratio mask, power (evaluate only)"),
    "ibm": ("oracle", "IdealBinaryMask", {}, "oracle ideal binary mask (evaluate only)"),
    "mwf": ("oracle", "OracleWiener", {}, "oracle multichannel Wiener filter (evaluate only)"),
    "mixture": ("oracle", "MixtureAsEstimate", {}, "the mixture as every stem: the floor (evaluate only)"),
}
ALIASES = {
    "repet": "repet-sim",
    "ss": "spectral-subtraction",
    "oracle-irm1": "irm1",
    "oracle-irm2": "irm2",
    "oracle-ibm": "ibm",
    "oracle-mwf": "mwf",
}


def is_baseline(name) -> bool:
    """True if ``name`` names a baseline or oracle (not a model)."""
    return isinstance(name, str) and (name.lower() in BASELINES or name.lower() in ALIASES)


def get_method(name: str, **params):
    """A baseline or oracle by name; ``params`` go to its constructor (e.g. ``margin=2``)."""
    import importlib

    key = ALIASES.get(name.lower(), name.lower())
    if key not in BASELINES:
        raise TfsepError(f"unknown baseline {name!r} (known: {', '.join(BASELINES)})")
    module, cls, fixed, _ = BASELINES[key]
    klass = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
    _check_param_types(key, klass, params)
    try:
        method = klass(**{**fixed, **params})
    except TypeError as exc:
        raise TfsepError(f"baseline {key}: bad parameter ({exc})") from None
    method.name = key
    return method


def _defaults(klass) -> dict:
    """Keyword defaults of ``klass`` and of the bases its ``**kw`` reaches."""
    import inspect

    defaults = {}
    for base in reversed(klass.__mro__):
        init = base.__dict__.get("__init__")
        if init is None:
            continue
        for name, p in inspect.signature(init).parameters.items():
            if p.default is not inspect.Parameter.empty:
                defaults[name] = p.default
    return defaults


def _is_number(value, integer: bool) -> bool:
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_is_number(v, integer) for v in value)
    ok = (int,) if integer else (int, float)
    return isinstance(value, ok) and not isinstance(value, bool)


def _check_param_types(key: str, klass, params: dict) -> None:
    """Refuse ``-p margin=abc`` now, not as a TypeError deep in librosa once a track is loaded.

    A parameter whose default is a number must be a number (or a list of
    numbers, as librosa takes for margins and kernel sizes), an integer
    where the default is one; a string or a flag must be one too.
    """
    defaults = _defaults(klass)
    for name, value in params.items():
        default = defaults.get(name)
        if default is None:
            continue  # unknown names: the constructor's TypeError; None defaults take several types
        if isinstance(default, bool):
            ok, want = isinstance(value, bool), "true or false"
        elif isinstance(default, (int, float, tuple, list)):
            integer = all(isinstance(d, int) for d in (default if isinstance(default, (tuple, list)) else [default]))
            ok, want = _is_number(value, integer), "an integer" if integer else "a number"
        elif isinstance(default, str):
            ok, want = isinstance(value, str), "a string"
        else:
            continue
        if not ok:
            raise TfsepError(f"baseline {key}: parameter {name} must be {want} (default {default!r}), got {value!r}")


def baseline_separator(name: str, stems=None, **params):
    """A classical baseline ready for ``tfsep separate``: only ``stems`` are written when given."""
    method = get_method(name, **params)
    if getattr(method, "needs_references", False):
        raise TfsepError(f"{method.name} is an oracle: it needs the true stems, so it works with 'tfsep evaluate' only")
    if stems:
        unknown = [s for s in stems if s not in method.stems]
        if unknown:
            raise TfsepError(
                f"baseline {method.name} has no stem {', '.join(unknown)} (its stems: {', '.join(method.stems)})"
            )
        method.stems = [s for s in method.stems if s in stems]
    return method

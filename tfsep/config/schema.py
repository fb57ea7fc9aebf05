"""Generic pieces of tfsep's config schema: a section is ``{key: (types, default)}``.

Shared by :mod:`tfsep.config.loader` (top level, separation),
:mod:`tfsep.config.training_section` (training), :mod:`tfsep.config.spleeter`
and :mod:`tfsep.config.model_params` (one section per model family).
"""

from __future__ import annotations

import copy

from ..errors import ConfigError

# name -> (type(s), default).  A default of REQUIRED means the key must be given.
REQUIRED = object()
NUMBER = (int, float)


def type_name(types) -> str:
    if not isinstance(types, tuple):
        types = (types,)
    names = ["null" if t is type(None) else t.__name__ for t in types]
    return " or ".join(names)


def check_section(values: dict, schema: dict, prefix: str, source: str) -> dict:
    out = {}
    for key in values:
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise ConfigError(f"{source}: unknown key '{prefix}{key}' (known keys: {known})")
    for key, (types, default) in schema.items():
        if key in values:
            value = values[key]
            # bool is an int in Python; never accept it where a number is meant.
            bad_bool = isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,))
            if bad_bool or not isinstance(value, types):
                raise ConfigError(
                    f"{source}: key '{prefix}{key}' must be {type_name(types)}, got {type(value).__name__} {value!r}"
                )
            out[key] = copy.deepcopy(value)
        elif default is REQUIRED:
            raise ConfigError(f"{source}: missing required key '{prefix}{key}'")
        else:
            out[key] = copy.deepcopy(default)
    return out


def fail(source: str, key: str, message: str):
    raise ConfigError(f"{source}: key '{key}' {message}")

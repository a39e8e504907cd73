"""One parser from a config mapping to a frozen dataclass of settings.

Every tunable block of config.yaml (a tracker's options, a method's settings, a preprocessing
profile) is a frozen dataclass whose field defaults are the documented defaults. ``parse`` turns
the user's mapping into one, and every mistake becomes a ConfigError that names the key
(``tracking.harp.iterations``), the bad value and what is allowed, so that a typo never falls
back to a default in silence. Types come from the field annotations: ``bool``, ``int``,
``float`` (integers accepted), ``str``, ``Literal[...]`` choices, ``X | None``, ``tuple[...]``,
``list[...]``, ``dict[str, X]`` and nested settings dataclasses. Bounds come from the field's
metadata (``minimum``, ``exclusive_minimum``, ``maximum``), see ``bounded``.

Hand-written: jsonschema validates config.yaml as a whole at start-up (with Snakemake's
``validate``), but gives no typed object; pydantic would, at the price of another dependency
for thirty lines.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from myoflow.errors import ConfigError

T = TypeVar("T")


def bounded(
    default: Any,
    *,
    minimum: float | None = None,
    exclusive_minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """A dataclass field with a default and numeric bounds that ``parse`` enforces."""
    bounds = {"minimum": minimum, "exclusive_minimum": exclusive_minimum, "maximum": maximum}
    metadata = {k: v for k, v in bounds.items() if v is not None}
    if isinstance(default, list | dict):
        factory = functools.partial(copy.deepcopy, default)
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def parse(cls: type[T], given: Mapping[str, Any] | None, where: str) -> T:
    """``given`` as a ``cls`` instance; missing keys take the defaults.

    Raises ConfigError ``"<where>: ..."`` for unknown keys (listing the allowed ones) and
    ``"<where>.<key>: ..."`` for a value of the wrong type, outside its bounds or not among the
    choices.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    given = {} if given is None else given
    if not isinstance(given, Mapping):
        raise ConfigError(f"{where}: expected a mapping of options, got {given!r}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {unknown}; allowed: {sorted(known)}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in given.items():
        key = f"{where}.{name}"
        values[name] = _convert(hints[name], value, key)
        _check_bounds(known[name].metadata, values[name], value, key)
    return cls(**values)


def defaults(cls: type[Any]) -> dict[str, Any]:
    """The field defaults of a settings dataclass as plain values (nested ones as dicts)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            continue
        out[f.name] = _plain(value)
    return out


def plain(settings: Any) -> dict[str, Any]:
    """A settings dataclass instance as JSON-able values (nested settings as dicts, tuples as
    lists): what a job gets on its command line and what ``parse`` reads back unchanged."""
    if not dataclasses.is_dataclass(settings) or isinstance(settings, type):
        raise TypeError(f"{settings!r} is not a dataclass instance")
    out: dict[str, Any] = _plain(settings)
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return f"one of {list(typing.get_args(hint))}"
    if hint is bool:
        return "true or false"
    if hint is int:
        return "an integer"
    if hint is float:
        return "a number"
    if hint is str:
        return "a string"
    return str(hint).replace("typing.", "")


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{key}: {value!r} is not valid")
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise ConfigError(f"{key}: {value!r} is not allowed; choose one of {list(args)}")
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return parse(hint, value, key)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            items = [_convert(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
        elif origin is tuple:
            if len(value) != len(args):
                raise ConfigError(f"{key}: expected {len(args)} values, got {value!r}")
            items = [_convert(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value))]
        else:
            items = [_convert(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return {k: _convert(args[1], v, f"{key}.{k}") for k, v in value.items()}
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if (
        hint in (bool, int, str)
        and isinstance(value, hint)
        and not (hint is int and isinstance(value, bool))
    ):
        return value
    if hint is Any:
        return value
    raise ConfigError(f"{key}: {value!r} is not {_describe(hint)}")


def _check_bounds(metadata: Mapping[str, Any], converted: Any, value: Any, key: str) -> None:
    """Raise unless ``converted`` (every item, for a list) is within bounds; name ``value`` as the
    user wrote it."""
    if not metadata or converted is None or isinstance(converted, str):  # "auto" has no bounds
        return
    numbers = converted if isinstance(converted, list | tuple) else [converted]
    for number in numbers:
        if "minimum" in metadata and number < metadata["minimum"]:
            raise ConfigError(f"{key}: {value!r} is below the minimum {metadata['minimum']}")
        if "exclusive_minimum" in metadata and number <= metadata["exclusive_minimum"]:
            raise ConfigError(
                f"{key}: {value!r} must be greater than {metadata['exclusive_minimum']}"
            )
        if "maximum" in metadata and number > metadata["maximum"]:
            raise ConfigError(f"{key}: {value!r} is above the maximum {metadata['maximum']}")

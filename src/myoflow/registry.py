"""The one place that names the pipeline's interchangeable parts: methods, networks, trackers.

A name in config.yaml is looked up here and nowhere else, so adding a network or a tracker is one
line in this file (plus its own module). Entries are lazy ``"module:attribute"`` strings: this
module imports nothing from the package, so the Snakefile's parse step, the config checks and the
schema tests can list every name without importing torch or a tracker. ``resolve`` imports the
part only when a job needs it.
"""

from __future__ import annotations

import importlib
from typing import Any

from myoflow.errors import ConfigError

#: Method units: the name an experiment's ``method:`` gives -> its ``Method`` instance
#: (``myoflow.methods.base``); the ones registered as None are refused at start-up.
METHODS: dict[str, str | None] = {
    "myonet": "myoflow.methods.myonet.method:METHOD",
    "tagseg": "myoflow.methods.tagseg.method:METHOD",
    "attmnet": "myoflow.methods.attmnet.method:METHOD",
    "tagstrain": "myoflow.methods.tagstrain.method:METHOD",
}

#: Networks by name -> their class (``__init__(base_width, levels, in_channels, out_channels)``).
NETS: dict[str, str] = {
    "myonet": "myoflow.methods.myonet.nets.myonet:MyoNet",
    "resmyonet": "myoflow.methods.myonet.nets.resmyonet:ResMyoNet",
}

#: Tagged-image trackers by name -> ``(options class, track function)``.
TRACKERS: dict[str, tuple[str, str]] = {
    "harp": ("myoflow.tracking.harp:HarpOptions", "myoflow.tracking.harp:track"),
    "sinmod": ("myoflow.tracking.sinmod:SinModOptions", "myoflow.tracking.sinmod:track"),
}


def names(table: dict[str, Any]) -> tuple[str, ...]:
    """The registered names of ``table``, in registration order."""
    return tuple(table)


def check_name(table: dict[str, Any], name: str, where: str, noun: str) -> None:
    """Raise ConfigError ``"<where>: unknown <noun> <name>"`` listing the allowed names."""
    if name not in table:
        raise ConfigError(f"{where}: unknown {noun} {name!r}; choose one of {list(table)}")


def load(target: str) -> Any:
    """The object a ``"module:attribute"`` string names, imported now."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)

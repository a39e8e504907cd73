"""One manifest row, typed and validated against the manifest schema before any file is read.

Cells arrive as text (or pandas' numbers for covariates); each known column is converted to the
JSON type its schema property wants when it converts cleanly, and the row is then validated with
jsonschema, so that a bad value becomes an InputError naming the column and what it allows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import jsonschema
import numpy as np
import pandas as pd

from myoflow.cohort.manifest import COVARIATE_PREFIX, manifest_schema
from myoflow.errors import InputError

RV_COLUMNS = ("rv_ant_x_mm", "rv_ant_y_mm", "rv_inf_x_mm", "rv_inf_y_mm")


@functools.cache
def _row_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(manifest_schema())


@functools.cache
def _column_types() -> dict[str, frozenset[str]]:
    """JSON types each known column accepts (``oneOf`` branches and enums included)."""
    types: dict[str, frozenset[str]] = {}
    for column, prop in manifest_schema()["properties"].items():
        found: set[str] = set()
        for branch in [prop, *prop.get("oneOf", [])]:
            declared = branch.get("type", [])
            found.update([declared] if isinstance(declared, str) else declared)
            if "enum" in branch:
                found.add("string")
        types[column] = frozenset(found)
    return types


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _coerce(value: Any, types: frozenset[str]) -> Any:
    """A cell as the JSON type its column wants, when it converts cleanly (else left for the schema)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        value = value.strip()
        if "integer" in types and re.fullmatch(r"[+-]?\d+", value):
            return int(value)
        if "number" in types:
            try:
                return float(value)
            except ValueError:
                return value
    if isinstance(value, float) and "integer" in types and value.is_integer():
        return int(value)
    return value


def _explain(error: jsonschema.ValidationError) -> str:
    properties = manifest_schema()["properties"]
    if error.absolute_path:
        column = str(error.absolute_path[0])
        description = properties.get(column, {}).get("description", "")
        return f"column {column}: {error.instance!r} is not valid. {description}"
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(properties))
        return f"unknown column(s) {unknown}"
    if error.validator == "anyOf":
        return "the row needs a cine or a tagged path"
    if error.validator == "dependentRequired":
        return f"give all four of {', '.join(RV_COLUMNS)} or none ({error.message})"
    return error.message


def typed_row(row: Mapping[str, Any], manifest: str = "-") -> dict[str, Any]:
    """The row's given cells, typed per the manifest schema and validated against it.

    Empty cells are dropped. Raises InputError naming the first invalid column.
    """
    types = _column_types()
    fields: dict[str, Any] = {}
    for column, value in row.items():
        if _missing(value):
            continue
        if column.startswith(COVARIATE_PREFIX):
            fields[column] = value.item() if isinstance(value, np.generic) else value
        else:
            fields[column] = _coerce(value, types.get(column, frozenset()))
    errors = sorted(_row_validator().iter_errors(fields), key=lambda e: list(e.absolute_path))
    if errors:
        raise InputError(f"invalid manifest row: {_explain(errors[0])}", file=manifest)
    if "frame_times_ms" in fields and "rr_ms" in fields:
        raise InputError("give frame_times_ms or rr_ms, not both", file=manifest)
    return fields


def numbers(value: Any) -> list[float]:
    """A number or a comma-separated list of numbers (already schema-checked) as floats."""
    if isinstance(value, str):
        return [float(v) for v in value.split(",")]
    return [float(value)]

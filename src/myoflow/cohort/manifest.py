"""Cohort manifests: the table of subjects x slices a user writes to bring their own data.

``load_manifest`` runs at Snakemake parse time (the shard plan needs the row count), possibly many
times per run, so it checks only the table's *structure*, with vectorised pandas operations and
without touching any image file: a 10^5-row manifest loads in a fraction of a second. Everything
that needs a file or a per-row rule (value types, ranges, readable images) is checked in the ingest
job, where a bad row becomes a QC exclusion instead of stopping the whole run.

The allowed columns come from ``workflow/schemas/manifest.schema.yaml``, the one place that
documents them.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from myoflow.errors import ConfigError
from myoflow.record import SLICE_POSITIONS

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "manifest.schema.yaml"
COVARIATE_PREFIX = "cov_"
PATH_COLUMNS = ("cine", "cine_es", "tagged", "mask", "mask_es", "displacement", "landmarks")
DEFAULT_GROUP = "all"
# Covariate cells that mean "missing"; written out so that a covariate reads the same whatever
# pandas' defaults are (known columns treat only the empty cell as missing: a subject may be "NA").
_COVARIATE_NA = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "-"]
_MAX_LISTED = 20
_ABSOLUTE = r"/|\\\\|[A-Za-z]:[\\/]"  # POSIX root, Windows UNC or drive


@functools.cache
def manifest_schema() -> dict[str, Any]:
    """The JSON schema of one manifest row (parsed once per process)."""
    with open(SCHEMA_PATH) as fh:
        schema: dict[str, Any] = yaml.safe_load(fh)
    return schema


def known_columns() -> list[str]:
    """Columns a manifest may have besides ``cov_*`` covariates, in documentation order."""
    return list(manifest_schema()["properties"])


def _listed(values: list[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:_MAX_LISTED])
    more = len(values) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _separator(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".tsv", ".txt"):
        return "\t"
    if suffixes and suffixes[-1] == ".csv":
        return ","
    raise ConfigError(f"manifest {path}: unknown extension; use .tsv (tab-separated) or .csv")


def _read_header(path: Path, sep: str) -> list[str]:
    return [str(c).strip() for c in pd.read_csv(path, sep=sep, nrows=0).columns]


def _check_columns(columns: list[str], where: str) -> None:
    allowed = known_columns()
    unknown = [c for c in columns if c not in allowed and not c.startswith(COVARIATE_PREFIX)]
    if unknown:
        raise ConfigError(
            f"{where}: unknown column(s) {unknown}; allowed: {', '.join(allowed)}, "
            f"and covariates named {COVARIATE_PREFIX}<name>"
        )
    missing = [c for c in ("subject", "slice") if c not in columns]
    if missing:
        raise ConfigError(f"{where}: missing required column(s) {missing}")
    if "cine" not in columns and "tagged" not in columns:
        raise ConfigError(f"{where}: needs a `cine` or a `tagged` column (or both)")


def _stripped(series: pd.Series) -> pd.Series:
    """Strip surrounding blanks; an all-blank cell becomes missing."""
    text = series.str.strip()
    return text.mask(text == "")


def _normalise_slices(slices: pd.Series, subjects: pd.Series, where: str) -> pd.Series:
    """Lower-case position names and canonical integers ("03" -> "3") so duplicates are found."""
    lowered = slices.str.lower()
    is_position = lowered.isin(SLICE_POSITIONS)
    is_index = slices.str.fullmatch(r"\d+", na=False)
    bad = ~(is_position | is_index)
    if bad.any():
        examples = [f"{s}: {v!r}" for s, v in zip(subjects[bad], slices[bad].fillna(""))]
        raise ConfigError(
            f"{where}: bad `slice` value(s) ({_listed(examples)}); use basal, mid, apical or a "
            "non-negative integer index"
        )
    out = lowered.copy()
    out[is_index] = slices[is_index].astype("int64").astype(str)
    return out


def _resolve_paths(column: pd.Series, base: str) -> pd.Series:
    """Paths relative to the manifest's folder become absolute; string work only, no file access."""
    out = column.copy()
    home = out.str.startswith("~", na=False)
    if home.any():
        out[home] = out[home].map(os.path.expanduser)
    relative = out.notna() & ~out.str.match(_ABSOLUTE, na=False)
    out[relative] = base + os.sep + out[relative]
    return out


def _normalise_groups(groups: pd.Series) -> pd.Series:
    """``"DCM ; HCM"`` -> ``"DCM;HCM"``; missing or empty -> the default group."""
    cleaned = groups.str.replace(r"\s*;\s*", ";", regex=True).str.strip(" ;")
    return cleaned.mask(cleaned.isna() | (cleaned == ""), DEFAULT_GROUP)


def load_manifest(path: str | os.PathLike[str], cohort: str) -> pd.DataFrame:
    """Read and structurally validate a manifest; rows sorted stably by subject.

    Known columns are returned as strings (missing = NaN) with ``slice`` normalised, ``group``
    filled with the default and paths made absolute; ``cov_*`` columns keep pandas' inferred types.
    Raises ConfigError naming the manifest and what to fix.
    """
    path = Path(path)
    where = f"cohort {cohort}: manifest {path}"
    if not path.is_file():
        raise ConfigError(f"{where} not found")
    sep = _separator(path)
    try:
        columns = _read_header(path, sep)
        _check_columns(columns, where)
        dtypes = {c: str for c in columns if not c.startswith(COVARIATE_PREFIX)}
        na_values = {c: ([""] if c in dtypes else _COVARIATE_NA) for c in columns}
        table = pd.read_csv(
            path,
            sep=sep,
            dtype=dtypes,
            keep_default_na=False,
            na_values=na_values,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ConfigError(f"{where}: not a readable table: {error}") from error
    table.columns = columns
    for column in dtypes:
        table[column] = _stripped(table[column])

    subjects = table["subject"]
    if subjects.isna().any():
        lines = (subjects.index[subjects.isna()] + 2).tolist()
        raise ConfigError(f"{where}: empty `subject` on line(s) {_listed(lines)}")
    slashed = subjects[subjects.str.contains("/", regex=False)]
    if len(slashed):
        raise ConfigError(f"{where}: subject IDs may not contain '/': {_listed(slashed.tolist())}")
    table["slice"] = _normalise_slices(table["slice"], subjects, where)

    images = [c for c in ("cine", "tagged") if c in table]
    no_image = table[images].isna().all(axis=1)
    if no_image.any():
        raise ConfigError(
            f"{where}: row(s) without a cine or tagged path for subject(s) "
            f"{_listed(subjects[no_image].unique().tolist())}"
        )
    duplicated = table.duplicated(["subject", "slice"], keep=False)
    if duplicated.any():
        clashes = [
            f"{subject} {slice_id} on lines {', '.join(str(i + 2) for i in rows.index)}"
            for (subject, slice_id), rows in table[duplicated].groupby(
                ["subject", "slice"], sort=True
            )
        ]
        raise ConfigError(
            f"{where}: duplicate (subject, slice) rows (line 1 is the header): {_listed(clashes)}"
        )

    if "group" in table:
        table["group"] = _normalise_groups(table["group"])
    else:
        table["group"] = DEFAULT_GROUP
    base = os.path.abspath(path.parent)
    for column in PATH_COLUMNS:
        if column in table:
            table[column] = _resolve_paths(table[column], base)
    return table.sort_values("subject", kind="stable").reset_index(drop=True)

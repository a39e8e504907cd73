"""From one manifest row to one validated SliceRecord, and from a shard of rows to records + QC.

This is where the files of one subject x slice meet: each path is read by the reader its type
calls for (a folder = DICOM series; ``.dcm``, extension-less or numbered file = one DICOM file;
``.nii``/``.nii.gz``; ``.h5``/``.hdf5``; ``.npz``/``.npy``), the manifest's overrides are applied,
and the series are checked against each other before ``SliceRecord.validate``. Every problem is
an ``InputError`` that names the cohort, subject, slice and file, so a shard job can exclude the
row, list it in the QC table and carry on with the others.

Precedence, where several sources could give a value:

* pixel spacing: the manifest's ``spacing_mm``, else the files (which must agree within 1%);
* frame times: ``frame_times_ms``, else ``rr_ms`` (equally spaced over one cycle), else, for
  cohorts whose format has no timing (ACDC: headers carry placeholders), an assumed cycle length,
  else the files (the image series must agree);
* myocardium label: ``mask_label`` of the row, else 1 for a binary mask, else the cohort option;
* RV insertion points: the ``rv_*`` columns, else estimated from ``rv_label`` in the ED mask.

Frame 0 must be end-diastole; a row with ``ed_frame`` > 0 has its series rotated so that it is.

Record flags say what a reader of the results should know about how a record was made:
``spacing_from_manifest``, ``frame_times_from_manifest``, ``frame_times_from_rr_ms``,
``frame_times_assumed_rr:<ms>ms``, ``rotated_to_ed:<frame>``, ``rv_insertion_estimated``,
``rv_insertion_not_found`` and ``nifti_unit_assumed_mm:<column>``. Values taken from the files as
they are raise no flag.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd

from myoflow.cohort import acdc
from myoflow.cohort.arrays import ARRAY_SUFFIXES, DEFAULT_KEYS, LAYOUTS, read_array
from myoflow.cohort.dicom import read_dicom
from myoflow.cohort.geometry import rv_insertion_points
from myoflow.cohort.manifest import COVARIATE_PREFIX, DEFAULT_GROUP, PATH_COLUMNS, manifest_schema
from myoflow.cohort.nifti import NIFTI_3D, read_nifti
from myoflow.cohort.series import ArrayKind, Series, spacing_pair
from myoflow.errors import ConfigError, InputError
from myoflow.qc import QC_COLUMNS, qc_row_from_error
from myoflow.record import SliceRecord

log = logging.getLogger("myoflow.cohort")

SPACING_TOLERANCE = 0.01  # relative
TIME_TOLERANCE = 0.01  # relative to the median frame interval
# Frame 0 of a displacement counts as zero when no larger than this share of its peak (or 1 um).
DISPLACEMENT_ZERO_TOLERANCE = 0.05
MANIFEST_OPTIONS: dict[str, Any] = {"nifti_3d": "time", "layout": "thw", "mask_label": 1}
KINDS: dict[str, ArrayKind] = {
    "cine": "image",
    "tagged": "image",
    "mask": "image",
    "mask_es": "image",
    "displacement": "displacement",
    "landmarks": "landmarks",
}
RV_COLUMNS = ("rv_ant_x_mm", "rv_ant_y_mm", "rv_inf_x_mm", "rv_inf_y_mm")
_DICOM_SUFFIX = re.compile(r"(\.dcm|\.\d+)?", re.IGNORECASE)


def reader_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """A cohort's options with defaults filled in (ACDC cohorts get the adapter's reader options)."""
    source_defaults = acdc.READER_OPTIONS if options.get("source") == "acdc" else {}
    merged = {**MANIFEST_OPTIONS, **source_defaults, **options}
    merged["keys"] = {**DEFAULT_KEYS, **(options.get("keys") or {})}
    if merged["nifti_3d"] not in NIFTI_3D:
        raise ConfigError(f"nifti_3d must be one of {NIFTI_3D}, got {merged['nifti_3d']!r}")
    if merged["layout"] not in LAYOUTS:
        raise ConfigError(f"layout must be one of {LAYOUTS}, got {merged['layout']!r}")
    return merged


# ---------------------------------------------------------------------------------------------
# Row validation


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


def _numbers(value: Any) -> list[float]:
    """A number or a comma-separated list of numbers (already schema-checked) as floats."""
    if isinstance(value, str):
        return [float(v) for v in value.split(",")]
    return [float(value)]


# ---------------------------------------------------------------------------------------------
# Reading


def read_path(
    name: str, path: str, fields: Mapping[str, Any], options: Mapping[str, Any]
) -> Series:
    """Read manifest column ``name``'s file with the reader its type calls for."""
    kind = KINDS[name]
    p = Path(path)
    if not p.exists():
        raise InputError(f"{name} file not found", file=path)
    lower = p.name.lower()
    try:
        if lower.endswith((".nii", ".nii.gz")):
            return read_nifti(
                p, kind, slice_index=fields.get("slice_index"), nifti_3d=options["nifti_3d"]
            )
        if lower.endswith(ARRAY_SUFFIXES):
            return read_array(p, name, kind, keys=options["keys"], layout=options["layout"])
        if p.is_dir() or _DICOM_SUFFIX.fullmatch(p.suffix):
            if kind != "image":
                raise InputError(
                    f"a {name} cannot be read from DICOM; use HDF5, NPZ or NPY", file=path
                )
            return read_dicom(
                p,
                slice_index=fields.get("slice_index"),
                slice_location_mm=fields.get("slice_location_mm"),
            )
    except InputError:
        raise
    except Exception as error:
        raise InputError(
            f"cannot read {name}: {type(error).__name__}: {error}", file=path
        ) from error
    raise InputError(
        f"unsupported file type {p.suffix!r} for {name}: use a DICOM folder or .dcm file, "
        ".nii/.nii.gz, .h5/.hdf5, .npz or .npy",
        file=path,
    )


# ---------------------------------------------------------------------------------------------
# Cross-checks between the series of one row


def _check_frames(
    series: Mapping[str, Series],
    paths: Mapping[str, str],
    reference: str,
    fields: Mapping[str, Any],
) -> str | None:
    """Raise unless every series has the reference's frame count; return the mask's frame mode."""
    n = series[reference].n_frames

    def mismatch(name: str, count: int, hint: str = "") -> InputError:
        return InputError(
            f"{reference} has {n} frames but {name} has {count}{hint} "
            f"({reference}: {paths[reference]}; {name}: {paths[name]})",
            file=paths[name],
        )

    for name in ("cine", "tagged", "displacement", "landmarks"):
        if name in series and series[name].n_frames != n:
            raise mismatch(name, series[name].n_frames)
    if "mask_es" in series and series["mask_es"].n_frames != 1:
        raise InputError(
            f"the end-systolic mask must be one frame, got {series['mask_es'].n_frames}",
            file=paths["mask_es"],
        )
    if "mask" not in series:
        return None
    count = series["mask"].n_frames
    mode = fields.get("mask_frames") or ("ed" if count == 1 else "all")
    if mode == "all" and count != n:
        raise mismatch("mask", count, " (mask_frames: all)")
    if mode == "ed" and count not in (1, n):
        raise mismatch("mask", count, " (mask_frames: ed wants 1 frame or one per frame)")
    return str(mode)


def _check_sizes(series: Mapping[str, Series], paths: Mapping[str, str], reference: str) -> None:
    size = series[reference].data.shape[-2:]
    for name, s in series.items():
        if KINDS[name] == "landmarks" or s.data.shape[-2:] == size:
            continue
        raise InputError(
            f"{name} is {s.data.shape[-2]}x{s.data.shape[-1]} pixels but {reference} is "
            f"{size[0]}x{size[1]} ({reference}: {paths[reference]}; {name}: {paths[name]})",
            file=paths[name],
        )


def _spacing(
    series: Mapping[str, Series],
    paths: Mapping[str, str],
    fields: Mapping[str, Any],
    reference: str,
) -> tuple[tuple[float, float], str | None]:
    """Pixel spacing ``(row, col)`` mm, and a flag when it did not come from the files."""
    if "spacing_mm" in fields:
        return spacing_pair(
            _numbers(fields["spacing_mm"]), "-", "spacing_mm"
        ), "spacing_from_manifest"
    known = [(name, s.spacing_mm) for name, s in series.items() if s.spacing_mm is not None]
    if not known:
        raise InputError(
            "no pixel spacing: the files state none; give spacing_mm in the manifest",
            file=paths[reference],
        )
    first_name, first = known[0]
    for name, spacing in known[1:]:
        if any(abs(a - b) > SPACING_TOLERANCE * b for a, b in zip(spacing, first)):
            raise InputError(
                f"pixel spacing differs by more than 1% between {first_name} "
                f"({first[0]:g}, {first[1]:g} mm; {paths[first_name]}) and {name} "
                f"({spacing[0]:g}, {spacing[1]:g} mm; {paths[name]})",
                file=paths[name],
            )
    return first, None


def _frame_times(
    series: Mapping[str, Series],
    paths: Mapping[str, str],
    fields: Mapping[str, Any],
    n: int,
    options: Mapping[str, Any],
    reference: str,
) -> tuple[np.ndarray, str | None]:
    """Frame times (ms) for ``n`` frames, and a flag when they did not come from the files."""
    if "frame_times_ms" in fields:
        times = np.asarray(_numbers(fields["frame_times_ms"]))
        if len(times) != n:
            raise InputError(
                f"frame_times_ms lists {len(times)} times but {reference} has {n} frames",
                file=paths[reference],
            )
        return times, "frame_times_from_manifest"
    if "rr_ms" in fields:
        return np.linspace(0.0, fields["rr_ms"], n, endpoint=False), "frame_times_from_rr_ms"
    assumed = options.get("assumed_rr_ms")
    if assumed:
        return np.linspace(0.0, assumed, n, endpoint=False), f"frame_times_assumed_rr:{assumed:g}ms"
    # Image series state acquisition times; masks and truth files often carry placeholder headers,
    # so their times are used only when no image has any, and never cross-checked.
    images = [name for name in ("cine", "tagged") if name in series]
    ranked = images + [name for name in series if name not in images]
    known: list[tuple[str, np.ndarray]] = [
        (name, stated) for name in ranked if (stated := series[name].frame_times_ms) is not None
    ]
    if known:
        first_name, first = known[0]
        scale = float(np.median(np.diff(first))) if n > 1 else 1.0
        for name, other in known[1:]:
            if name in images and np.max(np.abs(other - first)) > TIME_TOLERANCE * abs(scale):
                raise InputError(
                    f"frame times differ between {first_name} ({paths[first_name]}) and {name} "
                    f"({paths[name]})",
                    file=paths[name],
                )
        return np.asarray(first, dtype=float), None
    raise InputError(
        "no frame times: the files state none; give frame_times_ms or rr_ms in the manifest",
        file=paths[reference],
    )


# ---------------------------------------------------------------------------------------------
# Masks, landmarks of the ventricle, rotation to end-diastole


def _labels(series: Series, path: str) -> np.ndarray:
    labels = np.rint(series.data)
    if not np.array_equal(labels, series.data):
        raise InputError("mask values are not integer labels", file=path)
    return labels.astype(np.int64)


def _binary(labels: np.ndarray, label: int, what: str, path: str) -> np.ndarray:
    mask = (labels == label).astype(np.uint8)
    empty = [t for t in range(mask.shape[0]) if not mask[t].any()]
    if empty:
        present = np.unique(labels).tolist()[:10]
        raise InputError(
            f"{what} is empty: no pixels with label {label} in frame(s) {empty[:5]} "
            f"(labels present: {present})",
            file=path,
        )
    return mask


def _myocardium_label(
    labels: np.ndarray, fields: Mapping[str, Any], options: Mapping[str, Any]
) -> int:
    if "mask_label" in fields:
        return int(fields["mask_label"])
    if set(np.unique(labels).tolist()) <= {0, 1}:
        return 1
    return int(options["mask_label"])


def _masks(
    series: Mapping[str, Series],
    paths: Mapping[str, str],
    fields: Mapping[str, Any],
    options: Mapping[str, Any],
    mask_frames: str | None,
    ed: int,
) -> tuple[np.ndarray | None, np.ndarray | None, int, dict[str, np.ndarray]]:
    """``(binary mask, ED label image, myocardium label, extras)`` of a row.

    The mask keeps all frames (``mask_frames: all``) or becomes the ED frame alone (``ed``); the
    ED label image is kept for estimating the RV insertion points.
    """
    if "mask" not in series:
        return None, None, int(options["mask_label"]), {}
    labels = _labels(series["mask"], paths["mask"])
    label = _myocardium_label(labels, fields, options)
    if mask_frames == "ed" and len(labels) > 1:
        labels = labels[ed : ed + 1]
    mask = _binary(labels, label, "myocardium mask", paths["mask"])
    extras = {}
    if "mask_es" in series:
        es_labels = _labels(series["mask_es"], paths["mask_es"])
        extras["mask_es"] = _binary(es_labels, label, "end-systolic mask", paths["mask_es"])
    return mask, labels[0 if mask_frames == "ed" else ed], label, extras


def _rv_insertion(
    fields: Mapping[str, Any],
    ed_labels: np.ndarray | None,
    label: int,
    spacing: tuple[float, float],
    paths: Mapping[str, str],
) -> tuple[np.ndarray | None, str | None]:
    """RV insertion points ``[[ant x, y], [inf x, y]]`` mm, and a flag when they were estimated
    (or could not be)."""
    if all(c in fields for c in RV_COLUMNS):
        given = [
            [fields["rv_ant_x_mm"], fields["rv_ant_y_mm"]],
            [fields["rv_inf_x_mm"], fields["rv_inf_y_mm"]],
        ]
        return np.array(given, dtype=float), None
    if "rv_label" not in fields:
        return None, None
    if ed_labels is None:
        raise InputError(
            "rv_label is given but the row has no mask to find the RV in",
            file=paths.get("cine", paths.get("tagged", "-")),
        )
    points = rv_insertion_points(ed_labels, label, int(fields["rv_label"]), spacing)
    return points, "rv_insertion_estimated" if points is not None else "rv_insertion_not_found"


def _group_and_covariates(
    fields: Mapping[str, Any], series: Mapping[str, Series]
) -> tuple[str, dict[str, Any]]:
    """The primary group, and the covariates: ``cov_*`` columns without their prefix, ``groups``
    when a row names several, and whitelisted acquisition numbers as ``<column>_<name>``."""
    groups = [g.strip() for g in str(fields.get("group", "")).split(";") if g.strip()]
    groups = groups or [DEFAULT_GROUP]
    covariates: dict[str, Any] = {
        column[len(COVARIATE_PREFIX) :]: value
        for column, value in fields.items()
        if column.startswith(COVARIATE_PREFIX)
    }
    if len(groups) > 1:
        covariates["groups"] = groups
    for name, s in series.items():
        covariates.update({f"{name}_{key}": value for key, value in s.metadata.items()})
    return groups[0], covariates


def _rotated_times(times: np.ndarray, ed: int, rr_ms: float | None) -> np.ndarray:
    """Times of a series rotated to start at frame ``ed``, the wrapped frames one cycle later.

    The cycle is ``rr_ms`` when given, else the span of the series plus one median frame interval
    (the series is taken to cover one cycle).
    """
    cycle = rr_ms or float(times[-1] - times[0] + np.median(np.diff(times)))
    return np.concatenate([times[ed:], times[:ed] + cycle]) - times[ed]


def _check_displacement_reference(series: Series, path: str) -> None:
    u = series.data
    start = float(np.abs(u[0]).max())
    if start > max(1e-3, DISPLACEMENT_ZERO_TOLERANCE * float(np.abs(u).max())):
        raise InputError(
            f"displacement frame 0 is not zero (max |u| = {start:.3g} mm): it must be Lagrangian "
            "from end-diastole, frame 0",
            file=path,
        )


# ---------------------------------------------------------------------------------------------
# Public entry points


def _ingest(row: Mapping[str, Any], cohort: str, options: Mapping[str, Any]) -> SliceRecord:
    fields = typed_row(row, str(options.get("manifest", "-")))
    subject, slice_id = fields["subject"], str(fields["slice"])
    if options.get("source") == "acdc" and "slice_index" not in fields:
        raise acdc.unplanned_error(options["path"], subject, slice_id)
    paths = {name: fields[name] for name in PATH_COLUMNS if name in fields}
    series = {name: read_path(name, path, fields, options) for name, path in paths.items()}
    reference = "cine" if "cine" in series else "tagged"
    n = series[reference].n_frames
    mask_frames = _check_frames(series, paths, reference, fields)
    _check_sizes(series, paths, reference)
    spacing, spacing_flag = _spacing(series, paths, fields, reference)
    times, time_flag = _frame_times(series, paths, fields, n, options, reference)
    flags = [f for f in (spacing_flag, time_flag) if f]
    flags += [f"{note}:{name}" for name, s in series.items() for note in s.notes]

    ed = int(fields.get("ed_frame", 0))
    es = fields.get("es_frame")
    for which, frame in (("ed_frame", ed), ("es_frame", es)):
        if frame is not None and not 0 <= frame < n:
            raise InputError(
                f"{which} {frame} is outside 0..{n - 1} ({reference} has {n} frames)",
                file=options.get("manifest") or paths[reference],
            )

    mask, ed_labels, label, extras = _masks(series, paths, fields, options, mask_frames, ed)
    rv, rv_flag = _rv_insertion(fields, ed_labels, label, spacing, paths)
    flags += [rv_flag] if rv_flag else []

    arrays: dict[str, np.ndarray] = {
        name: series[name].data
        for name in ("cine", "tagged", "displacement", "landmarks")
        if name in series
    }
    if "displacement" in arrays:
        _check_displacement_reference(series["displacement"], paths["displacement"])
    if mask is not None and mask_frames == "all":
        arrays["mask"] = mask
    if ed:
        if "displacement" in arrays:
            raise InputError(
                f"ed_frame is {ed}, but a displacement must already start at end-diastole (frame "
                "0); rotate the series before giving them, or leave ed_frame at 0",
                file=paths["displacement"],
            )
        arrays = {name: np.roll(a, -ed, axis=0) for name, a in arrays.items()}
        times = _rotated_times(times, ed, fields.get("rr_ms"))
        es = None if es is None else (es - ed) % n
        flags.append(f"rotated_to_ed:{ed}")
    if mask is not None and mask_frames == "ed":
        arrays["mask"] = mask
    group, covariates = _group_and_covariates(fields, series)
    location = fields.get("slice_location_mm", series[reference].slice_location_mm)

    record = SliceRecord(
        cohort=cohort,
        subject=subject,
        slice_id=slice_id,
        position=fields.get("position", slice_id),
        group=group,
        pixel_spacing_mm=spacing,
        frame_times_ms=np.asarray(times, dtype=float),
        original_frames=n,
        cine=_float32(arrays.get("cine")),
        tagged=_float32(arrays.get("tagged")),
        mask=arrays.get("mask"),
        displacement=_float32(arrays.get("displacement")),
        landmarks=_float32(arrays.get("landmarks")),
        rv_insertion_mm=rv,
        ed_frame=0,
        es_frame=None if es is None else int(es),
        slice_location_mm=None if location is None else float(location),
        covariates=covariates,
        flags=flags,
        source_files={name: str(path) for name, path in paths.items()},
        extras=extras,
    )
    return record.validate()


def _float32(arr: np.ndarray | None) -> np.ndarray | None:
    return None if arr is None else np.ascontiguousarray(arr, dtype=np.float32)


def ingest_row(row: Mapping[str, Any], cohort: str, options: Mapping[str, Any]) -> SliceRecord:
    """Read, check and assemble one manifest row into a validated record.

    ``options`` is the cohort's definition from config.yaml (``nifti_3d``, ``layout``, ``keys``,
    ``mask_label``, ``source``, ``manifest`` or ``path``); missing keys take their defaults.
    Raises InputError naming cohort, subject, slice, file and the problem.
    """
    try:
        return _ingest(row, cohort, reader_options(options))
    except InputError as error:
        raise error.with_context(
            cohort=cohort, subject=str(row.get("subject", "?")), slice_id=str(row.get("slice", "-"))
        ) from None


def iter_ingest(
    rows: pd.DataFrame, cohort: str, options: Mapping[str, Any], failures: list[dict[str, Any]]
) -> Iterator[SliceRecord]:
    """Yield the record of every good row; append one QC row to ``failures`` per bad one.

    A generator, so a shard job holds one record in memory at a time. Each failure is logged at
    ERROR level with its full text; it never affects the other rows.
    """
    for row in rows.to_dict("records"):
        try:
            record = ingest_row(row, cohort, options)
        except InputError as error:
            log.error("excluded: %s", error)
            failures.append(qc_row_from_error(error, stage="ingest"))
            continue
        log.info("ingested %s", record.key)
        yield record


def ingest_shard(
    rows: pd.DataFrame, cohort: str, options: Mapping[str, Any]
) -> tuple[list[SliceRecord], pd.DataFrame]:
    """Ingest every row; return the good records and a QC table with one row per failure."""
    failures: list[dict[str, Any]] = []
    records = list(iter_ingest(rows, cohort, options, failures))
    return records, pd.DataFrame(failures, columns=QC_COLUMNS)

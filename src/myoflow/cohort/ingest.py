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
* myocardium label: ``mask_label`` of the row, else the cohort's ``mask_label``, else its label
  convention (``mask_labels``), else the one label of a single-label mask (see ``masks``);
* RV insertion points: the ``rv_*`` columns, else estimated from ``rv_label`` (or the
  convention's RV label) in the ED mask.

Frame 0 must be end-diastole; a row with ``ed_frame`` > 0 has its series rotated so that it is.

Rows of a ``tagging_h5`` cohort (paper 003's HDF5 file, one row per slice) are read whole by
``tagging_h5.read_tagging_h5_row``, with the same errors and QC rows.

Record flags say what a reader of the results should know about how a record was made:
``spacing_from_manifest``, ``frame_times_from_manifest``, ``frame_times_from_rr_ms``,
``frame_times_assumed_rr:<ms>ms``, ``rotated_to_ed:<frame>``, ``rv_insertion_estimated``,
``rv_insertion_not_found`` and ``nifti_unit_assumed_mm:<column>``. Values taken from the files as
they are raise no flag.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoflow.cohort import acdc, masks, tagging_h5
from myoflow.cohort.agreement import (
    check_frames,
    check_sizes,
    frame_times,
    join_ed_es_pair,
    pixel_spacing,
)
from myoflow.cohort.arrays import ARRAY_SUFFIXES, DEFAULT_KEYS, LAYOUTS, read_array
from myoflow.cohort.cycle import MULTI_CYCLE
from myoflow.cohort.dicom import read_dicom
from myoflow.cohort.geometry import rv_insertion_points
from myoflow.cohort.manifest import COVARIATE_PREFIX, DEFAULT_GROUP, PATH_COLUMNS
from myoflow.cohort.nifti import NIFTI_3D, read_nifti
from myoflow.cohort.row import RV_COLUMNS, typed_row
from myoflow.cohort.series import ArrayKind, Series
from myoflow.errors import ConfigError, InputError
from myoflow.qc import QC_COLUMNS, qc_row_for_file, qc_row_from_error, qc_rows_from_flags
from myoflow.record import SliceRecord

log = logging.getLogger("myoflow.cohort")

STAGE = "ingest"

# Frame 0 of a displacement counts as zero when no larger than this share of its peak (or 1 um).
DISPLACEMENT_ZERO_TOLERANCE = 0.05
MANIFEST_OPTIONS: dict[str, Any] = {"nifti_3d": "time", "layout": "thw"}
KINDS: dict[str, ArrayKind] = {
    "cine": "image",
    "cine_es": "image",
    "tagged": "image",
    "mask": "image",
    "mask_es": "image",
    "displacement": "displacement",
    "landmarks": "landmarks",
}
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
    if merged.get("mask_labels") not in (None, *masks.LABEL_CONVENTIONS):
        raise ConfigError(
            f"mask_labels must be one of {list(masks.LABEL_CONVENTIONS)}, got "
            f"{merged['mask_labels']!r}"
        )
    if merged.get("multi_cycle", "refuse") not in MULTI_CYCLE:
        raise ConfigError(
            f"multi_cycle must be one of {MULTI_CYCLE}, got {merged['multi_cycle']!r}"
        )
    return merged


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
                multi_cycle=options.get("multi_cycle", "refuse"),
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
# Masks, landmarks of the ventricle, rotation to end-diastole


def _rv_insertion(
    fields: Mapping[str, Any],
    options: Mapping[str, Any],
    ed_labels: np.ndarray | None,
    label: int | None,
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
    rv = masks.rv_label(fields, options)
    if rv is None or (ed_labels is None and "rv_label" not in fields):
        return None, None
    if ed_labels is None or label is None:
        raise InputError(
            "rv_label is given but the row has no mask to find the RV in",
            file=paths.get("cine", paths.get("tagged", "-")),
        )
    points = rv_insertion_points(ed_labels, label, rv, spacing)
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


def _ingest(
    row: Mapping[str, Any], cohort: str, options: Mapping[str, Any]
) -> tuple[SliceRecord, list[tuple[str, str]]]:
    """The row's record, and the files its readers passed over as ``(file, reason)``."""
    if options.get("source") == tagging_h5.SOURCE:
        # Rows of paper 003's HDF5 file: one reader for the whole row (no manifest columns).
        interval = options.get("frame_interval_ms", tagging_h5.DEFAULT_FRAME_INTERVAL_MS)
        record = tagging_h5.read_tagging_h5_row(
            row["tagged"], int(row["h5_row"]), row, cohort, interval
        )
        return record, []
    fields = typed_row(row, str(options.get("manifest", "-")))
    subject, slice_id = fields["subject"], str(fields["slice"])
    if options.get("source") == "acdc" and "slice_index" not in fields:
        raise acdc.unplanned_error(options["path"], subject, slice_id)
    paths = {name: fields[name] for name in PATH_COLUMNS if name in fields}
    series = {name: read_path(name, path, fields, options) for name, path in paths.items()}
    pair_flags = join_ed_es_pair(series, paths, fields)
    reference = "cine" if "cine" in series else "tagged"
    n = series[reference].n_frames
    mask_frames = check_frames(series, paths, reference, fields)
    check_sizes(series, paths, reference)
    spacing, spacing_flag = pixel_spacing(series, paths, fields, reference)
    times, time_flag = frame_times(series, paths, fields, n, options, reference)
    flags = [f for f in (spacing_flag, time_flag) if f] + pair_flags
    flags += [f"{note}:{name}" for name, s in series.items() for note in s.notes]
    flags += [f"files_skipped:{name}:{len(s.skipped)}" for name, s in series.items() if s.skipped]
    skipped = [entry for s in series.values() for entry in s.skipped]

    ed = int(fields.get("ed_frame", 0))
    es = 1 if pair_flags else fields.get("es_frame")
    for which, frame in (("ed_frame", ed), ("es_frame", es)):
        if frame is not None and not 0 <= frame < n:
            raise InputError(
                f"{which} {frame} is outside 0..{n - 1} ({reference} has {n} frames)",
                file=options.get("manifest") or paths[reference],
            )

    mask, ed_labels, label, extras, mask_flags = masks.row_masks(
        series, paths, fields, options, mask_frames, ed
    )
    flags += mask_flags
    rv, rv_flag = _rv_insertion(fields, options, ed_labels, label, spacing, paths)
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
        if pair_flags and "mask_es" in extras:
            arrays["mask"] = np.concatenate([mask, extras.pop("mask_es")])
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
    return record.validate(), skipped


def _float32(arr: np.ndarray | None) -> np.ndarray | None:
    return None if arr is None else np.ascontiguousarray(arr, dtype=np.float32)


def _ingest_in_context(
    row: Mapping[str, Any], cohort: str, options: Mapping[str, Any]
) -> tuple[SliceRecord, list[tuple[str, str]]]:
    try:
        return _ingest(row, cohort, reader_options(options))
    except InputError as error:
        raise error.with_context(
            cohort=cohort, subject=str(row.get("subject", "?")), slice_id=str(row.get("slice", "-"))
        ) from None


def ingest_row(row: Mapping[str, Any], cohort: str, options: Mapping[str, Any]) -> SliceRecord:
    """Read, check and assemble one manifest row into a validated record.

    ``options`` is the cohort's definition from config.yaml (``nifti_3d``, ``layout``, ``keys``,
    ``mask_label``, ``mask_labels``, ``multi_cycle``, ``species``, ``source``, ``manifest`` or
    ``path``); missing keys take their defaults. Raises InputError naming cohort, subject, slice,
    file and the problem.
    """
    return _ingest_in_context(row, cohort, options)[0]


def iter_ingest(
    rows: pd.DataFrame, cohort: str, options: Mapping[str, Any], qc_rows: list[dict[str, Any]]
) -> Iterator[SliceRecord]:
    """Yield the record of every good row; append its QC rows to ``qc_rows``.

    A bad row gives one ``excluded`` row, logged at ERROR level with its full text; it never
    affects the other rows. A good row gives one ``flagged`` row per record flag (how a value was
    obtained or assumed, a mask that is not a ring, ...) and one per file a reader passed over,
    naming that file. A generator, so a shard job holds one record in memory at a time.
    """
    for row in rows.to_dict("records"):
        try:
            record, skipped = _ingest_in_context(row, cohort, options)
        except InputError as error:
            log.error("excluded: %s", error)
            qc_rows.append(qc_row_from_error(error, stage=STAGE))
            continue
        qc_rows.extend(qc_rows_from_flags(record, record.flags, STAGE))
        for file, reason in skipped:
            log.warning("%s: %s: %s", record.key, file, reason)
            qc_rows.append(qc_row_for_file(record, STAGE, reason, file))
        log.info("ingested %s", record.key)
        yield record


def ingest_shard(
    rows: pd.DataFrame, cohort: str, options: Mapping[str, Any]
) -> tuple[list[SliceRecord], pd.DataFrame]:
    """Ingest every row; return the good records and their QC table (see ``iter_ingest``)."""
    qc_rows: list[dict[str, Any]] = []
    records = list(iter_ingest(rows, cohort, options, qc_rows))
    return records, pd.DataFrame(qc_rows, columns=QC_COLUMNS)

"""ACDC-layout adapter: a folder of ``patientNNN`` exams becomes a cohort without a manifest.

Layout (ACDC challenge, Bernard et al. 2018)::

    <root>/patientNNN/Info.cfg                      "ED: 1", "ES: 12", "Group: DCM", "Height: 184.0",
                                                    "Weight: 95.0", "NbFrame: 30" (frames 1-based)
    <root>/patientNNN/patientNNN_4d.nii.gz          cine, (X, Y, Z, T)
    <root>/patientNNN/patientNNN_frameNN_gt.nii.gz  labels at ED and ES, (X, Y, Z):
                                                    1 RV blood pool, 2 myocardium, 3 LV cavity

``acdc_manifest`` turns the folder into manifest rows (same columns as a user manifest), so the
ordinary ingest reads them: cine = the 4-D file at the chosen z-slice, mask = label 2 of the ED
ground truth (``mask_frames: ed``), ``mask_es`` = the ES ground truth when present, RV insertion
points estimated from label 1 (``rv_label``, see ``geometry.rv_insertion_points``), group from
Info.cfg, ED/ES converted to 0-based (ingest then rotates the series so that frame 0 is ED and
flags it), Height (cm) and Weight (kg) as covariates ``height_cm`` and ``weight_kg``.

Slices: the z-slices with myocardium at ED are split into basal/mid/apical thirds
(``geometry.slice_positions``). ``slices: mid`` (or a list of positions) takes the middle slice of
each named third, with the position as the slice ID; ``slices: all`` takes every myocardial slice,
with its z index as the slice ID. slice_location_mm = z x the stack's slice spacing (pixdim[3]).

ACDC states no heart rate and its headers no reliable frame interval, so ingest reads the cohort
with these reader options: 3-D NIfTI files are stacks (``nifti_3d: space``), the myocardium label
is 2, and frame times are spread evenly over an assumed 1000 ms cycle whatever the header says
(flagged ``frame_times_assumed_rr:1000ms``: times are fractions of the cycle, not real ms).

Cost at workflow start: one listing of the root, then per subject its small Info.cfg and its ED
label volume (a few tens of kB; about 3 ms per subject) to place the slices. A subject whose
files are missing or broken still gets rows, without a slice_index; its ingest job then fails
with the precise reason, so one bad exam becomes a QC exclusion instead of stopping the run.

M&Ms-style folders (no Info.cfg, a metadata CSV, 4-D label files, labels 1 LV / 2 myocardium /
3 RV) are not supported yet.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoflow.cohort.geometry import representative_slice, slice_positions
from myoflow.cohort.nifti import load_nifti
from myoflow.cohort.series import unreadable
from myoflow.errors import ConfigError, InputError
from myoflow.record import SLICE_POSITIONS

log = logging.getLogger("myoflow.cohort")

MYO_LABEL = 2
LV_LABEL = 3
ASSUMED_RR_MS = 1000.0
READER_OPTIONS: dict[str, Any] = {
    "nifti_3d": "space",
    "mask_labels": "acdc",
    "assumed_rr_ms": ASSUMED_RR_MS,
}
INFO_FILE = "Info.cfg"
_PATIENT = re.compile(r"^patient\d+$")


@dataclass(frozen=True)
class AcdcInfo:
    """The fields of an ACDC Info.cfg that a record needs (frames 1-based, as in the file)."""

    ed: int
    es: int
    group: str
    height_cm: float | None
    weight_kg: float | None
    n_frames: int | None = None


def read_info(path: Path) -> AcdcInfo:
    """Parse ``Info.cfg`` ("Key: value" lines); raise InputError if ED, ES or Group is missing."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{INFO_FILE} not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{INFO_FILE} cannot be read: {error}", file=str(path)) from None
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    missing = [k for k in ("ED", "ES", "Group") if not fields.get(k.lower())]
    if missing:
        raise InputError(f"{INFO_FILE} lacks {', '.join(missing)}", file=str(path))

    def frame(key: str) -> int:
        try:
            value = int(fields[key])
        except ValueError:
            raise InputError(
                f"{INFO_FILE}: {key.upper()} {fields[key]!r} is not a frame number", file=str(path)
            ) from None
        if value < 1:
            raise InputError(
                f"{INFO_FILE}: {key.upper()} {value} must be >= 1 (1-based)", file=str(path)
            )
        return value

    def number(key: str) -> float | None:
        try:
            return float(fields[key]) if fields.get(key) else None
        except ValueError:
            return None

    n_frames = number("nbframe")
    return AcdcInfo(
        frame("ed"),
        frame("es"),
        fields["group"],
        number("height"),
        number("weight"),
        int(n_frames) if n_frames and n_frames >= 2 else None,
    )


def _stack_summary(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per z-slice of an ACDC label volume: has myocardium, LV area (labels 2 + 3, pixels). Sums
    over whole slices keep this cheap at parse time."""
    if not path.is_file():
        raise InputError("ED ground truth not found", file=str(path))
    img = load_nifti(path)
    try:
        labels = np.asanyarray(img.dataobj)
    except Exception as error:
        raise unreadable("NIfTI", path, error) from error
    if labels.ndim != 3:
        raise InputError(
            f"wrong dimensions: expected an (X, Y, Z) label volume, got {labels.shape}",
            file=str(path),
        )
    if not np.issubdtype(labels.dtype, np.integer):
        labels = np.rint(labels).astype(np.int16)
    myocardium = (labels == MYO_LABEL).sum(axis=(0, 1))
    lv_area = myocardium + (labels == LV_LABEL).sum(axis=(0, 1))
    return myocardium > 0, lv_area


def _requested(slices: str | list[str]) -> list[str] | None:
    """Named positions to take, or None for every myocardial slice."""
    if slices == "all":
        return None
    names = [slices] if isinstance(slices, str) else list(slices)
    unknown = [s for s in names if s not in SLICE_POSITIONS]
    if unknown:
        raise ConfigError(
            f"ACDC slices: unknown position(s) {unknown}; use mid, all or a list of "
            f"{', '.join(SLICE_POSITIONS)}"
        )
    return names


def _cine_columns(folder: Path, subject: str, info: AcdcInfo) -> dict[str, Any]:
    """The cine of a subject: the 4-D file, or else its ED and ES frame volumes as a pair.

    Many redistributions of ACDC and M&Ms ship only the ED and ES frames with their labels; the
    pair becomes a two-frame record (flagged ``ed_es_only`` by ingest) for the stages that need
    only those two frames. The ES time is its place in the cycle (``NbFrame``) of the assumed
    cycle length, so it is as much a fraction of the cycle as the 4-D file's times are.
    """
    four_d = folder / f"{subject}_4d.nii.gz"
    ed_image = folder / f"{subject}_frame{info.ed:02d}.nii.gz"
    es_image = folder / f"{subject}_frame{info.es:02d}.nii.gz"
    if four_d.is_file() or not (ed_image.is_file() and es_image.is_file()):
        return {
            "cine": str(four_d),
            "mask_frames": "ed",
            "ed_frame": info.ed - 1,
            "es_frame": info.es - 1,
        }
    columns: dict[str, Any] = {"cine": str(ed_image), "cine_es": str(es_image)}
    if info.n_frames is not None:
        es_time = (info.es - info.ed) % info.n_frames / info.n_frames * ASSUMED_RR_MS
        columns["frame_times_ms"] = f"0,{es_time:g}"
    return columns


def subject_rows(root: Path, subject: str, slices: str | list[str]) -> list[dict[str, Any]]:
    """The manifest rows of one ACDC subject; raises InputError when its files do not allow it."""
    folder = root / subject
    info = read_info(folder / INFO_FILE)
    ed_gt = folder / f"{subject}_frame{info.ed:02d}_gt.nii.gz"
    es_gt = folder / f"{subject}_frame{info.es:02d}_gt.nii.gz"
    has_myocardium, lv_area = _stack_summary(ed_gt)
    positions = slice_positions(has_myocardium, lv_area)
    if not positions:
        raise InputError(f"no myocardium (label {MYO_LABEL}) in any slice at ED", file=str(ed_gt))
    base: dict[str, Any] = {
        "subject": subject,
        "group": info.group,
        "mask": str(ed_gt),
        **_cine_columns(folder, subject, info),
    }
    if es_gt.is_file():
        base["mask_es"] = str(es_gt)
    if info.height_cm is not None:
        base["cov_height_cm"] = info.height_cm
    if info.weight_kg is not None:
        base["cov_weight_kg"] = info.weight_kg
    wanted = _requested(slices)
    if wanted is None:
        return [
            {**base, "slice": str(z), "position": p, "slice_index": z}
            for z, p in sorted(positions.items())
        ]
    rows = []
    for position in wanted:
        z = representative_slice(positions, position)
        if z is None:
            raise InputError(
                f"no {position} slice: only {len(positions)} slice(s) contain myocardium at ED",
                file=str(ed_gt),
            )
        rows.append({**base, "slice": position, "position": position, "slice_index": z})
    return rows


def acdc_manifest(
    root: str | os.PathLike[str], cohort: str, slices: str | list[str] = "mid"
) -> pd.DataFrame:
    """Manifest-shaped rows (one per subject x chosen slice) for an ACDC-layout folder."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"cohort {cohort}: ACDC folder {root} not found")
    wanted = _requested(slices)
    subjects = sorted(e.name for e in os.scandir(root) if e.is_dir() and _PATIENT.match(e.name))
    if not subjects:
        raise ConfigError(f"cohort {cohort}: no patientNNN folders in {root}")
    rows: list[dict[str, Any]] = []
    for subject in subjects:
        try:
            rows += subject_rows(root, subject, slices)
        except InputError as error:
            log.warning("%s", error.with_context(cohort=cohort, subject=subject))
            rows += [
                {
                    "subject": subject,
                    "slice": position,
                    "position": position,
                    "cine": str(root / subject / f"{subject}_4d.nii.gz"),
                }
                for position in (wanted or ["mid"])
            ]
    return pd.DataFrame(rows)


def unplanned_error(root: str | os.PathLike[str], subject: str, slice_id: str) -> InputError:
    """Why a subject got no slice at workflow start (it is re-checked now, in the ingest job)."""
    try:
        subject_rows(Path(root), subject, slice_id if slice_id in SLICE_POSITIONS else "mid")
    except InputError as error:
        return error
    return InputError(
        "the subject's files could not be read when the workflow was planned; re-run the workflow",
        file=str(Path(root) / subject),
    )

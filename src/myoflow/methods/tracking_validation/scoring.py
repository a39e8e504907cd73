"""Scoring of one phantom slice for the tracking validation: its slice, segment and frame rows.

Metrics of one slice (``slice_metrics``), all against the TRUE record: the truth's ED
myocardium (``mask[0]``), the material points that the trackers follow and that strain is
measured on, and the truth displacement and landmarks:

* displacement error = end-point error ``|u_method - u_truth|`` per pixel, at end-systole and
  over frames 1..T-1 (frame 0 is zero by definition and would only dilute the error): mean, 95th
  percentile and maximum (the worst point a user meets), in mm and in pixels (each component
  divided by its pixel spacing);
* landmark error at ES: mean distance of the 168 landmarks, mm and pixels; and per frame
  (``landmark_frames``, the frame table) the landmarks' root mean squared position error
  (``myoflow.metrics.landmarks``), so drift over the cycle shows;
* strain errors (``strain_accuracy``): Green Ecc and Err at ES per AHA segment and globally from
  the field, and the engineering mid-wall Ecc and Err from the landmarks;
* run time per frame (wall time of the tracker over the series' T frames).

``score_record`` tracks one record with every tracker and scores it beside the zero baseline.
What the tracker is given is the record with the cell's mask error applied to its mask
(``mask_errors.with_mask_error``); everything else is the record's own. The trackers read from
it the tagged series, the ED mask (the region they follow) and the ED landmarks (the truth's
frame 0, their seeds, as an expert's would be; ``myoflow.tracking.api.track_record``), and the
pixel spacing: so with a mask error the region is wrong and the seeds are right. The sweep
driver and the aggregation are in ``myoflow.methods.tracking_validation.validation``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from myoflow.errors import ConfigError, InputError
from myoflow.methods.tracking_validation.grid import CELL_FIELDS, Cell
from myoflow.methods.tracking_validation.mask_errors import with_mask_error
from myoflow.methods.tracking_validation.strain_accuracy import (
    SEGMENT_ERROR_COLUMNS,
    SLICE_STRAIN_METRICS,
    analytic_segment_strain,
    es_strain,
    midwall_errors,
    strain_errors,
    strain_scores,
)
from myoflow.metrics.landmarks import frame_errors
from myoflow.record import SliceRecord

log = logging.getLogger(__name__)

ZERO = "zero"
CELL_KEYS = ["method", *CELL_FIELDS]
SLICE_KEYS = [*CELL_KEYS, "subject", "position", "pixel_mm", "tag_spacing_mm"]
DISPLACEMENT_METRICS = [
    f"{when}_{stat}_{unit}"
    for when in ("es", "all")
    for unit in ("mm", "px")
    for stat in ("mean", "p95", "max")
]
LANDMARK_METRICS = ["landmark_es_mean_mm", "landmark_es_mean_px"]
#: The tracker's own quality control (``myoflow.tracking.checks``): whether the slice passed
#: (1/0), the fraction of its points flagged up to ES, and the largest ES error of a point it
#: did not flag in a slice it passed: what a user would take for a measurement.
QC_METRICS = ["qc_passed", "flagged_es", "es_max_unflagged_px"]
SLICE_COLUMNS = [
    *SLICE_KEYS,
    "status",
    *DISPLACEMENT_METRICS,
    *LANDMARK_METRICS,
    *SLICE_STRAIN_METRICS,
    *QC_METRICS,
    "seconds_per_frame",
]
SEGMENT_COLUMNS = [*SLICE_KEYS, *SEGMENT_ERROR_COLUMNS]
FRAME_COLUMNS = [*SLICE_KEYS, "frame", "landmark_rmse_mm", "landmark_rmse_px"]


@dataclass
class SliceResult:
    """The scores of one method on one slice: a row of the slice table, its segment rows and
    its frame rows (empty for a failed slice, and for a strain-only variant like
    ``harp_phase``, whose landmarks are its tracker's)."""

    row: dict[str, Any]
    segments: pd.DataFrame
    frames: pd.DataFrame


# --------------------------------------------------------------------------------------------
# Metrics of one slice


def _inside(mask_ed: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    inside = np.asarray(mask_ed).astype(bool)
    if inside.shape != tuple(shape[2:]):
        raise ValueError(f"ED mask has shape {inside.shape} but the displacement is {shape}")
    if not inside.any():
        raise ValueError("the ED mask is empty: no material points to score")
    return inside


def displacement_errors(
    method_mm: np.ndarray,
    truth_mm: np.ndarray,
    mask_ed: np.ndarray,
    spacing_mm: tuple[float, float],
    es_frame: int,
) -> dict[str, float]:
    """End-point error inside the ED myocardium at ES and over frames 1..T-1, mm and pixels.

    Keys ``{es,all}_{mean,p95,max}_{mm,px}``. Pixels: each error component over its own spacing
    (``(row, column)`` order, as ``pixel_spacing_mm``), so anisotropic pixels are handled.
    """
    method, truth = np.asarray(method_mm), np.asarray(truth_mm)
    if method.shape != truth.shape or truth.ndim != 4 or truth.shape[1] != 2 or truth.shape[0] < 2:
        raise ValueError(
            f"displacements must be equal [T >= 2, 2, H, W], got {method.shape} and {truth.shape}"
        )
    if not 0 < es_frame < truth.shape[0]:
        raise ValueError(f"ES frame {es_frame} outside 1..{truth.shape[0] - 1}")
    inside = _inside(mask_ed, truth.shape)
    diff = (method[:, :, inside] - truth[:, :, inside]).astype(np.float64)  # [T, 2, N]
    sy, sx = spacing_mm
    errors = {
        "mm": np.hypot(diff[:, 0], diff[:, 1]),
        "px": np.hypot(diff[:, 0] / sx, diff[:, 1] / sy),
    }
    out: dict[str, float] = {}
    for when in ("es", "all"):
        for unit in ("mm", "px"):
            values = errors[unit][es_frame] if when == "es" else errors[unit][1:].ravel()
            out[f"{when}_mean_{unit}"] = float(values.mean())
            out[f"{when}_p95_{unit}"] = float(np.percentile(values, 95))
            out[f"{when}_max_{unit}"] = float(values.max())
    return {key: out[key] for key in DISPLACEMENT_METRICS}


def _check_landmarks(method: np.ndarray, truth: np.ndarray) -> None:
    if method.shape != truth.shape or truth.ndim != 3 or truth.shape[1] != 2:
        raise ValueError(f"landmarks must be equal [T, 2, N], got {method.shape}, {truth.shape}")


def landmark_errors(
    method_mm: np.ndarray, truth_mm: np.ndarray, spacing_mm: tuple[float, float], es_frame: int
) -> dict[str, float]:
    """Mean distance of the landmarks ``[T, 2, N]`` at ES, in mm and pixels."""
    method, truth = np.asarray(method_mm, float), np.asarray(truth_mm, float)
    _check_landmarks(method, truth)
    diff = method[es_frame] - truth[es_frame]
    sy, sx = spacing_mm
    return {
        "landmark_es_mean_mm": float(np.hypot(diff[0], diff[1]).mean()),
        "landmark_es_mean_px": float(np.hypot(diff[0] / sx, diff[1] / sy).mean()),
    }


def landmark_frames(
    method_mm: np.ndarray, truth_mm: np.ndarray, spacing_mm: tuple[float, float]
) -> pd.DataFrame:
    """Root mean squared position error of the 168 landmarks in every frame, mm and pixels.

    Columns ``frame, landmark_rmse_mm, landmark_rmse_px``; the RMSE is
    ``myoflow.metrics.landmarks``' (over the whole slice); pixels from its x and y components
    over their own spacings. A frame where the method lost a landmark (non-finite) is NaN.
    """
    method, truth = np.asarray(method_mm, float), np.asarray(truth_mm, float)
    _check_landmarks(method, truth)
    out = pd.DataFrame(
        {"frame": np.arange(truth.shape[0]), "landmark_rmse_mm": np.nan, "landmark_rmse_px": np.nan}
    )
    valid = np.isfinite(method).all(axis=(1, 2))
    if not valid.any():
        return out
    table = frame_errors(method, truth, valid)
    whole = table[table["region"] == "slice"]
    sy, sx = spacing_mm
    frames = whole["frame"].to_numpy()
    out.loc[frames, "landmark_rmse_mm"] = whole["rmse_mm"].to_numpy()
    out.loc[frames, "landmark_rmse_px"] = np.hypot(
        whole["rmse_x_mm"].to_numpy() / sx, whole["rmse_y_mm"].to_numpy() / sy
    )
    return out


def slice_metrics(
    rec: SliceRecord,
    displacement_mm: np.ndarray,
    landmarks_mm: np.ndarray,
    truth_strain: pd.DataFrame | None = None,
    analytic: pd.DataFrame | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Every score of one method's field on one phantom record, and its segment table.

    ``rec`` is the true record. ``truth_strain`` / ``analytic`` may be passed in when several
    methods share a record (they only depend on the record); they are computed here otherwise.
    """
    if rec.displacement is None or rec.landmarks is None or rec.mask is None:
        raise ValueError(f"{rec.key}: validation needs the truth displacement, landmarks, mask")
    if rec.es_frame is None:
        raise ValueError(f"{rec.key}: validation needs the ES frame")
    es = int(rec.es_frame)
    row = displacement_errors(
        displacement_mm, rec.displacement, rec.mask[0], rec.pixel_spacing_mm, es
    )
    row.update(landmark_errors(landmarks_mm, rec.landmarks, rec.pixel_spacing_mm, es))
    if truth_strain is None:
        truth_strain = es_strain(rec, rec.displacement)
    if analytic is None:
        analytic = analytic_segment_strain(rec, es)
    errors = strain_errors(es_strain(rec, displacement_mm), truth_strain, analytic)
    row.update(strain_scores(errors))
    row.update(midwall_errors(landmarks_mm, rec.landmarks, es))
    return row, errors


# --------------------------------------------------------------------------------------------
# Tracking and scoring a record


@dataclass(frozen=True)
class TrackQC:
    """A tracker's verdict on a slice: passed, the fraction flagged up to ES, and the ED pixels
    ``[H, W]`` whose tracked point was flagged (off the field, out of the band, beyond
    physiology) at ES."""

    passed: bool
    flagged_es: float
    flagged_at_es: np.ndarray


#: A tracker's output for the sweep: displacement ``[T, 2, H, W]`` mm, landmarks ``[T, 2, 168]``
#: mm and, from trackers that measure strain directly (HARP's phase gradients), per-pixel strain
#: maps (``TrackResult.strain_maps``), else None; optionally its quality control (``TrackQC``).
Tracked = (
    tuple[np.ndarray, np.ndarray, dict[str, np.ndarray] | None]
    | tuple[np.ndarray, np.ndarray, dict[str, np.ndarray] | None, TrackQC | None]
)
TrackFn = Callable[[SliceRecord, str, Mapping[str, Any]], Tracked]
#: Suffix of the extra method whose strain comes from the tracker's own maps (``harp_phase``):
#: same displacement and landmarks as the tracker, strain without finite differences.
PHASE_STRAIN = "_phase"


def _track_with_api(rec: SliceRecord, tracker: str, options: Mapping[str, Any]) -> Tracked:
    from myoflow.tracking.api import track_record
    from myoflow.tracking.checks import BAD

    result = track_record(rec, tracker, options)
    maps = None
    if result.deformation is not None:
        maps = result.strain_maps(rec.pixel_spacing_mm)
    qc = None
    if result.checked is not None and result.flags is not None and rec.es_frame is not None:
        qc = TrackQC(
            passed=result.checked.passed,
            flagged_es=float(result.checked.scores["flagged_fraction_es"]),
            flagged_at_es=(result.flags[int(rec.es_frame)] & BAD) > 0,
        )
    return result.displacement, result.landmarks, maps, qc


def qc_scores(
    rec: SliceRecord, displacement_mm: np.ndarray, qc: TrackQC | None
) -> dict[str, float]:
    """``QC_METRICS`` of one tracked slice (NaN without a ``TrackQC``; the largest unflagged
    error NaN in a rejected slice, which is no measurement)."""
    if qc is None or rec.mask is None or rec.es_frame is None or rec.displacement is None:
        return {name: np.nan for name in QC_METRICS}
    inside = np.asarray(rec.mask[0], bool)
    sy, sx = rec.pixel_spacing_mm
    diff = (np.asarray(displacement_mm) - rec.displacement)[int(rec.es_frame)]
    error = np.hypot(diff[0] / sx, diff[1] / sy)
    kept = inside & ~qc.flagged_at_es
    worst = float(error[kept].max()) if qc.passed and kept.any() else np.nan
    return {
        "qc_passed": 1.0 if qc.passed else 0.0,
        "flagged_es": qc.flagged_es,
        "es_max_unflagged_px": worst,
    }


def _failed(keys: dict[str, Any], status: str) -> SliceResult:
    row = {**keys, "status": status}
    return SliceResult(
        row={name: row.get(name, np.nan) for name in SLICE_COLUMNS},
        segments=pd.DataFrame(columns=SEGMENT_COLUMNS),
        frames=pd.DataFrame(columns=FRAME_COLUMNS),
    )


def score_record(
    rec: SliceRecord,
    cell: Cell,
    trackers: Sequence[str],
    tracker_options: Mapping[str, Mapping[str, Any]] | None = None,
    track: TrackFn = _track_with_api,
) -> list[SliceResult]:
    """Track ``rec`` with each tracker and score it, plus the zero baseline (method ``zero``).

    ``rec`` is the true record; each tracker gets ``with_mask_error(rec, cell.mask_error)``
    (see the module docstring for what it reads there) and every score is taken against
    ``rec``. The cell's keys go into every row. A tracker that refuses the slice (no tag peaks
    at low SNR or fine tags, a mask eroded away: an ``InputError`` or ``ValueError``) gives a
    row with ``status`` = its message and NaN scores rather than ending the sweep: how often a
    method fails is itself a result (column ``failed`` of the aggregate); a ``ConfigError``
    (bad tracker options) is raised. ``track`` is injectable so the metric code can be tested
    with a known error.
    """
    if rec.displacement is None or rec.landmarks is None or rec.es_frame is None:
        raise ValueError(f"{rec.key}: validation needs the truth displacement, landmarks, ES")
    base: dict[str, Any] = {
        **cell.keys(),
        "subject": rec.subject,
        "position": rec.position,
        "pixel_mm": float(np.sqrt(np.prod(rec.pixel_spacing_mm))),
        "tag_spacing_mm": float(rec.covariates.get("tag_spacing_mm", np.nan)),
    }
    given = with_mask_error(rec, cell.mask_error)
    truth_strain = es_strain(rec, rec.displacement)
    analytic = analytic_segment_strain(rec, int(rec.es_frame))
    results = []
    zero_landmarks = np.broadcast_to(rec.landmarks[:1], rec.landmarks.shape)
    for method in [*trackers, ZERO]:
        keys_m: dict[str, Any] = {"method": method, **base}
        maps: dict[str, np.ndarray] | None = None
        qc: TrackQC | None = None
        if method == ZERO:
            disp, marks, seconds = np.zeros_like(rec.displacement), zero_landmarks, np.nan
        else:
            start = time.perf_counter()
            try:
                out = track(given, method, (tracker_options or {}).get(method) or {})
            except ConfigError:
                raise  # bad options fail every slice alike: a configuration error, not a result
            except (InputError, ValueError) as error:
                log.warning("%s on %s: %s", method, rec.key, error)
                results.append(_failed(keys_m, f"failed: {error}"))
                continue
            seconds = time.perf_counter() - start
            disp, marks, maps = out[:3]
            qc = out[3] if len(out) > 3 else None
        scores, segments = slice_metrics(rec, disp, marks, truth_strain, analytic)
        row: dict[str, Any] = {**keys_m, "status": "ok", **scores, **qc_scores(rec, disp, qc)}
        row["seconds_per_frame"] = seconds / rec.n_frames
        frames = landmark_frames(marks, rec.landmarks, rec.pixel_spacing_mm)
        results.append(
            SliceResult(
                row={c: row[c] for c in SLICE_COLUMNS},
                segments=segments.assign(**keys_m)[SEGMENT_COLUMNS],
                frames=frames.assign(**keys_m)[FRAME_COLUMNS],
            )
        )
        if maps is not None:
            keys_p = {**keys_m, "method": method + PHASE_STRAIN}
            errors = strain_errors(es_strain(rec, maps=maps), truth_strain, analytic)
            row_p = {**row, **keys_p, **strain_scores(errors)}
            results.append(
                SliceResult(
                    row={c: row_p[c] for c in SLICE_COLUMNS},
                    segments=errors.assign(**keys_p)[SEGMENT_COLUMNS],
                    frames=pd.DataFrame(columns=FRAME_COLUMNS),
                )
            )
    return results

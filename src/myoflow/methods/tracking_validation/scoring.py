"""Scoring of one phantom slice for the tracking validation: per-slice and per-segment metrics.

Metrics of one slice (``slice_metrics``), all over the truth's ED myocardium (``mask[0]``), the
material points that the trackers follow and that strain is measured on:

* displacement error = end-point error ``|u_method - u_truth|`` per pixel, at end-systole and
  over frames 1..T-1 (frame 0 is zero by definition and would only dilute the error), mean and
  95th percentile, in mm and in pixels (each component divided by its pixel spacing);
* landmark error at ES: mean distance of the 168 landmarks, mm and pixels;
* Green-Lagrange Ecc and Err at ES per AHA segment and globally (segment 0). The truth strain is
  the truth displacement through the same ``myoflow.strain.analysis.slice_strain`` (same mask,
  centroid, segments, ES frame and finite differences) so that the error is the tracker's, not the
  discretisation's; the analytic segment means from the phantom (``extras['ecc_green']``) are kept
  beside it (``*_analytic`` columns) to show how small that discretisation difference is;
* run time per frame (wall time of ``track_record`` over the series' T frames).

``score_record`` tracks one record with every tracker and scores it beside the zero baseline;
the sweep driver and the aggregation are in ``myoflow.methods.tracking_validation.validation``.
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
from myoflow.record import SliceRecord
from myoflow.strain.analysis import GLOBAL_SEGMENT, maps_strain, slice_strain

log = logging.getLogger(__name__)

ZERO = "zero"
CELL_KEYS = ["method", "species", "snr", "spacing_px"]
SLICE_KEYS = [*CELL_KEYS, "subject", "position", "pixel_mm", "tag_spacing_mm"]
DISPLACEMENT_METRICS = [
    f"{when}_{stat}_{unit}"
    for when in ("es", "all")
    for unit in ("mm", "px")
    for stat in ("mean", "p95")
]
LANDMARK_METRICS = ["landmark_es_mean_mm", "landmark_es_mean_px"]
SLICE_STRAIN_METRICS = [
    "ecc_global_error",
    "err_global_error",
    "ecc_segment_mae",
    "err_segment_mae",
]
SLICE_COLUMNS = [
    *SLICE_KEYS,
    "status",
    *DISPLACEMENT_METRICS,
    *LANDMARK_METRICS,
    *SLICE_STRAIN_METRICS,
    "seconds_per_frame",
]
SEGMENT_COLUMNS = [
    *SLICE_KEYS,
    "segment",
    "ecc_truth",
    "ecc_method",
    "ecc_error",
    "ecc_analytic",
    "err_truth",
    "err_method",
    "err_error",
    "err_analytic",
]


@dataclass
class SliceResult:
    """The scores of one method on one slice: a row of the slice table and its segment rows."""

    row: dict[str, Any]
    segments: pd.DataFrame


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

    Keys ``{es,all}_{mean,p95}_{mm,px}``. Pixels: each error component over its own spacing
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
    return {key: out[key] for key in DISPLACEMENT_METRICS}


def landmark_errors(
    method_mm: np.ndarray, truth_mm: np.ndarray, spacing_mm: tuple[float, float], es_frame: int
) -> dict[str, float]:
    """Mean distance of the landmarks ``[T, 2, N]`` at ES, in mm and pixels."""
    method, truth = np.asarray(method_mm, float), np.asarray(truth_mm, float)
    if method.shape != truth.shape or truth.ndim != 3 or truth.shape[1] != 2:
        raise ValueError(f"landmarks must be equal [T, 2, N], got {method.shape}, {truth.shape}")
    diff = method[es_frame] - truth[es_frame]
    sy, sx = spacing_mm
    return {
        "landmark_es_mean_mm": float(np.hypot(diff[0], diff[1]).mean()),
        "landmark_es_mean_px": float(np.hypot(diff[0] / sx, diff[1] / sy).mean()),
    }


def analytic_segment_strain(rec: SliceRecord, es_frame: int) -> pd.DataFrame:
    """The phantom's analytic Green Ecc/Err at ES per segment (0 = the whole ED myocardium).

    Columns ``segment, ecc_analytic, err_analytic``; empty when the record has no analytic maps.
    """
    extras = rec.extras
    if not {"ecc_green", "err_green", "aha_segments"} <= set(extras) or rec.mask is None:
        return pd.DataFrame(columns=["segment", "ecc_analytic", "err_analytic"])
    inside = np.asarray(rec.mask[0]).astype(bool)
    segments = np.where(inside, np.asarray(extras["aha_segments"]), 0)
    ecc, err = extras["ecc_green"][es_frame], extras["err_green"][es_frame]
    rows = [
        {
            "segment": GLOBAL_SEGMENT,
            "ecc_analytic": float(np.nanmean(ecc[inside])),
            "err_analytic": float(np.nanmean(err[inside])),
        }
    ]
    for seg in np.unique(segments[segments > 0]):
        sel = segments == seg
        rows.append(
            {
                "segment": int(seg),
                "ecc_analytic": float(np.nanmean(ecc[sel])),
                "err_analytic": float(np.nanmean(err[sel])),
            }
        )
    return pd.DataFrame(rows)


def es_strain(
    rec: SliceRecord,
    displacement_mm: np.ndarray | None = None,
    maps: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Green Ecc/Err at the record's ES per segment, on the truth's ED mask.

    From a displacement field (finite differences), or from per-pixel strain ``maps`` where a
    method measures strain directly (HARP's phase gradients). Columns ``segment, ecc, err``.
    Every method and the truth go through this one function with the record's mask, RV
    insertion, position and ES frame, so they share segments (and, for fields, stencils).
    """
    if rec.mask is None or rec.es_frame is None:
        raise ValueError(f"{rec.key}: strain validation needs the ED mask and the ES frame")
    where = (
        rec.mask[0],
        rec.pixel_spacing_mm,
        rec.position,
        rec.rv_insertion_mm,
        rec.es_frame,
        rec.frame_times_ms,
    )
    if maps is not None:
        _, summary = maps_strain(maps, *where)
    elif displacement_mm is not None:
        _, summary = slice_strain(displacement_mm, *where)
    else:
        raise ValueError("es_strain needs a displacement or strain maps")
    return summary.rename(columns={"ecc_green_es": "ecc", "err_green_es": "err"})[
        ["segment", "ecc", "err"]
    ]


def strain_errors(
    method: pd.DataFrame, truth: pd.DataFrame, analytic: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per segment: truth, method and error (method - truth) of ES Ecc and Err.

    ``method`` and ``truth`` are ``es_strain`` tables (``segment, ecc, err``); ``analytic`` the
    optional ``analytic_segment_strain`` (NaN where absent). Segments are the truth's.
    """
    merged = truth.merge(method, on="segment", how="left", suffixes=("_truth", "_method"))
    if analytic is not None and not analytic.empty:
        merged = merged.merge(analytic, on="segment", how="left")
    else:
        merged["ecc_analytic"] = np.nan
        merged["err_analytic"] = np.nan
    for key in ("ecc", "err"):
        merged[f"{key}_error"] = merged[f"{key}_method"] - merged[f"{key}_truth"]
    columns = SEGMENT_COLUMNS[SEGMENT_COLUMNS.index("segment") :]
    return merged[columns].astype({"segment": int})


def strain_scores(errors: pd.DataFrame) -> dict[str, float]:
    """A slice's strain errors in four numbers: global error and AHA-segment mean |error|."""
    glob = errors[errors["segment"] == GLOBAL_SEGMENT]
    segs = errors[errors["segment"] != GLOBAL_SEGMENT]
    out: dict[str, float] = {}
    for key in ("ecc", "err"):
        out[f"{key}_global_error"] = float(glob[f"{key}_error"].iloc[0]) if len(glob) else np.nan
        values = segs[f"{key}_error"].to_numpy(dtype=float)
        out[f"{key}_segment_mae"] = float(np.nanmean(np.abs(values))) if len(values) else np.nan
    return out


def slice_metrics(
    rec: SliceRecord,
    displacement_mm: np.ndarray,
    landmarks_mm: np.ndarray,
    truth_strain: pd.DataFrame | None = None,
    analytic: pd.DataFrame | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Every score of one method's field on one phantom record, and its segment table.

    ``truth_strain`` / ``analytic`` may be passed in when several methods share a record (they
    only depend on the record); they are computed here otherwise.
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
    return row, errors


# --------------------------------------------------------------------------------------------
# Tracking and scoring a record


#: A tracker's output for the sweep: displacement ``[T, 2, H, W]`` mm, landmarks ``[T, 2, 168]``
#: mm and, from trackers that measure strain directly (HARP's phase gradients), per-pixel strain
#: maps (``TrackResult.strain_maps``), else None.
Tracked = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray] | None]
TrackFn = Callable[[SliceRecord, str, Mapping[str, Any]], Tracked]
#: Suffix of the extra method whose strain comes from the tracker's own maps (``harp_phase``):
#: same displacement and landmarks as the tracker, strain without finite differences.
PHASE_STRAIN = "_phase"


def _track_with_api(rec: SliceRecord, tracker: str, options: Mapping[str, Any]) -> Tracked:
    from myoflow.tracking.api import track_record

    result = track_record(rec, tracker, options)
    maps = None
    if result.deformation is not None:
        maps = result.strain_maps(rec.pixel_spacing_mm)
    return result.displacement, result.landmarks, maps


def _failed(keys: dict[str, Any], status: str) -> SliceResult:
    row = {**keys, "status": status}
    return SliceResult(
        row={name: row.get(name, np.nan) for name in SLICE_COLUMNS},
        segments=pd.DataFrame(columns=SEGMENT_COLUMNS),
    )


def score_record(
    rec: SliceRecord,
    keys: Mapping[str, Any],
    trackers: Sequence[str],
    tracker_options: Mapping[str, Mapping[str, Any]] | None = None,
    track: TrackFn = _track_with_api,
) -> list[SliceResult]:
    """Track ``rec`` with each tracker and score it, plus the zero baseline (method ``zero``).

    ``keys`` (species, snr, spacing_px) go into every row. A tracker that refuses the slice (no
    tag peaks at low SNR or fine tags: an ``InputError`` or ``ValueError``) gives a row with
    ``status`` = its message and NaN scores rather than ending the sweep: how often a method
    fails is itself a result (column ``failed`` of the aggregate); a ``ConfigError`` (bad tracker
    options) is raised. ``track`` is injectable so the metric code can be tested with a known
    error.
    """
    if rec.displacement is None or rec.landmarks is None or rec.es_frame is None:
        raise ValueError(f"{rec.key}: validation needs the truth displacement, landmarks, ES")
    base: dict[str, Any] = {
        **keys,
        "subject": rec.subject,
        "position": rec.position,
        "pixel_mm": float(np.sqrt(np.prod(rec.pixel_spacing_mm))),
        "tag_spacing_mm": float(rec.covariates.get("tag_spacing_mm", np.nan)),
    }
    truth_strain = es_strain(rec, rec.displacement)
    analytic = analytic_segment_strain(rec, int(rec.es_frame))
    results = []
    zero_landmarks = np.broadcast_to(rec.landmarks[:1], rec.landmarks.shape)
    for method in [*trackers, ZERO]:
        keys_m: dict[str, Any] = {"method": method, **base}
        maps: dict[str, np.ndarray] | None = None
        if method == ZERO:
            disp, marks, seconds = np.zeros_like(rec.displacement), zero_landmarks, np.nan
        else:
            start = time.perf_counter()
            try:
                disp, marks, maps = track(rec, method, (tracker_options or {}).get(method) or {})
            except ConfigError:
                raise  # bad options fail every slice alike: a configuration error, not a result
            except (InputError, ValueError) as error:
                log.warning("%s on %s: %s", method, rec.key, error)
                results.append(_failed(keys_m, f"failed: {error}"))
                continue
            seconds = time.perf_counter() - start
        scores, segments = slice_metrics(rec, disp, marks, truth_strain, analytic)
        row: dict[str, Any] = {**keys_m, "status": "ok", **scores}
        row["seconds_per_frame"] = seconds / rec.n_frames
        segments = segments.assign(**keys_m)[SEGMENT_COLUMNS]
        results.append(SliceResult(row={c: row[c] for c in SLICE_COLUMNS}, segments=segments))
        if maps is not None:
            keys_p = {**keys_m, "method": method + PHASE_STRAIN}
            errors = strain_errors(es_strain(rec, maps=maps), truth_strain, analytic)
            row_p = {**row, **keys_p, **strain_scores(errors)}
            segments_p = errors.assign(**keys_p)[SEGMENT_COLUMNS]
            results.append(
                SliceResult(row={c: row_p[c] for c in SLICE_COLUMNS}, segments=segments_p)
            )
    return results

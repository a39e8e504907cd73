"""Strain errors of one tracked phantom slice at end-systole: per AHA segment and at mid-wall.

Two ways a user reads strain off a tracker, both scored here against the truth:

* from the displacement field (``es_strain``): Green-Lagrange Ecc and Err at ES per AHA segment
  and globally (segment 0), by ``myoflow.strain.analysis.slice_strain``. The truth strain is
  the truth displacement through the same function (same mask, centroid, segments, ES frame and
  finite differences) so that the error is the tracker's, not the discretisation's; the analytic
  segment means from the phantom (``extras['ecc_green']``) are kept beside it (``*_analytic``
  columns) to show how small that discretisation difference is. HARP's strain from its phase
  gradients goes through the same segments (``maps``);
* from the 168 landmarks (``midwall_errors``), as an expert measures strain on landmarks: the
  engineering Ecc of the mid-wall circumference and the Err of the wall thickness along the
  radial lines (``myoflow.metrics.landmarks.midwall_strain``), tracked landmarks against the
  truth's. No field and no mask enter it, so it shows what the landmarks alone are worth.

Every error is method minus truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from myoflow.metrics.landmarks import midwall_strain
from myoflow.record import SliceRecord
from myoflow.strain.analysis import GLOBAL_SEGMENT, maps_strain, slice_strain

#: Columns of a slice's segment table after its keys (``scoring.SEGMENT_COLUMNS``).
SEGMENT_ERROR_COLUMNS = [
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
#: A slice's strain scores: global error and AHA-segment mean |error| (Green, from the field),
#: and the mid-wall errors (engineering, from the landmarks).
SLICE_STRAIN_METRICS = [
    "ecc_global_error",
    "err_global_error",
    "ecc_segment_mae",
    "err_segment_mae",
    "ecc_midwall_error",
    "err_midwall_error",
]


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
    optional ``analytic_segment_strain`` (NaN where absent). Segments are the truth's. Columns
    ``SEGMENT_ERROR_COLUMNS``.
    """
    merged = truth.merge(method, on="segment", how="left", suffixes=("_truth", "_method"))
    if analytic is not None and not analytic.empty:
        merged = merged.merge(analytic, on="segment", how="left")
    else:
        merged["ecc_analytic"] = np.nan
        merged["err_analytic"] = np.nan
    for key in ("ecc", "err"):
        merged[f"{key}_error"] = merged[f"{key}_method"] - merged[f"{key}_truth"]
    return merged[SEGMENT_ERROR_COLUMNS].astype({"segment": int})


def strain_scores(errors: pd.DataFrame) -> dict[str, float]:
    """A slice's segment strain errors in four numbers: global error and AHA-segment mean
    |error|, of Ecc and Err."""
    glob = errors[errors["segment"] == GLOBAL_SEGMENT]
    segs = errors[errors["segment"] != GLOBAL_SEGMENT]
    out: dict[str, float] = {}
    for key in ("ecc", "err"):
        out[f"{key}_global_error"] = float(glob[f"{key}_error"].iloc[0]) if len(glob) else np.nan
        values = segs[f"{key}_error"].to_numpy(dtype=float)
        out[f"{key}_segment_mae"] = float(np.nanmean(np.abs(values))) if len(values) else np.nan
    return out


def midwall_errors(method_mm: np.ndarray, truth_mm: np.ndarray, es_frame: int) -> dict[str, float]:
    """ES mid-wall engineering Ecc and Err of the ``method`` landmarks minus the truth's.

    Both ``[T, 2, 168]`` mm; keys ``ecc_midwall_error``, ``err_midwall_error``. Each set of
    landmarks is measured against its own ED (frame 0), as a user of the tracker would. NaN when
    the method lost a landmark (a non-finite position): there is no polygon to measure.
    """
    if not np.all(np.isfinite(method_mm)):
        return {"ecc_midwall_error": np.nan, "err_midwall_error": np.nan}
    ecc_method, err_method = midwall_strain(method_mm)
    ecc_truth, err_truth = midwall_strain(truth_mm)
    return {
        "ecc_midwall_error": float(ecc_method[es_frame] - ecc_truth[es_frame]),
        "err_midwall_error": float(err_method[es_frame] - err_truth[es_frame]),
    }

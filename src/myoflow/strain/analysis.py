"""Per-slice strain of one displacement field: segment curves over the cycle and their summary.

Every method (reference, truth, each network, the zero baseline) goes through ``slice_strain``
with the *reference's* ED myocardium mask, and hence the same LV centroid, radial and
circumferential directions and AHA segments. The strains compared between methods are then those
of the same material points in the same directions; a method's own (predicted or tracked) mask
would move the segments and change the quantity, not only its accuracy.

Segment 0 is the whole slice (mean over every mask pixel), then the AHA segments of the slice
position that the mask covers. Means ignore NaN pixels (isolated mask pixels have no gradient,
see ``myoflow.strain.green``). Engineering values are means of the per-pixel engineering strain,
as in the phantom's truth table (``myoflow.phantom.truth.truth_segment_table``), not a conversion
of the Green mean: the two differ wherever strain varies within a segment (the conversion is
concave), and only the former compares with the truth.

Output columns are those of ``myoflow.tables.STRAIN_CURVES`` and ``STRAIN_SUMMARY`` from
``segment`` on; the caller adds the slice identifiers and ``method``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from myoflow.strain.aha import lv_centroid_mm, segment_map
from myoflow.strain.green import radial_circumferential, segment_means
from myoflow.tables import STRAIN_CURVES, STRAIN_SUMMARY

GLOBAL_SEGMENT = 0
STRAIN_KEYS = ("ecc_green", "err_green", "ecc_eng", "err_eng")
CURVE_COLUMNS = STRAIN_CURVES[STRAIN_CURVES.index("segment") :]
SUMMARY_COLUMNS = STRAIN_SUMMARY[STRAIN_SUMMARY.index("segment") :]


def _check(
    displacement_mm: np.ndarray, mask_ed: np.ndarray, frame_times_ms: np.ndarray
) -> np.ndarray:
    """The ED mask as bool after checking it against the field ``[T, 2, H, W]`` and the times."""
    field, mask = np.shape(displacement_mm), np.shape(mask_ed)
    if len(field) != 4 or field[1] != 2:
        raise ValueError(f"displacement must be [T, 2, H, W], got shape {field}")
    if mask != field[2:]:
        raise ValueError(f"ED mask has shape {mask} but the displacement is {field}")
    if np.shape(frame_times_ms) != (field[0],):
        raise ValueError(
            f"{np.shape(frame_times_ms)} frame times for a displacement of shape {field}"
        )
    inside = np.asarray(mask_ed).astype(bool)
    if not inside.any():
        raise ValueError(f"ED mask of shape {mask} is empty: no myocardium to measure")
    return inside


def es_frame_of(curves: pd.DataFrame) -> int:
    """End-systole as the frame of the most negative global Green Ecc in ``curves``.

    ES ends the ejection, when the ventricle is smallest and circumferential shortening is at its
    peak, so this is the usual strain-based definition when no ES frame is annotated. Use the
    reference's curves and pass the result to every method, so that all are read at one frame.
    """
    glob = curves[curves["segment"] == GLOBAL_SEGMENT]
    ecc = glob["ecc_green"].to_numpy(dtype=float)
    if glob.empty or np.all(np.isnan(ecc)):
        raise ValueError("no global Ecc values: cannot find the ES frame")
    return int(glob["frame"].to_numpy()[np.nanargmin(ecc)])


def _curves(
    maps: dict[str, np.ndarray],
    inside: np.ndarray,
    segments: np.ndarray,
    frame_times_ms: np.ndarray,
) -> pd.DataFrame:
    """One row per segment x frame of the mean of each strain map (segment 0 = whole mask)."""
    per_key = {key: segment_means(maps[key], segments) for key in STRAIN_KEYS}
    means = {
        key: {GLOBAL_SEGMENT: np.nanmean(maps[key][:, inside], axis=1), **per_key[key]}
        for key in STRAIN_KEYS
    }
    n_t = len(frame_times_ms)
    blocks = [
        pd.DataFrame(
            {
                "segment": seg,
                "frame": np.arange(n_t),
                "time_ms": np.asarray(frame_times_ms, dtype=float),
                **{key: means[key][seg] for key in STRAIN_KEYS},
            }
        )
        for seg in means["ecc_green"]
    ]
    return pd.concat(blocks, ignore_index=True)[CURVE_COLUMNS]


def _summary(curves: pd.DataFrame, es_frame: int) -> pd.DataFrame:
    """One row per segment: values at ``es_frame``, most negative Ecc and most positive Err."""
    rows = []
    for seg, block in curves.groupby("segment", sort=False):
        at_es = block[block["frame"] == es_frame].iloc[0]
        row: dict[str, float | int] = {"segment": int(seg), "es_frame": es_frame}
        row.update({f"{key}_es": float(at_es[key]) for key in STRAIN_KEYS})
        for key in STRAIN_KEYS:
            values = block[key].to_numpy(dtype=float)
            row[f"{key}_peak"] = float(
                np.nanmin(values) if key.startswith("ecc") else np.nanmax(values)
            )
        rows.append(row)
    return pd.DataFrame(rows)[SUMMARY_COLUMNS]


def slice_strain(
    displacement_mm: np.ndarray,
    mask_ed: np.ndarray,
    spacing_mm: tuple[float, float],
    position: str,
    rv_insertion_mm: np.ndarray | None,
    es_frame: int | None,
    frame_times_ms: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(curves, summary)`` of the radial and circumferential strain of one slice.

    ``displacement_mm`` ``[T, 2, H, W]`` (channel 0 = x) is Lagrangian from frame 0 (ED);
    ``mask_ed`` ``[H, W]`` is the *reference's* ED myocardium, which also fixes the LV centroid
    and the AHA segments (with ``position`` and ``rv_insertion_mm``; ``None`` means the default
    orientation of ``myoflow.strain.aha``). ``es_frame`` is where the ``*_es`` values are read;
    ``None`` takes the frame of the most negative global Green Ecc of *this* field
    (``es_frame_of``), so for a comparison pass every method the reference's ES frame (annotated,
    or ``es_frame_of`` of the reference's curves). Peaks are the most negative Ecc and most
    positive Err over all frames.

    ``curves`` has columns ``segment, frame, time_ms, ecc_green, err_green, ecc_eng, err_eng``
    (one row per segment x frame) and ``summary`` one row per segment with ``es_frame`` and the
    ``_es`` and ``_peak`` value of each strain. Raises ValueError on mismatched shapes, an empty
    mask or an ES frame outside the series.
    """
    inside = _check(displacement_mm, mask_ed, frame_times_ms)
    centroid = lv_centroid_mm(inside, spacing_mm)
    maps = radial_circumferential(
        np.asarray(displacement_mm, dtype=np.float64), spacing_mm, centroid, inside
    )
    return maps_strain(
        maps, inside, spacing_mm, position, rv_insertion_mm, es_frame, frame_times_ms
    )


def maps_strain(
    maps: dict[str, np.ndarray],
    mask_ed: np.ndarray,
    spacing_mm: tuple[float, float],
    position: str,
    rv_insertion_mm: np.ndarray | None,
    es_frame: int | None,
    frame_times_ms: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``slice_strain``'s ``(curves, summary)`` from per-pixel strain maps ``[T, H, W]`` (keys
    ``ecc_green, err_green, ecc_eng, err_eng``), for methods that measure strain directly (HARP
    strain from phase gradients) rather than through a displacement's finite differences."""
    inside = np.asarray(mask_ed).astype(bool)
    n_t = len(frame_times_ms)
    if es_frame is not None and not 0 <= es_frame < n_t:
        raise ValueError(f"ES frame {es_frame} outside 0..{n_t - 1}")
    segments = segment_map(inside, spacing_mm, position, rv_insertion_mm)
    curves = _curves(maps, inside, segments, frame_times_ms)
    es = es_frame_of(curves) if es_frame is None else int(es_frame)
    return curves, _summary(curves, es)

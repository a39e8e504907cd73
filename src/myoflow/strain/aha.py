"""AHA short-axis segments and the LV-centred polar frame.

Angles are measured at the end-diastolic LV blood-pool centroid as ``atan2(y, x)`` in image
coordinates (x along columns, y down the rows), so increasing angle turns clockwise on screen.

Segments follow the AHA 17-segment model: the anterior RV insertion point is the boundary between
segment 1 (anterior) and 2 (anteroseptal); from there, segments advance through the septum toward
the inferior RV insertion point: basal 2, 3, 4, 5, 6, 1 (and mid 8..12, 7) in 60 degree sectors;
apical 14 (septal, centred on the mid-septum), 15, 16, 13 in 90 degree sectors.

When the RV insertion points are unknown, the default orientation is the standard radiological
short-axis view: RV on the image left, anterior insertion at 240 degrees (up-left), septum centred
at 180 degrees, inferior insertion at 120 degrees. Records say whether the default was used.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

DEFAULT_ANTERIOR_DEG = 240.0
DEFAULT_DIRECTION = -1.0
BASAL_SEGMENTS = (1, 2, 3, 4, 5, 6)
MID_SEGMENTS = (7, 8, 9, 10, 11, 12)
APICAL_SEGMENTS = (13, 14, 15, 16)
SEGMENT_NAMES = {
    1: "basal anterior",
    2: "basal anteroseptal",
    3: "basal inferoseptal",
    4: "basal inferior",
    5: "basal inferolateral",
    6: "basal anterolateral",
    7: "mid anterior",
    8: "mid anteroseptal",
    9: "mid inferoseptal",
    10: "mid inferior",
    11: "mid inferolateral",
    12: "mid anterolateral",
    13: "apical anterior",
    14: "apical septal",
    15: "apical inferior",
    16: "apical lateral",
}


def lv_centroid_mm(mask_ed: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """Centroid ``(x, y)`` in mm of the LV blood pool enclosed by the ED myocardium mask.

    The blood pool is the hole the myocardium ring encloses; when the ring is open (a basal slice
    through the outflow tract, a partial mask) the myocardium's own centroid is used instead.
    """
    myo = mask_ed.astype(bool)
    pool = ndimage.binary_fill_holes(myo) & ~myo
    region = pool if pool.sum() >= 4 else myo
    rows, cols = np.nonzero(region)
    return np.array([cols.mean() * spacing_mm[1], rows.mean() * spacing_mm[0]])


def orientation(centroid_mm: np.ndarray, rv_insertion_mm: np.ndarray | None) -> tuple[float, float]:
    """``(anterior insertion angle in degrees, direction +1/-1 toward the septum)``.

    With both insertion points known, the septum is the shorter arc between them, and the
    direction is the sense in which that arc runs from the anterior to the inferior insertion.
    """
    if rv_insertion_mm is None:
        return DEFAULT_ANTERIOR_DEG, DEFAULT_DIRECTION
    ant = np.asarray(rv_insertion_mm[0], float) - centroid_mm
    inf = np.asarray(rv_insertion_mm[1], float) - centroid_mm
    a_ant = np.degrees(np.arctan2(ant[1], ant[0])) % 360.0
    a_inf = np.degrees(np.arctan2(inf[1], inf[0])) % 360.0
    delta = (a_inf - a_ant + 180.0) % 360.0 - 180.0
    return float(a_ant), (1.0 if delta >= 0 else -1.0)


def landmark_line_angles_deg(
    centroid_mm: np.ndarray, rv_insertion_mm: np.ndarray | None, lines: int = 24
) -> np.ndarray:
    """Image angles (degrees) of the landmark lines (``myoflow.record``: 24 lines x 7 points).

    Line 0 at the mid-septum, the middle of the arc between the RV insertions (or of the default
    orientation's septum when they are unknown), then ``360 / lines`` degrees apart toward
    inferior, lateral and anterior.
    """
    anterior, direction = orientation(centroid_mm, rv_insertion_mm)
    if rv_insertion_mm is None:
        arc = 120.0  # the default insertions at 240 and 120 degrees, septum at 180
    else:
        inf = np.asarray(rv_insertion_mm[1], float) - centroid_mm
        arc = (direction * (np.degrees(np.arctan2(inf[1], inf[0])) - anterior)) % 360.0
    septum = anterior + direction * arc / 2.0
    return septum + direction * (360.0 / lines) * np.arange(lines)


def relative_angle_deg(angle_deg: np.ndarray, anterior_deg: float, direction: float) -> np.ndarray:
    """Angle from the anterior insertion, in degrees in [0, 360), counted toward the septum."""
    return (direction * (np.asarray(angle_deg) - anterior_deg)) % 360.0


def segment_of_angle(
    angle_deg: np.ndarray, position: str, anterior_deg: float, direction: float
) -> np.ndarray:
    """AHA segment number for image angles (degrees) on a basal, mid or apical slice."""
    rel = relative_angle_deg(angle_deg, anterior_deg, direction)
    if position == "apical":
        idx = (((rel - 15.0) % 360.0) // 90.0).astype(int)
        return np.asarray(APICAL_SEGMENTS)[(idx + 1) % 4]
    segs = MID_SEGMENTS if position == "mid" else BASAL_SEGMENTS
    idx = (rel // 60.0).astype(int) % 6
    return np.asarray(segs)[(idx + 1) % 6]


def segments_for_position(position: str) -> tuple[int, ...]:
    if position == "apical":
        return APICAL_SEGMENTS
    return MID_SEGMENTS if position == "mid" else BASAL_SEGMENTS


def polar_grid(
    shape: tuple[int, int], spacing_mm: tuple[float, float], centroid_mm: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel ``(angle_deg, e_r, e_c)`` about the centroid; e_r, e_c are ``[2, H, W]`` (x, y).

    ``e_c`` points in the direction of increasing image angle.
    """
    rows, cols = np.indices(shape, dtype=float)
    dx = cols * spacing_mm[1] - centroid_mm[0]
    dy = rows * spacing_mm[0] - centroid_mm[1]
    ang = np.arctan2(dy, dx)
    e_r = np.stack([np.cos(ang), np.sin(ang)])
    e_c = np.stack([-np.sin(ang), np.cos(ang)])
    return np.degrees(ang) % 360.0, e_r, e_c


def segment_map(
    mask_ed: np.ndarray,
    spacing_mm: tuple[float, float],
    position: str,
    rv_insertion_mm: np.ndarray | None,
) -> np.ndarray:
    """``[H, W]`` int map of AHA segment numbers inside the ED myocardium mask (0 outside)."""
    centroid = lv_centroid_mm(mask_ed, spacing_mm)
    ang, _, _ = polar_grid(mask_ed.shape, spacing_mm, centroid)
    anterior, direction = orientation(centroid, rv_insertion_mm)
    segs = segment_of_angle(ang, position, anterior, direction)
    return np.where(mask_ed.astype(bool), segs, 0)

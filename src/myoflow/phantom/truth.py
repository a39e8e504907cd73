"""Ground truth of a phantom slice: displacement, landmarks, analytic strain, and its segment table.

Why analytic: the truth must not share the errors of the methods it checks. Displacement is the
forward map of every pixel centre (Lagrangian from ED, float64 until stored); strain maps come
from the closed-form deformation gradient, not from differencing the displacement.

The segment table (``truth_segment_table``) is tidy: one row per slice x segment x frame, with
``segment`` the AHA segment number, and ``segment = 0`` for the whole slice's myocardium (the
"global" value). Means are over the ED-mask pixels of the segment; engineering means are means
of the per-pixel engineering strain (not a conversion of the Green mean).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from myoflow.phantom.heart import SliceMotion
from myoflow.phantom.motion import LVMotion
from myoflow.phantom.thinning import Thinning

#: The truth of a rendered slice comes from the motion its plane sees; an ``LVMotion`` is the
#: same thing without through-plane motion or heart shift.
Motion = SliceMotion | LVMotion
from myoflow.record import LANDMARK_LINES, LANDMARK_POINTS, SliceRecord
from myoflow.strain.aha import landmark_line_angles_deg

STRAIN_KEYS = ("ecc_green", "err_green", "ecc_eng", "err_eng")
GLOBAL_SEGMENT = 0


def pixel_centres_mm(n_rows: int, n_cols: int, pixel_mm: float) -> np.ndarray:
    """``[H, W, 2]`` (x, y) positions in mm of pixel centres (record convention)."""
    rows, cols = np.indices((n_rows, n_cols), dtype=float)
    return np.stack([cols * pixel_mm, rows * pixel_mm], axis=-1)


def displacement(
    motion: Motion, s_frames: np.ndarray, shape: tuple[int, int], pixel_mm: float
) -> np.ndarray:
    """``[T, 2, H, W]`` float64 Lagrangian displacement of every pixel centre from ED.

    Frames with s = 0 (ED) are exactly zero (the map is the identity there; this avoids storing
    1e-15 mm of round-off).
    """
    grid = pixel_centres_mm(shape[0], shape[1], pixel_mm)
    out = np.zeros((len(s_frames), 2) + tuple(shape))
    for k, s in enumerate(s_frames):
        if s != 0.0:
            out[k] = np.moveaxis(motion.forward(grid, float(s)) - grid, -1, 0)
    return out


def strain_maps(
    motion: Motion, s_frames: np.ndarray, mask_ed: np.ndarray, pixel_mm: float
) -> dict[str, np.ndarray]:
    """Analytic per-pixel strain ``[T, H, W]`` float64 inside the ED mask, NaN outside.

    Exactly zero at ED (s = 0), like the displacement, rather than 1e-17 of round-off.
    """
    inside = mask_ed.astype(bool)
    pts = pixel_centres_mm(mask_ed.shape[0], mask_ed.shape[1], pixel_mm)[inside]
    maps = {key: np.full((len(s_frames),) + mask_ed.shape, np.nan) for key in STRAIN_KEYS}
    for k, s in enumerate(s_frames):
        values = motion.strain(pts, float(s)) if s != 0.0 else dict.fromkeys(STRAIN_KEYS, 0.0)
        for key in STRAIN_KEYS:
            maps[key][k][inside] = values[key]
    return maps


def landmark_angles_deg(motion: Motion, rv_insertion_mm: np.ndarray) -> np.ndarray:
    """Image angles of the 24 landmark lines about the motion's centre
    (``myoflow.strain.aha.landmark_line_angles_deg``)."""
    return landmark_line_angles_deg(np.asarray(motion.center_mm), rv_insertion_mm, LANDMARK_LINES)


def landmarks(
    motion: Motion,
    s_frames: np.ndarray,
    rv_insertion_mm: np.ndarray,
    thinning: Thinning | None = None,
) -> np.ndarray:
    """``[T, 2, 168]`` landmark positions: 7 points per line evenly from endo- to epicardium at
    ED, moved by the forward map. Landmark index = line * 7 + point.

    With an infarct ``thinning`` a line starts at the thinned endocardium (the wall that is
    drawn), so no landmark sits in the cavity the scar gave up.
    """
    angles = landmark_angles_deg(motion, rv_insertion_mm)
    fractions = np.linspace(0.0, 1.0, LANDMARK_POINTS)[None, :]
    if thinning is not None:
        rad = np.radians(angles)
        lost = thinning.at_image_angle(np.cos(rad), np.sin(rad))[:, None]
        fractions = lost + fractions * (1.0 - lost)
    ed = motion.wall_point(angles[:, None], fractions).reshape(-1, 2)
    out = np.empty((len(s_frames), 2, ed.shape[0]))
    for k, s in enumerate(s_frames):
        out[k] = (ed if s == 0.0 else motion.forward(ed, float(s))).T
    return out


def truth_segment_table(record: SliceRecord) -> pd.DataFrame:
    """Tidy table of the analytic strain per AHA segment (and ``segment = 0``, global) and frame.

    Columns: cohort, subject, slice_id, position, group, segment, frame, time_ms, ecc_green,
    err_green, ecc_eng, err_eng.
    """
    segments = np.asarray(record.extras["aha_segments"])
    n_t = record.n_frames
    present = [int(s) for s in np.unique(segments[segments > 0])]
    rows = []
    for seg in [GLOBAL_SEGMENT] + present:
        sel = segments > 0 if seg == GLOBAL_SEGMENT else segments == seg
        means = {key: np.nanmean(record.extras[key][:, sel], axis=1) for key in STRAIN_KEYS}
        rows.append(
            pd.DataFrame(
                {
                    "cohort": record.cohort,
                    "subject": record.subject,
                    "slice_id": record.slice_id,
                    "position": record.position,
                    "group": record.group,
                    "segment": seg,
                    "frame": np.arange(n_t),
                    "time_ms": np.asarray(record.frame_times_ms, dtype=float),
                    **means,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)

"""What every tracker shares: its inputs checked, its output type, landmark seeds, the extension.

Trackers work in pixel units on ``[T, H, W]`` series (positions ``(x, y)`` = (column, row), frame 0 =
end-diastole, the time of tagging); ``myoflow.tracking.api`` converts to the record's millimetres.

The region a tracker follows is the ED myocardium. Outside it a tagged image shows blood (tags
washed out) or static tissue, so a "tracked" value there would be noise; instead the output field
holds, at every pixel outside the region, the displacement of the nearest tracked pixel
(``extend_nearest``). That keeps the canonical ``[T, 2, H, W]`` field defined everywhere, which the
training target's margin ring (``target_margin_px``) relies on; metrics and strain only ever read
the ED myocardium.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from myoflow.record import LANDMARK_LINES, LANDMARK_POINTS, SliceRecord
from myoflow.strain.aha import landmark_line_angles_deg, lv_centroid_mm


@dataclass
class TrackOutput:
    """A tracker's result in pixels: ``displacement`` ``[T, 2, H, W]`` (x, y) on the ED grid,
    ``points`` ``[T, N, 2]`` positions (x, y) of the seeded sub-pixel points, diagnostics, and,
    from trackers that measure it directly (HARP), the deformation gradient ``[T, 2, 2, H, W]``
    (``F[i, j] = dx_i / dX_j`` in pixel units, NaN outside the tracked region), and from
    trackers that follow the cycle both ways (SinMod) the median distance between the two paths
    per frame ``[T]`` (px, NaN where only one was followed)."""

    displacement: np.ndarray
    points: np.ndarray
    diagnostics: dict[str, float] = field(default_factory=dict)
    deformation: np.ndarray | None = None
    forward_backward_px: np.ndarray | None = None


def ed_region(rec: SliceRecord) -> np.ndarray:
    """The ED myocardium ``[H, W]`` bool the trackers follow."""
    if rec.mask is None:
        raise rec.error("tracking needs a myocardium mask (at least at ED)", "mask")
    region = rec.mask[0 if rec.mask.shape[0] == 1 else rec.ed_frame].astype(bool)
    if not region.any():
        raise rec.error("the ED myocardium mask is empty", "mask")
    return region


def tagged_series(rec: SliceRecord) -> np.ndarray:
    """The tagged series ``[T, H, W]`` float32, checked: present, finite, at least two frames."""
    if rec.tagged is None:
        raise rec.error("tracking needs a tagged series; the record has none", "tagged")
    tagged = np.asarray(rec.tagged, dtype=np.float32)
    if tagged.ndim != 3 or tagged.shape[0] < 2:
        raise rec.error(f"the tagged series must be [T >= 2, H, W], got {tagged.shape}", "tagged")
    if not np.all(np.isfinite(tagged)):
        raise rec.error("the tagged series contains NaN or Inf values", "tagged")
    if rec.ed_frame != 0:
        raise rec.error(
            f"tracking needs end-diastole (tagging) at frame 0, the record has ED at "
            f"{rec.ed_frame}",
            "tagged",
        )
    return tagged


def seed_landmarks(
    mask_ed: np.ndarray, spacing_mm: tuple[float, float], rv_insertion_mm: np.ndarray | None
) -> np.ndarray:
    """``[2, 168]`` ED landmark positions (mm) from the ED mask, for records that carry none.

    24 rays from the LV blood-pool centroid, the first at the mid-septum (halfway between the RV
    insertions, or the documented default orientation of ``myoflow.strain.aha``), 15 degrees apart
    toward inferior and lateral; on each ray 7 points evenly from the first to the last myocardium
    sample (endocardium to epicardium), the convention of ``myoflow.record``.
    """
    sy, sx = spacing_mm
    centre = lv_centroid_mm(mask_ed, spacing_mm)
    angles = np.radians(landmark_line_angles_deg(centre, rv_insertion_mm, LANDMARK_LINES))
    step = 0.1 * min(sx, sy)
    reach = np.hypot(mask_ed.shape[0] * sy, mask_ed.shape[1] * sx)
    radii = np.arange(0.0, reach, step)
    out = np.empty((2, LANDMARK_LINES, LANDMARK_POINTS))
    fractions = np.linspace(0.0, 1.0, LANDMARK_POINTS)
    for line, ang in enumerate(angles):
        x = centre[0] + radii * np.cos(ang)
        y = centre[1] + radii * np.sin(ang)
        inside = ndimage.map_coordinates(mask_ed.astype(np.float32), [y / sy, x / sx], order=0)
        hits = np.flatnonzero(inside > 0.5)
        if len(hits) == 0:
            raise ValueError(f"landmark ray at {np.degrees(ang):.0f} degrees misses the myocardium")
        r = radii[hits[0]] + fractions * (radii[hits[-1]] - radii[hits[0]])
        out[0, line] = centre[0] + r * np.cos(ang)
        out[1, line] = centre[1] + r * np.sin(ang)
    return out.reshape(2, -1)


def extend_nearest(displacement: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``[T, 2, H, W]`` with every pixel outside ``region`` set to its nearest region pixel's value."""
    _, (rows, cols) = ndimage.distance_transform_edt(~region, return_indices=True)
    return displacement[:, :, rows, cols]

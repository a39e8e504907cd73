"""Where the left ventricle is: a square region of interest in millimetres.

The networks see a fixed-size crop around the LV, so the ROI is defined in physical units (mm),
not pixels: the same heart gives the same crop whatever the scanner's matrix and field of view.

With ``roi: mask`` the box is centred on the centroid of the myocardium mask (the union over all
frames, so the heart never moves out of the crop during the cycle; or the ED mask when only it is
known) and its side is the mask's larger extent times ``1 + 2 * margin`` (a margin on each side).
Two guards refine that rule:

* ``min_side_mm``: a tiny mask (an apical slice, a small animal at coarse resolution) would
  otherwise be magnified into a crop of a few blurry source pixels;
* the side is at least twice the largest distance from the centroid to the mask's bounding box,
  so a lopsided mask (an open basal ring) is never cut off by a box centred on its centroid.

With ``roi: center`` (cohorts without masks) the box is centred on the image with a configured
side. A box may reach past the image; the crop is then zero-padded (see ``spatial``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from myoflow.record import SliceRecord

ROI_MODES = ("mask", "center")


@dataclass(frozen=True)
class RoiBox:
    """A square box in the record's image coordinates (mm): centre ``(x, y)`` and side."""

    center_mm: tuple[float, float]
    side_mm: float


def _mask_box(mask: np.ndarray, spacing_mm: tuple[float, float], margin: float) -> RoiBox:
    union = mask.astype(bool).any(axis=0)
    rows, cols = np.nonzero(union)
    sy, sx = spacing_mm
    cx, cy = cols.mean() * sx, rows.mean() * sy
    # Extents and bounding box measured at pixel edges (a one-pixel mask is one pixel wide).
    left, right = (cols.min() - 0.5) * sx, (cols.max() + 0.5) * sx
    top, bottom = (rows.min() - 0.5) * sy, (rows.max() + 0.5) * sy
    extent = max(right - left, bottom - top)
    reach = max(cx - left, right - cx, cy - top, bottom - cy)
    side = max(extent * (1.0 + 2.0 * margin), 2.0 * reach)
    return RoiBox(center_mm=(float(cx), float(cy)), side_mm=float(side))


def locate_roi(
    rec: SliceRecord,
    mode: str = "mask",
    margin: float = 0.25,
    min_side_mm: float | None = None,
    center_side_mm: float | None = None,
) -> RoiBox:
    """The LV ROI of a record.

    ``mode='mask'`` needs a myocardium mask and raises InputError without one. ``mode='center'``
    uses a box of ``center_side_mm`` centred on the image (the image's shorter side when None).
    ``min_side_mm`` (None = no minimum) applies to both modes.
    """
    if mode not in ROI_MODES:
        raise ValueError(f"roi mode must be one of {ROI_MODES}, got {mode!r}")
    sy, sx = rec.pixel_spacing_mm
    if mode == "mask":
        if rec.mask is None or not np.any(rec.mask):
            raise rec.error("no myocardium mask: cannot locate the LV ROI", "mask")
        box = _mask_box(rec.mask, (sy, sx), margin)
    else:
        h, w = rec.image_shape
        side = center_side_mm if center_side_mm is not None else min(h * sy, w * sx)
        box = RoiBox(center_mm=((w - 1) / 2.0 * sx, (h - 1) / 2.0 * sy), side_mm=float(side))
    if min_side_mm is not None and box.side_mm < min_side_mm:
        box = RoiBox(center_mm=box.center_mm, side_mm=float(min_side_mm))
    return box

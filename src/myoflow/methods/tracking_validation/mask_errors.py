"""Wrong myocardium masks: what a tracker is given on real data, where no mask is exact.

Why. Both trackers take the region they follow from the record's ED myocardium mask
(``myoflow.tracking.common.ed_region``): only its pixels are tracked, every other pixel holds
its nearest tracked neighbour's motion. On the phantom that mask is exact; on a real scan it is
drawn by a person or a network and is off by a pixel or two. The validation therefore hands
the tracker a copy of the record with a perturbed mask and scores the result on the true ED
mask, so the table says what a mask error of that size costs.

The perturbations, applied to every frame of the ``[T, H, W]`` mask (``grid.MASK_ERRORS``):

* ``erodeN`` / ``dilateN``: ``scipy.ndimage`` binary erosion / dilation, ``N`` iterations of
  the 4-connected cross, so every pixel within city-block distance ``N`` of the background
  (erosion) or of the myocardium (dilation) changes: a wall thinner or thicker by ``N`` px on
  each side. The image border counts as background for erosion.
* ``shiftN``: the mask moved ``N`` whole pixels along +x (columns): column ``c`` of the result
  is column ``c - N`` of the mask, the first ``N`` columns are background (no wrap-around).
  A pure integer shift, so the mask keeps its shape and size exactly.
* ``none``: the mask as it is.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
from scipy import ndimage

from myoflow.methods.tracking_validation.grid import MASK_ERRORS
from myoflow.record import SliceRecord

#: The 4-connected cross in each frame and nothing across frames: ``[T, H, W]`` masks are
#: perturbed frame by frame.
_CROSS = ndimage.generate_binary_structure(2, 1)[None]


def _operation(error: str) -> tuple[str, int]:
    """``("dilate", 2)`` for ``"dilate2"``; ``ValueError`` naming the allowed errors."""
    if error not in MASK_ERRORS:
        raise ValueError(f"unknown mask error {error!r}; allowed: {list(MASK_ERRORS)}")
    if error == "none":
        return "none", 0
    match = re.fullmatch(r"(erode|dilate|shift)([0-9]+)", error)
    if match is None:  # a name added to grid.MASK_ERRORS without its operation here
        raise ValueError(f"mask error {error!r} names no erode, dilate or shift operation")
    return match.group(1), int(match.group(2))


def perturb_mask(mask: np.ndarray, error: str) -> np.ndarray:
    """``mask`` (``[T, H, W]``, any integer or bool dtype) with ``error`` applied to every frame,
    in ``mask``'s dtype (0/1). A new array: ``mask`` is never changed."""
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"a mask must be [T, H, W], got shape {mask.shape}")
    operation, pixels = _operation(error)
    inside = mask.astype(bool)
    if operation == "erode":
        out = ndimage.binary_erosion(inside, _CROSS, iterations=pixels)
    elif operation == "dilate":
        out = ndimage.binary_dilation(inside, _CROSS, iterations=pixels)
    elif operation == "shift":
        out = np.zeros_like(inside)
        out[:, :, pixels:] = inside[:, :, : inside.shape[2] - pixels]
    else:
        out = inside.copy()
    return out.astype(mask.dtype)


def with_mask_error(rec: SliceRecord, error: str) -> SliceRecord:
    """What the tracker is given: ``rec`` with its mask (every frame) perturbed by ``error``.

    A shallow copy: every other field (tagged series, landmarks, truth) is the record's own, so
    the scoring, which reads ``rec``, keeps the true mask. ``none`` returns ``rec`` itself.
    """
    if error == "none":
        return rec
    if rec.mask is None:
        raise ValueError(f"{rec.key}: mask error {error!r} needs a mask")
    return replace(rec, mask=perturb_mask(rec.mask, error))

"""What multi-label segmentations tell about a slice: RV insertion points and basal/mid/apical.

Cohorts such as ACDC give label maps (RV blood pool, myocardium, LV cavity) but neither RV
insertion points (needed to orient the AHA segments) nor slice positions. Both are derived here
from the end-diastolic labels, with rules simple enough to state in a methods section.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from myoflow.record import SLICE_POSITIONS
from myoflow.strain.aha import lv_centroid_mm

# Myocardium pixels within this many pixels (8-connected) of the RV count as touching it, so that
# a one-pixel gap left by the annotator does not hide the contact.
CONTACT_PIXELS = 2


def rv_insertion_points(
    labels: np.ndarray, myo_label: int, rv_label: int, spacing_mm: tuple[float, float]
) -> np.ndarray | None:
    """``[[x_ant, y_ant], [x_inf, y_inf]]`` in mm, or None when the RV does not touch the myocardium.

    The contact is the set of myocardium pixels within CONTACT_PIXELS of the RV (the septal
    epicardium). Seen from the LV blood-pool centroid (``myoflow.strain.aha.lv_centroid_mm``,
    the AHA centre), the contact spans an arc; the insertion points are its two angular extremes.
    Which end is anterior follows the AHA module's default orientation, which assumes an image
    that is not mirrored: going clockwise on screen (increasing image angle, y pointing down)
    along the septum runs from the inferior to the anterior insertion.
    """
    myo = labels == myo_label
    rv = labels == rv_label
    if not myo.any() or not rv.any():
        return None
    near_rv = ndimage.binary_dilation(
        rv, structure=np.ones((3, 3), bool), iterations=CONTACT_PIXELS
    )
    rows, cols = np.nonzero(myo & near_rv)
    if len(rows) < 2:
        return None
    cx, cy = lv_centroid_mm(myo, spacing_mm)
    x, y = cols * spacing_mm[1], rows * spacing_mm[0]
    angle = np.arctan2(y - cy, x - cx)
    order = np.argsort(angle)
    sorted_angle = angle[order]
    # The arc's ends border the largest angular gap between neighbouring contact pixels.
    gaps = np.diff(np.append(sorted_angle, sorted_angle[0] + 2 * np.pi))
    widest = int(np.argmax(gaps))
    anterior = order[widest]
    inferior = order[(widest + 1) % len(order)]
    return np.array([[x[anterior], y[anterior]], [x[inferior], y[inferior]]], dtype=float)


def slice_positions(has_myocardium: np.ndarray, lv_area: np.ndarray) -> dict[int, str]:
    """Basal/mid/apical for every z-slice with myocardium, from per-slice summaries of a stack.

    ``has_myocardium[z]`` says whether slice z holds myocardium, ``lv_area[z]`` is the area of the
    LV there (myocardium plus the cavity it encloses, any unit). The myocardial slices are cut
    into thirds by rank: slice ``i`` of ``n`` is basal when ``(i + 0.5) / n < 1/3``, mid below
    2/3, apical above (so one slice is mid, three are one of each). The base is the end whose
    third has the larger mean LV area, since the ventricle narrows toward the apex; this holds
    whichever way the stack is ordered.
    """
    present = [int(z) for z in np.flatnonzero(has_myocardium)]
    if not present:
        return {}
    n = len(present)
    third = max(1, n // 3)
    area = np.asarray(lv_area, dtype=float)[present]
    if area[-third:].mean() > area[:third].mean():
        present = present[::-1]
    return {z: SLICE_POSITIONS[min(2, int(3 * (i + 0.5) / n))] for i, z in enumerate(present)}


def representative_slice(positions: dict[int, str], position: str) -> int | None:
    """The middle slice of one third (by rank from the base; of two middle slices, the one toward
    the apex), or None when the third is empty."""
    members = [z for z, p in positions.items() if p == position]
    return members[len(members) // 2] if members else None

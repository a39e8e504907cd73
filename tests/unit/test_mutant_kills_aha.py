"""Landmark line angles: what mutation testing (``make mutants``) found untested.

``landmark_line_angles_deg`` places the 24 landmark lines of ``myoflow.record``: line 0 at the
mid-septum, the middle of the shorter arc between the RV insertion points, then 15 degrees apart
from the anterior toward the inferior insertion and on around the ring. No strain unit test
called it with insertion points, so mutants that took the half-arc from the wrong side, doubled
it, or dropped the insertion points all survived. Here the insertions are placed at known angles
around an off-origin centroid, in both senses of rotation.

Also untested: the centroid is the blood pool's (not the myocardium's: they differ when the wall
is thicker on one side), angles come back in [0, 360) also for negative atan2 angles, and the AHA
segment boundaries lie exactly where the module docstring puts them (a 1 degree shift survived).
"""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.strain.aha import (
    landmark_line_angles_deg,
    lv_centroid_mm,
    polar_grid,
    relative_angle_deg,
    segment_of_angle,
)

CENTROID = np.array([31.0, 17.5])


def _point(angle_deg: float, radius_mm: float) -> np.ndarray:
    a = np.radians(angle_deg)
    return CENTROID + radius_mm * np.array([np.cos(a), np.sin(a)])


def _wrapped(angles: np.ndarray) -> np.ndarray:
    return np.asarray(angles) % 360.0


@pytest.mark.parametrize(
    "anterior, inferior, septum, step",
    [
        (230.0, 130.0, 180.0, -15.0),  # arc of 100 degrees toward smaller angles
        (300.0, 40.0, 350.0, 15.0),  # arc of 100 degrees across 0, toward larger angles
        (100.0, 240.0, 170.0, 15.0),  # arc of 140 degrees
    ],
)
def test_line_0_is_the_mid_septum_and_lines_run_toward_inferior(
    anterior: float, inferior: float, septum: float, step: float
) -> None:
    # the insertions at different distances: only their angles may matter
    rv = np.stack([_point(anterior, 14.0), _point(inferior, 9.0)])
    angles = landmark_line_angles_deg(CENTROID, rv, 24)
    expected = septum + step * np.arange(24)
    # the same few float64 operations: equal to ~1e-13 degrees
    np.testing.assert_allclose(_wrapped(angles), _wrapped(expected), atol=1e-9)


def test_without_insertions_the_septum_is_at_180_degrees_and_lines_run_toward_120() -> None:
    """The documented default: insertions at 240 (anterior) and 120 (inferior) degrees."""
    angles = landmark_line_angles_deg(CENTROID, None)
    np.testing.assert_allclose(_wrapped(angles[:3]), [180.0, 165.0, 150.0], atol=1e-9)
    assert len(angles) == 24


def test_the_centroid_is_the_blood_pools_not_the_myocardiums() -> None:
    spacing = (0.8, 0.6)
    rows, cols = np.indices((96, 96))
    x, y = cols * spacing[1] - CENTROID[0], rows * spacing[0] - CENTROID[1]
    r, theta = np.hypot(x, y), np.arctan2(y, x)
    ring = (r >= 8.0) & (r <= 13.0 + 4.0 * np.cos(theta))  # wall 9 mm thick at +x, 1 mm at -x
    centre = lv_centroid_mm(ring.astype(np.uint8), spacing)
    # the pool is a pixelated disc of radius 8 mm about CENTROID: its centroid is within a small
    # fraction of a pixel (0.1 mm); the myocardium's lies 6 mm toward +x
    np.testing.assert_allclose(centre, CENTROID, atol=0.1)


def test_an_open_ring_falls_back_to_the_myocardiums_centroid() -> None:
    """A basal slice through the outflow tract: the ring does not close, no pool is enclosed."""
    rows, cols = np.indices((40, 40))
    r, theta = np.hypot(rows - 20, cols - 20), np.degrees(np.arctan2(rows - 20, cols - 20))
    open_ring = (r >= 6) & (r <= 10) & (np.abs(theta) > 40)  # a 80 degree gap toward +x
    centre = lv_centroid_mm(open_ring.astype(np.uint8), (1.0, 1.0))
    ys, xs = np.nonzero(open_ring)
    # the mean of the same pixel coordinates: float rounding only
    np.testing.assert_allclose(centre, [xs.mean(), ys.mean()], rtol=1e-12)


def test_angles_are_in_0_to_360_for_every_direction() -> None:
    angle, _, _ = polar_grid((3, 3), (1.0, 1.0), np.array([1.0, 1.0]))
    # pixel (row 0, col 1) is straight up the image from the centre: atan2(-1, 0) = -90 degrees
    assert angle[0, 1] == 270.0 and angle[1, 2] == 0.0 and angle[2, 1] == 90.0
    np.testing.assert_allclose(relative_angle_deg(np.array([230.0, 250.0]), 240.0, 1.0), [350, 10])


#: Default orientation: anterior insertion at 240 degrees, the septum toward smaller angles.
ANTERIOR, DIRECTION = 240.0, -1.0


def _segment(position: str, rel: float) -> int:
    """The segment at ``rel`` degrees from the anterior insertion toward the septum."""
    return int(
        segment_of_angle(np.array([ANTERIOR + DIRECTION * rel]), position, ANTERIOR, DIRECTION)[0]
    )


@pytest.mark.parametrize(
    "position, start, width, order",
    [
        ("basal", 0.0, 60.0, (2, 3, 4, 5, 6, 1)),
        ("mid", 0.0, 60.0, (8, 9, 10, 11, 12, 7)),
        ("apical", 15.0, 90.0, (14, 15, 16, 13)),  # 14 centred on the default mid-septum (60)
    ],
)
def test_segments_change_exactly_at_the_documented_boundaries(
    position: str, start: float, width: float, order: tuple[int, ...]
) -> None:
    for k, segment in enumerate(order):
        lo, hi = start + k * width, start + (k + 1) * width
        # half a degree inside each boundary of the sector, and its middle
        for rel in (lo + 0.5, (lo + hi) / 2, hi - 0.5):
            assert _segment(position, rel % 360.0) == segment, (position, rel)

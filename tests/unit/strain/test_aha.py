"""AHA segments: known angles land in known segments, with and without RV insertion points."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.strain.aha import (
    DEFAULT_ANTERIOR_DEG,
    lv_centroid_mm,
    orientation,
    segment_map,
    segment_of_angle,
)


def _deg(a: float) -> np.ndarray:
    return np.array([a % 360.0])


@pytest.mark.parametrize(
    "offset, mid, basal, apical",
    [
        (10, 8, 2, 13),  # just past the anterior insertion, into the septum
        (59, 8, 2, 14),
        (61, 9, 3, 14),  # the mid-septum is at 60 degrees from the anterior insertion
        (121, 10, 4, 15),
        (181, 11, 5, 15),
        (241, 12, 6, 16),
        (301, 7, 1, 13),
        (350, 7, 1, 13),
    ],
)
def test_segments_advance_from_anterior_insertion_through_septum(
    offset: float, mid: int, basal: int, apical: int
) -> None:
    for anterior, direction in ((DEFAULT_ANTERIOR_DEG, -1.0), (30.0, 1.0)):
        angle = _deg(anterior + direction * offset)
        assert segment_of_angle(angle, "mid", anterior, direction)[0] == mid
        assert segment_of_angle(angle, "basal", anterior, direction)[0] == basal
        assert segment_of_angle(angle, "apical", anterior, direction)[0] == apical


def test_orientation_from_insertion_points() -> None:
    centre = np.array([10.0, 10.0])
    # anterior insertion straight up (270 deg with y down), inferior straight left (180 deg)
    rv = np.array([[10.0, 5.0], [5.0, 10.0]])
    anterior, direction = orientation(centre, rv)
    assert anterior == pytest.approx(270.0)
    assert direction == -1.0
    # mirrored image: the septum lies on the other side
    anterior, direction = orientation(centre, np.array([[10.0, 5.0], [15.0, 10.0]]))
    assert direction == 1.0


def test_segment_map_of_ring() -> None:
    spacing = (0.5, 0.5)
    rows, cols = np.indices((60, 60))
    r = np.hypot(rows - 30, cols - 30)
    ring = (r >= 8) & (r <= 12)
    centre = lv_centroid_mm(ring, spacing)
    np.testing.assert_allclose(centre, [15.0, 15.0], atol=1e-9)
    segs = segment_map(ring, spacing, "mid", None)
    assert set(np.unique(segs)) == {0, 7, 8, 9, 10, 11, 12}
    # default orientation: septum (segments 8, 9) on the image left, lateral (11, 12) on the right
    assert segs[30, 20] in (8, 9) and segs[30, 40] in (11, 12)
    # every segment covers about a sixth of the ring
    counts = np.array([(segs == s).sum() for s in range(7, 13)])
    assert counts.min() > 0.8 * counts.mean()


# --- Hand-placed points whose AHA segment follows from the definition alone -----------------
#
# The AHA 17-segment model (Cerqueira et al. 2002, Circulation 105:539-542): basal and mid
# slices have six 60-degree segments, the first boundary at the anterior RV insertion point;
# going from there through the septum toward the inferior insertion: anteroseptal (2 / 8),
# inferoseptal (3 / 9), inferior (4 / 10), inferolateral (5 / 11), anterolateral (6 / 12) and,
# closing the circle, anterior (1 / 7). The apex has four 90-degree segments, septal (14),
# inferior (15), lateral (16) and anterior (13), with the septal one centred on the mid-septum,
# 60 degrees from the anterior insertion: its boundaries lie 15 and 105 degrees from the
# anterior insertion (60 -/+ 45), the next ones at 195 and 285.
#
# The points below sit on a ring of myocardium centred on pixel (ROW0, COL0); each is given as a
# pixel offset (dx along columns, dy down the rows) on integer triangles (3-4-5, 5-12-13), so
# its image angle atan2(dy, dx) is known exactly and is at least 6.8 degrees from every segment
# boundary of its case (no rounding question). Expected segments are written out by hand from
# the sectors listed in each case's comment, not computed.

SHAPE = (64, 64)
ROW0, COL0 = 32, 32
SPACING = (0.5, 0.5)
CENTRE_MM = np.array([COL0 * SPACING[1], ROW0 * SPACING[0]])  # (x, y) = (16, 16) mm


def _ring() -> np.ndarray:
    """Closed myocardium ring of radius 9-15 pixels: its blood pool's centroid is the centre."""
    rows, cols = np.indices(SHAPE)
    r = np.hypot(rows - ROW0, cols - COL0)
    return (r >= 9) & (r <= 15)


def _rv_at(anterior_deg: float, inferior_deg: float, radius_mm: float = 8.0) -> np.ndarray:
    """RV insertion points ``[[x, y] anterior, [x, y] inferior]`` at given image angles."""
    return np.array(
        [
            CENTRE_MM + radius_mm * np.array([np.cos(np.radians(a)), np.sin(np.radians(a))])
            for a in (anterior_deg, inferior_deg)
        ]
    )


def _segments_at(
    points: list[tuple[int, int, int, int, int]], rv: np.ndarray | None
) -> dict[str, list[tuple[int, int, int]]]:
    """Observed and expected ``(basal, mid, apical)`` segment of each ``(dx, dy, b, m, a)``."""
    ring = _ring()
    maps = {pos: segment_map(ring, SPACING, pos, rv) for pos in ("basal", "mid", "apical")}
    observed, expected = [], []
    for dx, dy, basal, mid, apical in points:
        row, col = ROW0 + dy, COL0 + dx
        assert ring[row, col], (dx, dy)  # the point lies on the myocardium
        b, m, a = (int(maps[pos][row, col]) for pos in ("basal", "mid", "apical"))
        observed.append((b, m, a))
        expected.append((basal, mid, apical))
    return {"observed": observed, "expected": expected}


# Default orientation (no RV insertion points; module docstring): anterior insertion at 240
# degrees (up-left), septum centred at 180 (image left), inferior insertion at 120; from 240
# the segments advance toward decreasing image angle. Sectors in image angle:
#   basal/mid: 2/8 (180, 240), 3/9 (120, 180), 4/10 (60, 120), 5/11 (0, 60), 6/12 (300, 360),
#              1/7 (240, 300) -- anterior at the top of the image, lateral on the right;
#   apical:    14 (135, 225) septal on the left, 15 (45, 135) inferior at the bottom,
#              16 (-45, 45) lateral on the right, 13 (225, 315) anterior at the top.
DEFAULT_POINTS = [
    # dx, dy, basal, mid, apical    image angle (degrees)
    (0, -12, 1, 7, 13),  # 270.00: straight up, anterior
    (-9, -12, 2, 8, 13),  # 233.13: just septal of the anterior insertion, apex still anterior
    (-12, -9, 2, 8, 14),  # 216.87: past the apical 13/14 boundary at 225
    (-12, 5, 3, 9, 14),  # 157.38
    (-9, 12, 3, 9, 15),  # 126.87: past the apical 14/15 boundary at 135
    (-5, 12, 4, 10, 15),  # 112.62
    (9, 12, 5, 11, 15),  # 53.13
    (12, 9, 5, 11, 16),  # 36.87: past the apical 15/16 boundary at 45
    (12, -5, 6, 12, 16),  # 337.38
    (9, -12, 6, 12, 13),  # 306.87: past the apical 16/13 boundary at 315
    (3, -12, 1, 7, 13),  # 284.04
]


def test_default_orientation_is_the_documented_radiological_view() -> None:
    """No RV insertion points: anterior insertion at 240 degrees, septum toward lower angles."""
    assert orientation(CENTRE_MM, None) == (240.0, -1.0)


def test_default_orientation_segments_of_hand_placed_points() -> None:
    """Septum on the image left, anterior at the top, with the apical quadrants on the axes."""
    result = _segments_at(DEFAULT_POINTS, None)
    assert result["observed"] == result["expected"]


# The default view mirrored left-right, with RV insertion points given: anterior insertion at
# 300 degrees (up-right), inferior at 60 (down-right), septum centred at 0 (image right), so
# the segments advance toward increasing image angle. Sectors:
#   basal/mid: 2/8 (300, 360), 3/9 (0, 60), 4/10 (60, 120), 5/11 (120, 180), 6/12 (180, 240),
#              1/7 (240, 300);
#   apical:    14 (315, 45), 15 (45, 135), 16 (135, 225), 13 (225, 315).
MIRRORED_POINTS = [
    (0, -12, 1, 7, 13),  # 270.00
    (9, -12, 2, 8, 13),  # 306.87
    (12, -9, 2, 8, 14),  # 323.13
    (12, 5, 3, 9, 14),  # 22.62
    (9, 12, 3, 9, 15),  # 53.13
    (5, 12, 4, 10, 15),  # 67.38
    (-9, 12, 5, 11, 15),  # 126.87
    (-12, 9, 5, 11, 16),  # 143.13
    (-12, -5, 6, 12, 16),  # 202.62
    (-9, -12, 6, 12, 13),  # 233.13
]


def test_mirrored_view_with_insertion_points() -> None:
    """RV on the image right: every segment is the mirror image of the default view's."""
    result = _segments_at(MIRRORED_POINTS, _rv_at(300.0, 60.0))
    assert result["observed"] == result["expected"]


# A rotated view: anterior insertion at 0 degrees (image right), inferior at 240 (up-left),
# the septum between them through 300 (the shorter arc), so the segments advance toward
# decreasing image angle; the relative angle of a point is (0 - angle) mod 360. Sectors:
#   basal/mid: 2/8 (300, 360), 3/9 (240, 300), 4/10 (180, 240), 5/11 (120, 180),
#              6/12 (60, 120), 1/7 (0, 60);
#   apical:    14 (255, 345), 15 (165, 255), 16 (75, 165), 13 (345, 75).
ROTATED_POINTS = [
    (12, -5, 2, 8, 14),  # 337.38, relative 22.62: past the apical 13/14 boundary at 15
    (3, -12, 3, 9, 14),  # 284.04, relative 75.96
    (-5, -12, 3, 9, 15),  # 247.38, relative 112.62: past the apical 14/15 boundary at 105
    (-12, -5, 4, 10, 15),  # 202.62, relative 157.38
    (-12, 5, 5, 11, 16),  # 157.38, relative 202.62: past the apical 15/16 boundary at 195
    (-5, 12, 6, 12, 16),  # 112.62, relative 247.38
    (5, 12, 6, 12, 13),  # 67.38, relative 292.62: past the apical 16/13 boundary at 285
    (12, 5, 1, 7, 13),  # 22.62, relative 337.38
]


def test_rotated_view_with_insertion_points() -> None:
    """The segments follow the insertion points, wherever the image puts them."""
    result = _segments_at(ROTATED_POINTS, _rv_at(0.0, 240.0))
    assert result["observed"] == result["expected"]

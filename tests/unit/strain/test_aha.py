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

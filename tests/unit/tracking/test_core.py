"""The core of the ED mask the trackers follow: as deep an erosion as keeps half of the mask."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from myoflow.tracking.api import EDGE_PX, core_of


def _annulus(inner: float, outer: float) -> np.ndarray:
    rows, cols = np.mgrid[:96, :96]
    radius = np.hypot(rows - 47.5, cols - 47.5)
    return (radius >= inner) & (radius <= outer)


@pytest.mark.parametrize(
    "inner, outer, depth",
    [
        (20.0, 34.0, 3),  # a wall 15 px thick (a mask drawn 2 px too wide): 3 px come off
        (22.0, 30.0, 2),  # 9 px: a 3-px erosion would keep less than half, 2 px come off
        (24.0, 27.0, 0),  # 4 px: any erosion keeps less than half, the mask stays whole
    ],
)
def test_the_deepest_erosion_that_keeps_half_of_the_mask(
    inner: float, outer: float, depth: int
) -> None:
    region = _annulus(inner, outer)
    expected = ndimage.binary_erosion(region, iterations=depth) if depth else region
    core = core_of(region)
    np.testing.assert_array_equal(core, expected)
    assert core.sum() >= 0.5 * region.sum()
    deeper = [d for d in EDGE_PX if d > depth]
    for d in deeper:
        assert ndimage.binary_erosion(region, iterations=d).sum() < 0.5 * region.sum()

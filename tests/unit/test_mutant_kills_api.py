"""Tracked strain maps: what mutation testing (``make mutants``) found untested.

``TrackResult.strain_maps`` is documented as per-pixel strain *on the ED myocardium* for trackers
that do not measure the deformation gradient (SinMod): a mutant that dropped the region, and so
returned finite strain over blood and background, survived every tracking test.
"""

from __future__ import annotations

import numpy as np

from myoflow.strain.aha import lv_centroid_mm
from myoflow.strain.green import radial_circumferential
from myoflow.tracking.api import TrackResult

SPACING = (1.2, 0.9)


def _result() -> TrackResult:
    """A ring region and a smooth contraction toward the ring's centre, no deformation gradient."""
    rows, cols = np.indices((40, 44), dtype=float)
    x, y = cols * SPACING[1] - 20.0, rows * SPACING[0] - 24.0
    r = np.hypot(x, y)
    region = (r >= 6.0) & (r <= 11.0)
    s = np.linspace(0.0, 1.0, 4)[:, None, None]
    displacement = np.stack([-0.08 * s * x, -0.06 * s * y], axis=1).astype(np.float32)
    return TrackResult(
        displacement=displacement,
        landmarks=np.zeros((4, 2, 168), np.float32),
        region=region,
        peaks=None,  # type: ignore[arg-type]  # not used by strain_maps
    )


def test_strain_maps_cover_the_ed_myocardium_only() -> None:
    result = _result()
    maps = result.strain_maps(SPACING)
    centroid = lv_centroid_mm(result.region.astype(np.uint8), SPACING)
    expected = radial_circumferential(
        result.displacement.astype(np.float64), SPACING, centroid, result.region
    )
    for key, value in maps.items():
        assert np.isnan(value[:, ~result.region]).all(), f"{key} outside the myocardium"
        assert np.isfinite(value[1:, result.region]).mean() > 0.9, f"{key} on the myocardium"
        np.testing.assert_array_equal(value, expected[key], err_msg=key)

"""The trackers' pixel-to-millimetre conversions on non-square pixels, where a (row, column)
swap shows: analytic values and round trips."""

from __future__ import annotations

import numpy as np

from myoflow.tracking.units import (
    deformation_px_to_mm,
    field_px_to_mm,
    points_mm_to_px,
    positions_px_to_mm,
)

#: (row, column) spacing, as records store it: rows 1.4 mm apart, columns 1.0 mm
SPACING = (1.4, 1.0)


def test_landmarks_go_to_pixels_and_back_exactly() -> None:
    mm = np.array([[10.0, 2.0, 0.0], [14.0, 7.0, 0.0]])  # [2, N] (x, y)
    px = points_mm_to_px(mm, SPACING)
    np.testing.assert_allclose(px, [[10.0, 10.0], [2.0, 5.0], [0.0, 0.0]])
    back = positions_px_to_mm(px[None], SPACING)  # one frame
    assert back.shape == (1, 2, 3)
    np.testing.assert_allclose(back[0], mm, rtol=0, atol=1e-12)


def test_a_one_pixel_field_is_one_column_and_one_row_spacing() -> None:
    u = np.ones((2, 2, 3, 4), np.float32)
    mm = field_px_to_mm(u, SPACING)
    assert mm.dtype == np.float32
    assert np.all(mm[:, 0] == np.float32(1.0)) and np.all(mm[:, 1] == np.float32(1.4))


def test_a_shear_measured_in_pixels_is_the_shear_in_millimetres() -> None:
    """x = X + g Y in mm is x_px = X_px + g (sy / sx) Y_px in pixels: converted back, F_mm has
    g off the diagonal and ones on it, whatever the aspect ratio."""
    sy, sx = SPACING
    g = 0.2
    f_px = np.zeros((1, 2, 2, 1, 1), np.float32)
    f_px[0, 0, 0] = f_px[0, 1, 1] = 1.0
    f_px[0, 0, 1] = g * sy / sx
    f_mm = deformation_px_to_mm(f_px, SPACING)
    assert f_mm.dtype == np.float32
    np.testing.assert_allclose(f_mm[0, :, :, 0, 0], [[1.0, g], [0.0, 1.0]], atol=1e-6)
    # and a shear of rows by columns scales the other way
    f_px[0, 0, 1], f_px[0, 1, 0] = 0.0, g * sx / sy
    np.testing.assert_allclose(
        deformation_px_to_mm(f_px, SPACING)[0, :, :, 0, 0], [[1.0, 0.0], [g, 1.0]], atol=1e-6
    )

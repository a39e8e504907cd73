"""The trackers' unit conversions: pixels (x = column, y = row) to the record's millimetres.

Why a module of its own: trackers work in pixels, records and every consumer in millimetres, and
a pixel spacing given as (row, column) = (sy, sx) is easy to apply the wrong way round. On square
pixels such a swap changes nothing, so only non-square pixels (``tests/unit/tracking/
test_non_square_pixels.py``) and this module's analytic tests catch it; keeping the conversions
together makes them the small target that mutation testing (``make mutants``) covers.
"""

from __future__ import annotations

import numpy as np


def _scale(spacing_mm: tuple[float, float]) -> np.ndarray:
    """``[sx, sy]``: millimetres per pixel along x (columns) and y (rows), from the record's
    ``(row, column)`` spacing."""
    sy, sx = spacing_mm
    return np.array([sx, sy], dtype=float)


def points_mm_to_px(points_mm: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """Landmarks ``[2, N]`` (x, y) mm to tracker positions ``[N, 2]`` (x, y) px."""
    return np.asarray(points_mm, dtype=float).T / _scale(spacing_mm)


def positions_px_to_mm(positions_px: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """Tracked positions ``[T, N, 2]`` (x, y) px to landmarks ``[T, 2, N]`` (x, y) mm."""
    return np.moveaxis(np.asarray(positions_px, dtype=float) * _scale(spacing_mm), -1, 1)


def field_px_to_mm(displacement_px: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """A displacement field ``[T, 2, H, W]`` (x, y) px to mm, in the input's float type."""
    u = np.asarray(displacement_px)
    return u * _scale(spacing_mm).astype(u.dtype)[None, :, None, None]


def deformation_px_to_mm(deformation_px: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """A deformation gradient ``[T, 2, 2, H, W]`` (``F[i, j] = dx_i / dX_j``) from pixel to
    millimetre coordinates, in the input's float type.

    With ``x_mm = S x_px`` and ``S = diag(sx, sy)``, ``F_mm = S F_px S^-1``, so
    ``F_mm[i, j] = F_px[i, j] s_i / s_j``: the diagonal is unchanged and the shear terms scale
    by the aspect ratio (identical on square pixels).
    """
    f = np.asarray(deformation_px)
    scale = _scale(spacing_mm)
    ratio = (scale[:, None] / scale[None, :]).astype(f.dtype)
    return f * ratio[None, :, :, None, None]

"""One-dimensional interpolation stencils, shared by the spatial and the temporal resampling.

Both resamplings are separable: a crop over an axis-aligned box is a resampling of rows then of
columns, and a change of frame count is a resampling along the frame axis. A stencil holds, for
every output sample, the two source samples around it and the weight of the second, so linear
interpolation is two gathers and a weighted sum, and nearest is one gather.

Gathers rather than a dense interpolation matrix, for two reasons: the cost is proportional to the
output, not to the source size, and a NaN in the source (strain maps are NaN outside the
myocardium) only reaches the outputs whose stencil touches it, never a whole row as ``0 * NaN``
would in a matrix product. Samples that fall exactly on a source sample copy it bit for bit, so
frame 0 and integer positions survive unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Stencil:
    """Per output sample: source indices ``lo``/``hi``, the weight ``w`` of ``hi``, ``inside``.

    Outputs that are not ``inside`` the source (more than half a sample beyond its first or last
    sample) are set to 0: that is the zero padding of a crop reaching past the image.
    """

    lo: np.ndarray
    hi: np.ndarray
    w: np.ndarray
    inside: np.ndarray

    @classmethod
    def linear(cls, coords: np.ndarray, n: int) -> Stencil:
        """Linear stencil for fractional source indices ``coords`` over ``n`` source samples.

        Within half a sample beyond the first or last sample the edge value is repeated, so the
        source's outermost pixels keep their full width instead of fading into the padding.
        """
        coords = np.asarray(coords, dtype=float)
        inside = (coords >= -0.5) & (coords <= n - 0.5)
        c = np.clip(coords, 0.0, n - 1.0)
        lo = np.minimum(np.floor(c).astype(np.intp), max(n - 2, 0))
        hi = np.minimum(lo + 1, n - 1)
        w = np.where(hi > lo, c - lo, 0.0)
        return cls(lo=lo, hi=hi, w=w, inside=inside)

    def nearest(self) -> Stencil:
        """The nearest-sample stencil over the same positions (ties go to the later sample)."""
        idx = np.where(self.w >= 0.5, self.hi, self.lo)
        return Stencil(lo=idx, hi=idx, w=np.zeros_like(self.w), inside=self.inside)

    def apply(self, arr: np.ndarray, axis: int) -> np.ndarray:
        """Resample ``arr`` along ``axis``, keeping its dtype (linear needs a floating-point array)."""
        axis = axis % arr.ndim
        a = np.take(arr, self.lo, axis=axis)
        if np.any(self.w != 0):
            if not np.issubdtype(arr.dtype, np.inexact):
                raise TypeError(f"linear interpolation needs floating-point data, got {arr.dtype}")
            shape = [1] * arr.ndim
            shape[axis] = -1
            w = self.w.reshape(shape).astype(arr.dtype)
            b = np.take(arr, self.hi, axis=axis)
            out = a * (1 - w) + b * w
            for exact, src in ((self.w == 0, a), (self.w == 1, b)):
                if exact.any():
                    sel = _along(axis, arr.ndim, exact)
                    out[sel] = src[sel]
            a = out
        if not self.inside.all():
            a[_along(axis, arr.ndim, ~self.inside)] = 0
        return a


def _along(axis: int, ndim: int, index: np.ndarray) -> tuple[slice | np.ndarray, ...]:
    sel: list[slice | np.ndarray] = [slice(None)] * ndim
    sel[axis] = index
    return tuple(sel)

"""SinMod's drift correction grid: the ED region on a padded crop of the ED grid, where frames
pulled back to ED are band-passed and compared with frame 0 (item 2 of ``myoflow.tracking.sinmod``).

Two details at the border of the region. (a) The outermost pixels of the ED mask are partly
blood or neighbouring tissue; at later frames that part no longer matches ED (blood tags wash
out, fat relaxes), so their weight ramps up over ``edge_taper_px`` pixels of depth. (b) A plain
windowed average at a border pixel only sees the inside of the wall, and with the steep
transmural strain of systole that biases the border towards the mid-wall motion. So the window
fits a first-order model (normalised convolution: ``C`` modelled as ``c0 + c . (y - x)`` over
the window with the region's weights, ``arg(c0)`` kept), which is the plain window inside the
wall and extrapolates linearly at its edges.

Cost. The correction is read at the region's pixels and at the corners of the points' bilinear
stencils, a fifth of the crop, so its phase, frequency and first-order combination are computed
there only; the window's moments are products of 1-D transfers (the Gaussian is separable). The
crop's size is left as it is: the band-pass keeps some gain up to the Nyquist frequency, so its
response reaches across the crop, and a size with cheaper factors (100 for 99) moved the tracked
points by 1e-5 px typically and up to 0.01 px, far beyond float rounding.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import fft, ndimage

from myoflow.tracking.sinmod_filters import (
    _TWO_PI,
    _blend,
    _corners,
    _filter_pair,
    _frequency,
    _moment_transfers,
)

if TYPE_CHECKING:
    from myoflow.tracking.sinmod import SinModOptions

#: The window moments ``y^a x^b W`` as (a, b), in the order the first-order fit uses them.
_MOMENTS = ((0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0))
#: Ridge on the first-order window's slope terms, in units of sigma^2 times the window's weight:
#: keeps the fit defined where the window holds only a sliver of the region.
_RIDGE = 0.05


class _EdGrid:
    """The ED region on a zero-padded crop of the ED grid, where frames pulled back to ED are
    compared with frame 0 (drift correction).

    The crop reaches a filter's and a window's support beyond the region and the points, so the
    FFT's circular convolutions equal linear ones on the masked data. The correction is only
    evaluated (phase, frequency, bilinear sample) at the pixels it is read at: the region's and
    the points' stencils, a fifth of the crop.
    """

    def __init__(
        self,
        frame0: np.ndarray,
        region: np.ndarray,
        points: np.ndarray,
        k: np.ndarray,
        to_xy: np.ndarray,
        sigmas: np.ndarray,
        options: SinModOptions,
    ):
        k0 = np.hypot(k[:, 0], k[:, 1])
        rows, cols = np.nonzero(region)
        # a margin m leaves 2 m between the data and its circular wrap: 2.5 standard deviations
        # of the window or the band-pass's spatial envelope put that at exp(-12.5)
        filter_sigma = 1.0 / (_TWO_PI * min(options.bandwidth, options.cross_width) * k0.min())
        margin = math.ceil(2.5 * max(float(sigmas.max()), float(filter_sigma))) + 2
        corner = (
            np.floor(
                np.minimum([cols.min(), rows.min()], points.min(axis=0, initial=np.inf))
            ).astype(int)
            - margin
        )
        far = (
            np.ceil(
                np.maximum([cols.max(), rows.max()], points.max(axis=0, initial=-np.inf))
            ).astype(int)
            + margin
        )
        self.shape = (
            fft.next_fast_len(int(far[1] - corner[1] + 1)),
            fft.next_fast_len(int(far[0] - corner[0] + 1)),
        )
        self.rows, self.cols = rows - corner[1], cols - corner[0]
        self.to_xy = to_xy
        self._planes: dict[tuple[tuple[int, ...], np.dtype], np.ndarray] = {}
        # the crop's pixels the correction is read at: the region's, then the four corners of
        # each point's bilinear stencil (top-left, top-right, bottom-left, bottom-right)
        width = self.shape[1]
        self.flat = self.rows * width + self.cols
        x0, y0, self.fx, self.fy = _corners(
            points[:, 0] - corner[0], points[:, 1] - corner[1], *self.shape
        )
        top_left = y0 * width + x0
        corners = [top_left, top_left + 1, top_left + width, top_left + width + 1]
        self.read_at = np.concatenate([self.flat, *corners])

        # the distance to the background within the region's box and a ring around it: the
        # nearest background pixel of a region pixel is never beyond that ring
        r0, c0 = max(rows.min() - 1, 0), max(cols.min() - 1, 0)
        box = region[r0 : rows.max() + 2, c0 : cols.max() + 2]
        depth = ndimage.distance_transform_edt(box)[rows - r0, cols - c0]
        if options.edge_taper_px > 0:
            weight = np.clip((depth - 0.5) / options.edge_taper_px, 0.0, 1.0)
        else:
            weight = np.ones(len(rows))
        self.weight = weight.astype(np.float32)
        filters = np.stack([_filter_pair(self.shape, kd, options) for kd in k])  # [D, 2, h, w]
        self.low_filters = np.ascontiguousarray(filters[:, 0])

        # first-order window: C(x) ~ c0 + c . (y - x); c0 = sum_j coef_j H_j / det, where H_j are
        # the cross product correlated with W, dx W, dy W, and coef the first row of the moment
        # matrix's adjugate (det > 0, so arg(c0) needs no division). The window is separable:
        # its moments y^a x^b W are products of 1-D transfers along y and x.
        powers_y, powers_x = np.array(_MOMENTS).T
        along_y = np.stack([_moment_transfers(self.shape[0], float(s)) for s in sigmas])
        along_x = np.stack([_moment_transfers(self.shape[1], float(s)) for s in sigmas])
        # [D, 6, h, w]: W, x W, y W, x^2 W, x y W, y^2 W
        moments = along_y[:, powers_y, :, None] * along_x[:, powers_x, None, :]
        self.first = moments[:, :3]
        plane = self._scatter(self.weight)
        g = self._read(fft.ifft2(fft.fft2(plane)[None, None] * moments, axes=(-2, -1)).real)
        g0, gx, gy, gxx, gxy, gyy = (g[:, j] for j in range(6))
        ridge = _RIDGE * (sigmas**2)[:, None] * g0
        gxx, gyy = gxx + ridge, gyy + ridge
        coef = np.stack([gxx * gyy - gxy * gxy, gxy * gy - gx * gyy, gx * gxy - gxx * gy], axis=1)
        self.coef = coef.astype(np.float32)  # [D, 3, K]

        spectrum = fft.fft2(self._scatter(self._levelled(frame0[rows, cols])))
        band0 = fft.ifft2(spectrum[None, None] * filters, axes=(-2, -1))
        self.low0 = self._read(band0[:, 0])[:, : len(rows)]
        high0 = self._read(band0[:, 1])[:, : len(rows)]
        powers = self._window(np.abs(self.low0) ** 2 + 1j * np.abs(high0) ** 2)
        self.frequency = _frequency(powers.real, powers.imag, k0[:, None].astype(np.float32))
        self.power0 = float(np.mean(np.abs(self.low0) ** 2))

    def _scatter(self, values: np.ndarray) -> np.ndarray:
        """Region ``values`` ``[..., M]`` placed on the crop ``[..., h, w]``, zero elsewhere: a
        buffer kept per shape and type, whose pixels outside the region stay zero (it is
        overwritten by the next call, so it must be used at once)."""
        key = (values.shape[:-1], values.dtype)
        if key not in self._planes:
            self._planes[key] = np.zeros(key[0] + (self.shape[0] * self.shape[1],), key[1])
        plane = self._planes[key]
        for index in np.ndindex(key[0]):  # row by row: twice as fast as one fancy assignment
            plane[index][self.flat] = values[index]
        return plane.reshape(key[0] + self.shape)

    def _read(self, planes: np.ndarray) -> np.ndarray:
        """``planes`` ``[..., h, w]`` at the pixels the correction is read at: ``[..., K]``."""
        return np.take(planes.reshape(planes.shape[:-2] + (-1,)), self.read_at, axis=-1)

    def _levelled(self, values: np.ndarray) -> np.ndarray:
        """Region ``values`` weighted, their weighted mean removed (the fill outside)."""
        level = np.sum(self.weight * values) / np.sum(self.weight)
        return self.weight * (values - level)

    def _window(self, values: np.ndarray) -> np.ndarray:
        """First-order windowed ``values`` ``[D, M]`` (complex) at the read pixels ``[D, K]``, up
        to a positive factor (fine for phases and power ratios)."""
        spectrum = fft.fft2(self._scatter(self.weight * values), axes=(-2, -1))
        h = self._read(fft.ifft2(spectrum[:, None] * self.first, axes=(-2, -1)))
        return np.sum(self.coef * h, axis=1)

    def residual(self, values: np.ndarray) -> tuple[np.ndarray, float]:
        """Residual motion ``[2, K]`` (px, ED coordinates; at the read pixels, see ``at_region``
        and ``at_points``) of frame t pulled back to ED (its ``values`` at the region's tracked
        positions), and its tag power relative to ED's."""
        spectrum = fft.fft2(self._scatter(self._levelled(values)))
        low = fft.ifft2(spectrum[None] * self.low_filters, axes=(-2, -1))
        low = np.take(low.reshape(len(low), -1), self.flat, axis=-1)
        cross = self._window(self.low0 * np.conj(low))
        along = np.angle(cross) / (np.float32(_TWO_PI) * self.frequency)
        field = np.einsum("ij,jk->ik", self.to_xy, along)
        return field, float(np.mean(np.abs(low) ** 2)) / self.power0

    def at_region(self, field: np.ndarray) -> np.ndarray:
        """The residual ``field`` ``[2, K]`` at the region's pixels ``[2, M]``."""
        return field[:, : len(self.flat)]

    def at_points(self, field: np.ndarray) -> np.ndarray:
        """The residual ``field`` ``[2, K]`` at the points ``[2, P]`` (bilinear)."""
        corners = field[:, len(self.flat) :].reshape(len(field), 4, len(self.fx))
        return _blend(corners[:, 0], corners[:, 1], corners[:, 2], corners[:, 3], self.fx, self.fy)

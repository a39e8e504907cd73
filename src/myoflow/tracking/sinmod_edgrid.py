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
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import fft, ndimage

from myoflow.tracking.sinmod_filters import (
    _TWO_PI,
    _filter_pair,
    _frequency,
    _moment_transfers,
    _sample,
)

if TYPE_CHECKING:
    from myoflow.tracking.sinmod import SinModOptions

#: Ridge on the first-order window's slope terms, in units of sigma^2 times the window's weight:
#: keeps the fit defined where the window holds only a sliver of the region.
_RIDGE = 0.05


class _EdGrid:
    """The ED region on a zero-padded crop of the ED grid, where frames pulled back to ED are
    compared with frame 0 (drift correction).

    The crop reaches a filter's and a window's support beyond the region and the points, so the
    FFT's circular convolutions equal linear ones on the masked data.
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
        self.points_x, self.points_y = points[:, 0] - corner[0], points[:, 1] - corner[1]
        self.to_xy = to_xy

        depth = ndimage.distance_transform_edt(region)[rows, cols]
        if options.edge_taper_px > 0:
            weight = np.clip((depth - 0.5) / options.edge_taper_px, 0.0, 1.0)
        else:
            weight = np.ones(len(rows))
        self.weight = weight.astype(np.float32)
        self.filters = np.stack([_filter_pair(self.shape, kd, options) for kd in k])

        # first-order window: C(x) ~ c0 + c . (y - x); c0 = sum_j coef_j H_j / det, where H_j are
        # the cross product correlated with W, dx W, dy W, and coef the first row of the moment
        # matrix's adjugate (det > 0, so arg(c0) needs no division)
        moments = np.stack([_moment_transfers(self.shape, float(s)) for s in sigmas])
        self.first = moments[:, :3]
        plane = self._scatter(self.weight)
        g = fft.ifft2(fft.fft2(plane)[None, None] * moments, axes=(-2, -1)).real
        g0, gx, gy, gxx, gxy, gyy = (g[:, j] for j in range(6))
        ridge = _RIDGE * (sigmas**2)[:, None, None] * g0
        gxx, gyy = gxx + ridge, gyy + ridge
        self.coef = np.stack(
            [gxx * gyy - gxy * gxy, gxy * gy - gx * gyy, gx * gxy - gxx * gy], axis=1
        ).astype(np.float32)

        band0 = self.band(frame0[rows, cols], both=True)
        self.low0 = band0[:, 0, self.rows, self.cols]
        powers = self._window(
            np.abs(self.low0) ** 2 + 1j * np.abs(band0[:, 1, self.rows, self.cols]) ** 2
        )
        self.frequency = _frequency(powers.real, powers.imag, k0[:, None, None].astype(np.float32))
        self.power0 = float(np.mean(np.abs(self.low0) ** 2))

    def _scatter(self, values: np.ndarray) -> np.ndarray:
        """Region ``values`` ``[..., M]`` placed on the crop ``[..., h, w]``, zero elsewhere."""
        plane = np.zeros(values.shape[:-1] + self.shape, values.dtype)
        plane[..., self.rows, self.cols] = values
        return plane

    def band(self, values: np.ndarray, both: bool = False) -> np.ndarray:
        """Band-passed crop ``[D, F, h, w]`` (F = 2 low and high, or 1 low) of region ``values``:
        weighted, their weighted mean removed (the fill), zero outside."""
        level = np.sum(self.weight * values) / np.sum(self.weight)
        spectrum = fft.fft2(self._scatter(self.weight * (values - level)))
        filters = self.filters if both else self.filters[:, :1]
        return fft.ifft2(spectrum[None, None] * filters, axes=(-2, -1))

    def _window(self, values: np.ndarray) -> np.ndarray:
        """First-order windowed ``values`` ``[D, M]`` (complex) on the crop ``[D, h, w]``, up to a
        positive factor (fine for phases and power ratios)."""
        spectrum = fft.fft2(self._scatter(self.weight * values), axes=(-2, -1))
        h = fft.ifft2(spectrum[:, None] * self.first, axes=(-2, -1))
        return np.sum(self.coef * h, axis=1)

    def residual(self, values: np.ndarray) -> tuple[np.ndarray, float]:
        """Residual motion ``[2, h, w]`` (px, ED coordinates) of frame t pulled back to ED (its
        ``values`` at the region's tracked positions), and its tag power relative to ED's."""
        low = self.band(values)[:, 0, self.rows, self.cols]
        cross = self._window(self.low0 * np.conj(low))
        along = np.angle(cross) / (np.float32(_TWO_PI) * self.frequency)
        field = np.einsum("ij,jhw->ihw", self.to_xy, along)
        return field, float(np.mean(np.abs(low) ** 2)) / self.power0

    def at_region(self, field: np.ndarray) -> np.ndarray:
        return field[:, self.rows, self.cols]

    def at_points(self, field: np.ndarray) -> np.ndarray:
        return _sample(field, self.points_x, self.points_y)

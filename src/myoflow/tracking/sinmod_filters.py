"""SinMod's filters: the log-Gabor filter pair, the Gaussian windows, bilinear sampling, the
local frequency, and the frame-to-frame step fields built from them, evaluated only where the
tracked points read them (see ``myoflow.tracking.sinmod`` for the method and its cost).

Filter pair and local frequency. Each direction gets two one-sided band-pass filters: ``B`` and
``B (k . n_d) / |k_d|``. For a local sine of frequency ``w`` both outputs are the same complex
number up to the real factor ``w / |k_d|``, so the ratio of their powers is ``(w / |k_d|)^2``
whatever ``B``'s gain and the wave's amplitude (and for a band of frequencies, the power-weighted
mean of ``(k . n_d / |k_d|)^2``). Powers are averaged over the window and over both frames, and
``w = |k_d| sqrt(P_high / P_low)``. ``B`` is a log-Gabor profile along ``n_d`` (a Gaussian in
``log(k . n_d / |k_d|)`` of standard deviation ``bandwidth``) times a Gaussian across it (standard
deviation ``cross_width |k_d|``), and zero on the half-plane ``k . n_d <= 0``. Why log-Gabor and
not a Gaussian around ``k_d``: it is exactly zero at DC, where the untagged anatomy puts most of
its power (a Gaussian leaks some of it into the low filter but none into the high one, biasing
``w``), and its relative bandwidth is the same for any tag spacing. At the default 0.35 it keeps
frequencies shifted by ``+-25 %`` strain at gain 0.8 or more while passing 0.14 of the second
harmonic ``2 k_d`` (strong for 1-3-3-1 tags), 0.017 of the grid's cross terms ``k_1 +- k_2`` and
nothing of the other direction or the mirror peak ``-k_d``. The high filter only serves the
frequency; phases come from the low one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from scipy import fft

from myoflow.tracking.spectrum import frequencies

if TYPE_CHECKING:
    from myoflow.tracking.sinmod import SinModOptions

_TWO_PI = 2.0 * math.pi
#: Local frequencies are clipped to this range of |k_d| (a window without tags has no frequency).
_FREQUENCY_RANGE = (0.5, 2.0)


def _filter_pair(shape: tuple[int, int], k: np.ndarray, options: SinModOptions) -> np.ndarray:
    """``[2, H, W]`` float32 transfer functions: low ``B`` and high ``B (k . n) / |k_d|``."""
    kx, ky = frequencies(shape)
    k0 = float(np.hypot(k[0], k[1]))
    nx, ny = k[0] / k0, k[1] / k0
    along = (kx * nx + ky * ny) / k0
    across = (ky * nx - kx * ny) / k0
    low = np.zeros(shape)
    ahead = along > 0
    low[ahead] = np.exp(
        -(np.log(along[ahead]) ** 2) / (2.0 * options.bandwidth**2)
        - across[ahead] ** 2 / (2.0 * options.cross_width**2)
    )
    return np.stack([low, low * along]).astype(np.float32)


def _window_transfer(shape: tuple[int, int], sigmas_px: np.ndarray) -> np.ndarray:
    """``[D, H, W]`` float32 transfer functions of Gaussian windows of ``sigmas_px`` pixels."""
    kx, ky = frequencies(shape)
    k2 = kx * kx + ky * ky
    return np.stack([np.exp(-2.0 * math.pi**2 * s * s * k2) for s in sigmas_px]).astype(np.float32)


def _moment_transfers(n: int, sigma_px: float) -> np.ndarray:
    """``[3, n]`` complex64 transfer functions of correlation, along one axis of length ``n``,
    with the Gaussian window's moments ``W, d W, d^2 W`` (``d`` the offset from the output
    pixel). The window is separable, so its 2-D moments are products of these along x and y."""
    d = ((np.arange(n) + n // 2) % n - n // 2).astype(float)
    g = np.exp(-d * d / (2.0 * sigma_px * sigma_px))
    return np.conj(fft.fft(np.stack([g, d * g, d * d * g]), axis=-1)).astype(np.complex64)


def _corners(
    x: np.ndarray, y: np.ndarray, h: int, w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear stencil of the points (x, y) on an ``h x w`` grid, clamped to it: the columns
    ``x0`` and rows ``y0`` of their top-left corners (``x0 + 1``, ``y0 + 1`` are the others) and
    the float32 weights ``fx``, ``fy``."""
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    x0 = np.minimum(x.astype(np.intp), w - 2)
    y0 = np.minimum(y.astype(np.intp), h - 2)
    return x0, y0, (x - x0).astype(np.float32), (y - y0).astype(np.float32)


def _blend(
    c00: np.ndarray,
    c01: np.ndarray,
    c10: np.ndarray,
    c11: np.ndarray,
    fx: np.ndarray,
    fy: np.ndarray,
) -> np.ndarray:
    """Bilinear blend of the corner values (top-left, top-right, bottom-left, bottom-right)."""
    top = c00 + fx * (c01 - c00)
    bottom = c10 + fx * (c11 - c10)
    return top + fy * (bottom - top)


def _frequency(low_power: np.ndarray, high_power: np.ndarray, k0: np.ndarray) -> np.ndarray:
    """Local frequency ``|k_d| sqrt(P_high / P_low)`` (cycles/pixel), clipped; ``k0`` ``[D, 1, 1]``."""
    ratio = np.clip(high_power, 0.0, None) / np.maximum(low_power, np.float32(1e-30))
    lo, hi = _FREQUENCY_RANGE
    return np.clip(k0 * np.sqrt(ratio), lo * k0, hi * k0)


class _LazyField:
    """A field ``[C, H, W]`` that is a pixel-wise function ``evaluate`` (``[K, n] -> [C, n]``)
    of ``planes`` ``[K, H, W]``, evaluated only at the pixels its bilinear samples read, each
    pixel once however many samples read it.

    Why: a step field is read at the corners of the tracked points' bilinear stencils, a few
    thousand pixels, and evaluating it (an arctangent, a square root) on the whole frame was a
    quarter of SinMod's time. Samples are those of a bilinear interpolation of the whole field,
    clamped to its grid.
    """

    def __init__(
        self, planes: np.ndarray, evaluate: Callable[[np.ndarray], np.ndarray], channels: int = 2
    ):
        k, h, w = planes.shape
        self.planes, self.shape, self.evaluate = planes.reshape(k, h * w), (h, w), evaluate
        self.done = np.zeros(h * w, bool)
        self.values = np.empty((channels, h * w), np.float32)

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear values ``[C, N]`` of the field at (x, y), clamped to its grid."""
        h, w = self.shape
        x0, y0, fx, fy = _corners(x, y, h, w)
        i = y0 * w + x0
        stencil = np.concatenate([i, i + 1, i + w, i + w + 1])
        wanted = np.zeros(h * w, bool)
        wanted[stencil] = True
        new = np.flatnonzero(wanted & ~self.done)
        if len(new):
            self.values[:, new] = self.evaluate(np.take(self.planes, new, axis=1))
            self.done[new] = True
        corners = np.take(self.values, stencil, axis=1).reshape(len(self.values), 4, len(i))
        return _blend(corners[:, 0], corners[:, 1], corners[:, 2], corners[:, 3], fx, fy)


class _StepFields:
    """The frame-to-frame step fields of a series ``images`` ``[T, H, W]`` (item 1 of
    ``myoflow.tracking.sinmod``), on the whole frame, each evaluated where it is sampled.

    A frame's bands and band powers are computed once (a frame enters two steps), and the
    windowed planes of every step are kept: a step the other way round, as the backward path
    takes them, has the conjugate windowed cross product (the window is real and even) and the
    same powers, so it costs no FFT (the kept planes: four complex frames per step, 10 MB for
    20 frames of 128 x 128, what the frames' bands took before).
    """

    def __init__(
        self,
        images: np.ndarray,
        k: np.ndarray,
        to_xy: np.ndarray,
        sigmas: np.ndarray,
        options: SinModOptions,
    ):
        shape = images.shape[1:]
        self.images, self.to_xy = images, to_xy
        self.filters = np.stack([_filter_pair(shape, kd, options) for kd in k])  # [D, 2, H, W]
        self.window = np.concatenate([_window_transfer(shape, sigmas)] * 2)  # [2 D, H, W]
        self.k0 = np.hypot(k[:, 0], k[:, 1])[:, None].astype(np.float32)
        self.bands: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.planes: dict[tuple[int, int], np.ndarray] = {}

    def field(self, a: int, b: int) -> _LazyField:
        """The displacement field ``[2, H, W]`` (px) from frame a to frame b."""
        if (b, a) in self.planes:
            return _LazyField(self.planes[(b, a)], partial(self._displacement, reverse=True))
        for t in (a, b):
            if t not in self.bands:
                self.bands[t] = self._bandpass(self.images[t])
        self.planes[(a, b)] = self._windowed(self.bands[a], self.bands[b])
        self.bands.pop(a)  # the tracker steps through frames in order: a starts no other step
        return _LazyField(self.planes[(a, b)], partial(self._displacement, reverse=False))

    def _bandpass(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A frame's low band ``[D, H, W]`` and its low + i high band power."""
        bands = fft.ifft2(fft.fft2(frame)[None, None] * self.filters)
        low, high = bands[:, 0], bands[:, 1]
        power = np.empty(low.shape, np.complex64)
        power.real, power.imag = low.real**2 + low.imag**2, high.real**2 + high.imag**2
        return low, power

    def _windowed(
        self, first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
    ) -> np.ndarray:
        """The windowed cross product and band powers ``[2 D, H, W]`` of two frames' bands."""
        (l1, p1), (l2, p2) = first, second
        d = len(l1)
        planes = np.empty((2 * d,) + l1.shape[1:], np.complex64)
        np.multiply(l1, np.conj(l2), out=planes[:d])
        np.add(p1, p2, out=planes[d:])
        spectra = fft.fft2(planes, axes=(-2, -1))
        spectra *= self.window
        return fft.ifft2(spectra, axes=(-2, -1))

    def _displacement(self, win: np.ndarray, reverse: bool) -> np.ndarray:
        """Displacement ``[2, n]`` at n pixels of the windowed planes ``win`` ``[2 D, n]``;
        ``reverse``: they are the planes of the step the other way round."""
        d = len(self.k0)
        frequency = _frequency(win[d:].real, win[d:].imag, self.k0)
        cross = np.conj(win[:d]) if reverse else win[:d]
        along = np.angle(cross) / (np.float32(_TWO_PI) * frequency)
        return np.einsum("ij,jn->in", self.to_xy, along)

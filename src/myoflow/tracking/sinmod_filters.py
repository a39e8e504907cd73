"""SinMod's filters: the log-Gabor filter pair, the Gaussian windows, bilinear sampling and the
local frequency (see ``myoflow.tracking.sinmod`` for the method).

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


def _moment_transfers(shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """``[6, h, w]`` complex64 transfer functions of correlation with the window's moments
    ``W, dx W, dy W, dx^2 W, dx dy W, dy^2 W`` (``dx, dy`` the offsets from the output pixel)."""
    h, w = shape
    dy = ((np.arange(h) + h // 2) % h - h // 2).astype(float)
    dx = ((np.arange(w) + w // 2) % w - w // 2).astype(float)
    gy, gx = np.meshgrid(dy, dx, indexing="ij")
    g = np.exp(-(gx * gx + gy * gy) / (2.0 * sigma_px * sigma_px))
    kernels = np.stack([g, gx * g, gy * g, gx * gx * g, gx * gy * g, gy * gy * g])
    return np.conj(fft.fft2(kernels, axes=(-2, -1))).astype(np.complex64)


def _sample(planes: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear values ``[K, N]`` of ``planes`` ``[K, H, W]`` at (x, y), clamped to the grid."""
    k, h, w = planes.shape
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    x0 = np.minimum(x.astype(np.intp), w - 2)
    y0 = np.minimum(y.astype(np.intp), h - 2)
    fx = (x - x0).astype(np.float32)
    fy = (y - y0).astype(np.float32)
    flat = planes.reshape(k, -1)
    i = y0 * w + x0
    top = flat[:, i] + fx * (flat[:, i + 1] - flat[:, i])
    bottom = flat[:, i + w] + fx * (flat[:, i + w + 1] - flat[:, i + w])
    return top + fy * (bottom - top)


def _frequency(low_power: np.ndarray, high_power: np.ndarray, k0: np.ndarray) -> np.ndarray:
    """Local frequency ``|k_d| sqrt(P_high / P_low)`` (cycles/pixel), clipped; ``k0`` ``[D, 1, 1]``."""
    ratio = np.clip(high_power, 0.0, None) / np.maximum(low_power, np.float32(1e-30))
    lo, hi = _FREQUENCY_RANGE
    return np.clip(k0 * np.sqrt(ratio), lo * k0, hi * k0)

"""SinMod: tag tracking by local sine-wave modelling (after Arts et al., IEEE TMI 29(5), 2010).

Model. Around any point, one tag direction ``d`` of a SPAMM image (wave vector ``k_d``,
cycles/pixel, unit normal ``n_d``) is a sine wave ``a exp(2 pi i w (x . n_d) + i phi)`` with a
local frequency ``w`` (tags compress and stretch with the tissue) and a phase that the tissue
carries with it. Two frames of the same neighbourhood differ in phase by ``2 pi w u_d``, where
``u_d = n_d . u`` is the motion along ``n_d``; so a phase difference and a local frequency give a
displacement component, and two non-collinear directions give ``u``.

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

Window. Phases and powers are averaged with a Gaussian window of ``window_periods`` tag periods
(standard deviation): the cross product ``C = W * (I_1 conj(I_2))`` of the low-band images and
``u_d = arg(C) / (2 pi w)``. A frame shifted by ``+s`` along ``n_d`` has ``I_2(x) = I_1(x - s)``,
so ``arg(C) = 2 pi w s`` and ``u_d = +s`` (tested). Larger windows average noise, smaller ones
follow strain gradients across a wall only a few tag periods thick; 0.7 periods was the best
compromise on the phantom (below).

Tracking (Lagrangian). Every ED region pixel and every given point is a material point:

1. Frame-to-frame step. The step field between frames t and t + 1 is estimated on the image grid
   as above (full-frame FFTs). Because it compares two frames at the same image position it
   describes the material that is there halfway through the interval, so a point at ``p`` moves
   by ``u(p + u(p) / 2)`` (midpoint rule). Phases wrap at half a tag period, so each step must
   stay below that, but the total motion may be many periods.
2. Drift correction against ED on the ED grid. Errors of the steps would add up, so each frame
   is then compared with frame 0 directly: frame t is sampled at the tracked positions of the ED
   region pixels (cubic B-spline: bilinear interpolation shifts the phase of 5-pixel tags by up to
   0.028 px and of 3-pixel tags by 0.09 px, the spline by 0.0025 and 0.028 px), giving a picture
   of frame t in ED (material) coordinates. That picture and frame 0 are band-passed the same
   way on the same pixels, so they differ only by
   the residual motion, which is small (no wrapping); its phase, windowed, is turned into a
   correction with frame 0's local frequency and added to every point. ``correction_passes``
   repeats this. Comparing in material coordinates has two further merits: both band-passes see
   exactly the same myocardium, so the blood and the neighbouring organs, which do not move with
   it, are kept out (the region's mean fills the rest), and the tracked positions are a fixed
   point of the correction only where frame t, pulled back, matches ED. On the human phantom at
   SNR 20 the end-systolic error of the pixel ring along the endocardium is 0.35 px this way,
   0.9 px when the correction compares band-passed frames on the image grid instead.

   Two details at the border of the region. (a) The outermost pixels of the ED mask are partly
   blood or neighbouring tissue; at later frames that part no longer matches ED (blood tags wash
   out, fat relaxes), so their weight ramps up over ``edge_taper_px`` pixels of depth. (b) A plain
   windowed average at a border pixel only sees the inside of the wall, and with the steep
   transmural strain of systole that biases the border towards the mid-wall motion. So the window
   fits a first-order model (normalised convolution: ``C`` modelled as ``c0 + c . (y - x)`` over
   the window with the region's weights, ``arg(c0)`` kept), which is the plain window inside the
   wall and extrapolates linearly at its edges.
3. The correction is measured in ED coordinates, i.e. it is ``F^-1 r`` for a spatial residual
   ``r`` (``F`` the deformation gradient); it is added as it is. Multiplying it by ``F`` (finite
   differences of the tracked field) changed the errors by less than 0.01 px: the passes converge
   anyway.

4. Forward and backward. A step of more than half a tag period along a tag normal (fast
   filling with fine tags: a rat's wall moves up to 2.9 px between frames, 3-pixel tags wrap at
   1.5 px) jumps a tag, and the drift correction, which assumes a small residual, cannot undo
   it: every later frame of that point is a period off. So each step's size is kept as the
   point's *risk* (its largest step along a normal over half that period, so far on its path).
   When some forward step exceeds ``backward_risk`` (0.7), the cycle is also followed backward
   from its last frame, where the heart is near its ED shape again: ED positions corrected
   against the last frame are the start. It runs back only to the first frame where a forward
   path is at risk, with one correction pass per frame (``BACKWARD_PASSES``). A point takes the
   backward path at the frames where its forward risk exceeds ``backward_risk`` and the
   backward risk is lower. On the phantom at SNR 20 (3 slices per case), the mean error over
   all frames fell from 1.25 to 0.18 px (rat, 3-pixel tags), 0.42 to 0.17 (human, 3 px) and
   0.20 to 0.07 (rat, 4 px), with the end-systolic error unchanged (0.11, 0.15, 0.07 px). Taking the lower-risk path everywhere, or averaging
   both where they agree, lowered the all-frame error a little more but raised the ES error
   (0.13-0.19 px); the 0.7 threshold keeps the forward path wherever it is safe. Series that end
   far from the ED shape (a short acquisition window) gain nothing from the backward path; its
   start risk then stays high and it is not taken.

Combining directions. ``n_d . u = u_d`` for the two directions is solved for ``u`` with the inverse
of the 2x2 matrix of normals, so the tag directions need not be orthogonal.

Measured on the phantom (cohort ``c``, 2 subjects x 3 slices, 160 x 160, 20 frames, 1-3-3-1 tags
~6 px apart): mean / 95th percentile end-systolic error inside the ED myocardium in pixels, for
rat SNR 20, rat SNR 5, human SNR 20, human SNR 5:

- zero displacement: 5.03 / 7.63, 5.03 / 7.63, 4.25 / 6.21, 4.25 / 6.21;
- these defaults: 0.10 / 0.28, 0.18 / 0.43, 0.14 / 0.39, 0.24 / 0.57;
- during development, a plain window (0.5 periods, 2 passes, no taper): 0.10 / 0.36, 0.17 / 0.43,
  0.17 / 0.50, 0.25 / 0.61; and that with the correction on the image grid (band-passed frames
  sampled at the tracked positions, nothing masked): 0.21 / 0.78, 0.24 / 0.79, 0.29 / 0.98,
  0.33 / 0.98.

With tags 3, 4, 5, 6 px apart (``myoflow.tracking.validation.with_tags``, 3 slices, SNR 20) the
mean ES error is 0.13, 0.07, 0.08, 0.11 px (rat) and 0.15, 0.10, 0.11, 0.15 px (human); at 3 px
the rat's rapid filling moves up to 2.9 px between frames, beyond half a period, and without the
backward path (item 4) the late frames jump a tag (mean over all frames 0.77 px).

Left out compared with the paper: the forward/backward combination is a per-point choice by
step risk (item 4), not the paper's weighting over the cycle; no estimate of the local
wave-vector direction (a direction's phase is read along the ED normal ``n_d``; rotation of the
tags only enters through the steps and is removed by the correction); and no quality-weighted
temporal smoothing. A jump that both paths must cross (a series ending far from ED) is not
recovered.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import fft, ndimage

from myoflow.settings import bounded
from myoflow.tracking.common import TrackOutput
from myoflow.tracking.spectrum import TagPeaks, frequencies

_TWO_PI = 2.0 * math.pi
#: Drift corrections per frame on the backward path: it only has to stay on the right tag where
#: the forward one jumped, and one pass measured as accurate as three at a third of the cost.
BACKWARD_PASSES = 1
#: Local frequencies are clipped to this range of |k_d| (a window without tags has no frequency).
_FREQUENCY_RANGE = (0.5, 2.0)
#: Ridge on the first-order window's slope terms, in units of sigma^2 times the window's weight:
#: keeps the fit defined where the window holds only a sliver of the region.
_RIDGE = 0.05


@dataclass(frozen=True)
class SinModOptions:
    """SinMod tunables (config ``tracking: sinmod:``); the defaults were measured on the phantom."""

    #: standard deviation of the band-pass along the tag normal, in natural-log frequency units
    bandwidth: float = bounded(0.35, exclusive_minimum=0)
    #: standard deviation of the band-pass across the tag normal, as a fraction of |k|
    cross_width: float = bounded(0.35, exclusive_minimum=0)
    #: standard deviation of the Gaussian window, in tag periods
    window_periods: float = bounded(0.7, exclusive_minimum=0)
    #: drift corrections against ED per frame (0: frame-to-frame steps only)
    correction_passes: int = bounded(3, minimum=0)
    #: depth (pixels) over which the weight of the region's border pixels ramps up to 1 (0: off)
    edge_taper_px: float = bounded(1.0, minimum=0)
    #: a point whose forward path made a step of more than this fraction of half a tag period
    #: along a tag normal (near a tag jump) takes the backward path where that one is safer
    backward_risk: float = bounded(0.7, minimum=0)


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


def track(
    images: np.ndarray,
    region: np.ndarray,
    points: np.ndarray,
    peaks: TagPeaks,
    options: SinModOptions,
) -> TrackOutput:
    """Track the ED ``region`` pixels and the sub-pixel ``points`` ``[N, 2]`` (x, y) through
    ``images`` ``[T, H, W]`` (frame 0 = ED = tagging) with tag wave vectors ``peaks.k``.

    Returns the Lagrangian displacement ``[T, 2, H, W]`` (px, zero outside ``region``), the
    points' positions ``[T, N, 2]`` and diagnostics: ``tag_power_ratio_last`` (band power of the
    last frame over ED's, in the region: tag fading), ``residual_mean_px`` / ``residual_max_px``
    (size of the last drift correction, mean over frames of its mean / largest: convergence),
    ``step_max_px`` (largest frame-to-frame step; steps must stay below ``period_px / 2``) and
    ``backward_share`` (fraction of points x frames taken from the backward path).
    """
    images = np.asarray(images, dtype=np.float32)
    region = np.asarray(region, dtype=bool)
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    n_frames, h, w = images.shape
    if region.shape != (h, w):
        raise ValueError(f"region {region.shape} does not match the images {images.shape}")
    if not region.any():
        raise ValueError("the region to track is empty")
    k = np.asarray(peaks.k, dtype=float)
    k0 = np.hypot(k[:, 0], k[:, 1])
    sigmas = options.window_periods / k0
    d = len(k)
    to_xy = np.linalg.inv(k / k0[:, None]).astype(np.float32)  # n_d . u = u_d -> u
    k0_grid = k0[:, None, None].astype(np.float32)

    filters = np.stack([_filter_pair((h, w), kd, options) for kd in k])  # [D, 2, H, W]
    window = np.concatenate([_window_transfer((h, w), sigmas)] * 2)

    def bandpass(frame: np.ndarray) -> np.ndarray:
        return fft.ifft2(fft.fft2(frame)[None, None] * filters, axes=(-2, -1))

    def step_field(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Displacement ``[2, H, W]`` from ``first`` to ``second`` (band-passed frames)."""
        l1, l2, h1, h2 = first[:, 0], second[:, 0], first[:, 1], second[:, 1]
        low_power = l1.real**2 + l1.imag**2 + l2.real**2 + l2.imag**2
        high_power = h1.real**2 + h1.imag**2 + h2.real**2 + h2.imag**2
        win = fft.ifft2(
            fft.fft2(np.concatenate([l1 * np.conj(l2), low_power + 1j * high_power])) * window,
            axes=(-2, -1),
        )
        frequency = _frequency(win[d:].real, win[d:].imag, k0_grid)
        along = np.angle(win[:d]) / (np.float32(_TWO_PI) * frequency)
        return np.einsum("ij,jhw->ihw", to_xy, along)

    rows, cols = np.nonzero(region)
    n_region = len(rows)
    ref = np.concatenate([np.stack([cols, rows], -1).astype(float), points])
    grid = _EdGrid(images[0], region, points, k, to_xy, sigmas, options)
    normals = (k / k0[:, None]).astype(np.float32)
    bands: dict[int, np.ndarray] = {}

    def band(t: int) -> np.ndarray:
        if t not in bands:
            bands[t] = bandpass(images[t])
        return bands[t]

    stats = {
        "residual_sum": 0.0,
        "corrected": 0.0,
        "residual_max": 0.0,
        "step_max": 0.0,
        "power_ratio": 1.0,
    }

    def correct(t: int, pos: np.ndarray, passes: int) -> np.ndarray:
        """Drift corrections of ``pos`` against ED at frame t; returns their total."""
        total = np.zeros_like(pos)
        coefficients = ndimage.spline_filter(images[t], order=3, output=np.float32)
        size = np.zeros(n_region)
        for _ in range(passes):
            values = ndimage.map_coordinates(
                coefficients, pos[:n_region, ::-1].T, order=3, prefilter=False, mode="mirror"
            )
            field, stats["power_ratio"] = grid.residual(values)
            correction = grid.at_region(field)
            size = np.hypot(correction[0], correction[1])
            pos[:n_region] += correction.T
            pos[n_region:] += grid.at_points(field).T
            total[:n_region] += correction.T
            total[n_region:] += grid.at_points(field).T
        stats["residual_sum"] += float(size.mean())
        stats["corrected"] += 1
        stats["residual_max"] = max(stats["residual_max"], float(size.max()))
        return total

    def risk(move: np.ndarray) -> np.ndarray:
        """Each point's motion along each tag normal over half that tag's period (phases wrap
        at 1): how close a step came to jumping a tag."""
        along = np.abs(move @ normals.T)  # [N, D]
        return np.max(along * (2.0 * k0[None, :]), axis=1)

    def follow(
        order: list[int], pos: np.ndarray, start_risk: np.ndarray, passes: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``[T, N, 2]`` and risks ``[T, N]`` along the frames of ``order`` (the
        first is where ``pos`` already is), stepping frame to frame then correcting."""
        path = np.full((n_frames,) + pos.shape, np.nan)
        risks = np.full((n_frames, len(pos)), np.inf)
        path[order[0]], risks[order[0]] = pos, start_risk
        worst = start_risk.copy()
        for a, b in itertools.pairwise(order):
            step = step_field(band(a), band(b))
            half = _sample(step, pos[:, 0], pos[:, 1])
            move = _sample(step, pos[:, 0] + 0.5 * half[0], pos[:, 1] + 0.5 * half[1]).T
            pos = pos + move
            worst = np.maximum(worst, risk(move))
            stats["step_max"] = max(stats["step_max"], float(np.hypot(*move.T).max()))
            if options.correction_passes:
                correct(b, pos, passes)
            path[b], risks[b] = pos, worst
        return path, risks

    forward, forward_risk = follow(
        list(range(n_frames)), ref.copy(), np.zeros(len(ref)), options.correction_passes
    )
    positions = forward
    backward_share = 0.0
    if np.max(forward_risk) > options.backward_risk and options.correction_passes:
        # some forward step came close to a tag jump: follow the cycle back from its last frame
        # too (the heart is near its ED shape again there, so ED positions corrected against ED
        # are a safe start); a point takes the backward path at the frames where its forward
        # path is at risk and the backward one is less so
        # back only as far as the first frame where a forward path is at risk: before it the
        # forward path is kept anyway
        last = n_frames - 1
        first = int(np.argmax(np.max(forward_risk, axis=1) > options.backward_risk))
        start = ref.copy()
        start_risk = risk(correct(last, start, options.correction_passes))
        backward, backward_risk = follow(
            list(range(last, first - 1, -1)), start, start_risk, BACKWARD_PASSES
        )
        use = (forward_risk > options.backward_risk) & (backward_risk < forward_risk)
        use[0] = False
        positions = np.where(use[..., None], backward, forward)
        backward_share = float(use[1:].mean())

    displacement = np.zeros((n_frames, 2, h, w), np.float32)
    displacement[1:][:, :, rows, cols] = np.moveaxis(
        positions[1:, :n_region] - ref[:n_region], -1, 1
    )
    tracked = positions[:, n_region:]
    diagnostics = {
        "residual_mean_px": stats["residual_sum"] / max(stats["corrected"], 1.0),
        "residual_max_px": stats["residual_max"],
        "step_max_px": stats["step_max"],
        "period_px": float(np.mean(1.0 / k0)),
        "backward_share": backward_share,
    }
    if options.correction_passes:
        diagnostics["tag_power_ratio_last"] = stats["power_ratio"]
    return TrackOutput(displacement=displacement, points=tracked, diagnostics=diagnostics)

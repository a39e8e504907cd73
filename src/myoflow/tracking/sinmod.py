"""SinMod: tag tracking by local sine-wave modelling (after Arts et al., IEEE TMI 29(5), 2010).

Model. Around any point, one tag direction ``d`` of a SPAMM image (wave vector ``k_d``,
cycles/pixel, unit normal ``n_d``) is a sine wave ``a exp(2 pi i w (x . n_d) + i phi)`` with a
local frequency ``w`` (tags compress and stretch with the tissue) and a phase that the tissue
carries with it. Two frames of the same neighbourhood differ in phase by ``2 pi w u_d``, where
``u_d = n_d . u`` is the motion along ``n_d``; so a phase difference and a local frequency give a
displacement component, and two non-collinear directions give ``u``.

Filter pair and local frequency: see ``myoflow.tracking.sinmod_filters``. The high filter only
serves the frequency; phases come from the low one.

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
   by ``u(p + u(p) / 2)`` (midpoint rule). A phase step is only known modulo a tag period, so
   each component along a tag normal is taken to the period nearest a prediction: the median
   frame-to-frame step of the point's nine nearest ED neighbours at the previous interval (the
   neighbours' median, not the point's own, so one wrong step does not feed the next). A step
   may then exceed half a period as long as it changes by less than half a period from one
   frame to the next, which rapid filling does (its steps grow over two or three frames); the
   first step's prediction is zero, the plain wrapped phase. Measured on the realistic rat
   phantom (3 slices, SNR 20, 5-px tags), the mean landmark error over all frames after the
   checks fell from 0.28-0.89 px to 0.08-0.11, and the basal slice, rejected before (12 % of
   its points flagged by end-systole), passes at 0.12 px at ES; on the realistic human phantom
   from 0.51-0.70 px to 0.31-0.34; the ideal presets are unchanged (their steps stay within
   half a period of the prediction).
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

   Two details at the border of the region (edge taper, first-order window): see
   ``myoflow.tracking.sinmod_edgrid``.
3. The correction is measured in ED coordinates, i.e. it is ``F^-1 r`` for a spatial residual
   ``r`` (``F`` the deformation gradient); it is added as it is. Multiplying it by ``F`` (finite
   differences of the tracked field) changed the errors by less than 0.01 px: the passes converge
   anyway.

4. Forward and backward. A step that differs from its prediction (item 1) by more than half a
   tag period along a tag normal (fast filling with fine tags: a rat's wall moves up to 2.9 px
   between frames, 3-pixel tags wrap at 1.5 px) jumps a tag, and the drift correction, which
   assumes a small residual, cannot undo it: every later frame of that point is a period off.
   So each step's size is kept as the point's *risk* (its largest step along a normal over half
   that period, so far on its path; the step itself, not its distance from the prediction, so
   a large step is tried the other way round even where it was unwrapped).
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

With tags 3, 4, 5, 6 px apart (``myoflow.methods.tracking_validation.sweep.with_tags``, 3 slices, SNR 20) the
mean ES error is 0.13, 0.07, 0.08, 0.11 px (rat) and 0.15, 0.10, 0.11, 0.15 px (human); at 3 px
the rat's rapid filling moves up to 2.9 px between frames, beyond half a period, and without the
backward path (item 4) the late frames jump a tag (mean over all frames 0.77 px).

Cost. A frame takes 13 FFTs of the frame's size (its band-pass, then the windowed cross product
and powers of its step) and 11 on the drift correction's crop per pass; at 128 x 128 these are
half the tracking time, and nothing else is evaluated beyond where it is read: a step field's
phase and frequency only at the corners of the tracked points' bilinear stencils (a few
thousand pixels of the frame; ``sinmod_filters._LazyField``), the correction only at the region's
pixels and the points' stencils, and a backward step from the windowed planes kept from the
forward step the other way round (their conjugate, no FFT). Compared with evaluating every field
on its whole grid, a 20-frame 128 x 128 phantom slice tracks about 1.4 times faster with the
same result up to float32 rounding (median change 3e-7 px over the phantom presets' points and
frames; as with a one-ulp change of the input images, a few points at a tag-jump decision in
the 3-pixel-tag and realistic series then take the other side of it). Not done: band-passing
and windowing the steps on a sub-image around the heart. The log-Gabor pass keeps some gain up
to the Nyquist frequency (0.03 at 5-pixel tags), so its spatial response reaches far: with a
margin that would save time (the box of every tracked position grown by 14 px, 108 x 105 on a
rat slice) the ideal phantom's displacement changed by up to 1e-3 px and single landmarks by
tenths of a pixel, while the saving was under a tenth of the time.

Left out compared with the paper: the forward/backward combination is a per-point choice by
step risk (item 4), not the paper's weighting over the cycle; no estimate of the local
wave-vector direction (a direction's phase is read along the ED normal ``n_d``; rotation of the
tags only enters through the steps and is removed by the correction); and no quality-weighted
temporal smoothing. A jump that both paths must cross (a series ending far from ED) is not
recovered.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from myoflow.settings import bounded
from myoflow.tracking.common import TrackOutput
from myoflow.tracking.sinmod_edgrid import _EdGrid
from myoflow.tracking.sinmod_filters import _StepFields
from myoflow.tracking.spectrum import TagPeaks

#: Drift corrections per frame on the backward path: it only has to stay on the right tag where
#: the forward one jumped, and one pass measured as accurate as three at a third of the cost.
BACKWARD_PASSES = 1
#: ED neighbours (the point included) whose median step predicts a point's next one.
NEIGHBOURS = 9  # odd: the median is one of them


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
    ``step_max_px`` (largest frame-to-frame step, unwrapped) and ``backward_share`` (fraction of
    points x frames taken from the backward path); and, where the backward path was followed,
    ``forward_backward_px``, the median distance between the two paths per frame (NaN before
    the first frame it reached; None when no step came near a tag jump).
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
    to_xy = np.linalg.inv(k / k0[:, None]).astype(np.float32)  # n_d . u = u_d -> u

    rows, cols = np.nonzero(region)
    n_region = len(rows)
    ref = np.concatenate([np.stack([cols, rows], -1).astype(float), points])
    grid = _EdGrid(images[0], region, points, k, to_xy, sigmas, options)
    normals = (k / k0[:, None]).astype(np.float32)
    # the same matrices in double precision, transposed once (the steps are doubles)
    along_normals, to_xy_t = normals.T.astype(float), to_xy.T.astype(float)
    _, neighbours = cKDTree(ref).query(ref, k=min(NEIGHBOURS, len(ref)))
    neighbours = np.reshape(neighbours, (len(ref), -1))  # [N, k] also for a single point
    steps = _StepFields(images, k, to_xy, sigmas, options)

    stats = {
        "residual_sum": 0.0,
        "corrected": 0.0,
        "residual_max": 0.0,
        "step_max": 0.0,
        "power_ratio": 1.0,
    }

    splines: dict[int, np.ndarray] = {}

    def correct(t: int, pos: np.ndarray, passes: int) -> np.ndarray:
        """Drift corrections of ``pos`` against ED at frame t; returns their total."""
        total = np.zeros_like(pos)
        if t not in splines:  # the backward path corrects the forward path's frames again
            splines[t] = ndimage.spline_filter(images[t], order=3, output=np.float32)
        coefficients = splines[t]
        correction = np.zeros((2, n_region))
        for _ in range(passes):
            values = ndimage.map_coordinates(
                coefficients, pos[:n_region, ::-1].T, order=3, prefilter=False, mode="mirror"
            )
            field, stats["power_ratio"] = grid.residual(values)
            correction, at_points = grid.at_region(field), grid.at_points(field)
            pos[:n_region] += correction.T
            pos[n_region:] += at_points.T
            total[:n_region] += correction.T
            total[n_region:] += at_points.T
        size = np.hypot(correction[0], correction[1])  # the last pass's: convergence
        stats["residual_sum"] += float(size.mean())
        stats["corrected"] += 1
        stats["residual_max"] = max(stats["residual_max"], float(size.max()))
        return total

    def unwrap(move: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """Steps ``[N, 2]`` with each component along a tag normal moved by whole tag periods
        to the one nearest the ``predicted`` step (item 1 of the module docstring); a step
        within half a period of its prediction is unchanged."""
        periods = np.round(((predicted - move) @ along_normals) * k0[None, :])  # [N, D]
        return move + (periods / k0[None, :]) @ to_xy_t

    def median_of_neighbours(move: np.ndarray) -> np.ndarray:
        """Each point's component-wise median of ``move`` ``[N, 2]`` over its ED neighbours (a
        partition per component: five times faster than ``np.median`` on the gathered array)."""
        middle = neighbours.shape[1] // 2
        return np.stack(
            [np.partition(c[neighbours], middle, axis=1)[:, middle] for c in move.T], axis=1
        )

    def risk(move: np.ndarray) -> np.ndarray:
        """Each point's motion along each tag normal over half that tag's period (phases wrap
        at 1): how close a step came to jumping a tag."""
        along = np.abs(move @ along_normals)  # [N, D]
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
        velocity = np.zeros_like(pos)
        for a, b in itertools.pairwise(order):
            step = steps.field(a, b)
            half = unwrap(step.sample(pos[:, 0], pos[:, 1]).T, velocity)
            mid = pos + 0.5 * half
            move = unwrap(step.sample(mid[:, 0], mid[:, 1]).T, velocity)
            pos = pos + move
            worst = np.maximum(worst, risk(move))
            stats["step_max"] = max(stats["step_max"], float(np.hypot(*move.T).max()))
            # the prediction of the next step: the median step of each point's ED neighbours,
            # so that one point's wrong step does not propagate into its own next one
            velocity = median_of_neighbours(move)
            if options.correction_passes:
                correct(b, pos, passes)
            path[b], risks[b] = pos, worst
        return path, risks

    forward, forward_risk = follow(
        list(range(n_frames)), ref.copy(), np.zeros(len(ref)), options.correction_passes
    )
    positions = forward
    backward_share, apart_per_frame = 0.0, None
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
        # where both paths exist, how far apart they ended: a quality score (0 when they agree)
        apart = np.hypot(*np.moveaxis(forward[first:] - backward[first:], -1, 0))
        apart_per_frame = np.full(n_frames, np.nan)
        apart_per_frame[first:] = np.median(apart, axis=1)

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
    return TrackOutput(
        displacement=displacement,
        points=tracked,
        diagnostics=diagnostics,
        forward_backward_px=apart_per_frame,
    )

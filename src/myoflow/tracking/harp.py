"""HARP: harmonic phase tracking of SPAMM-tagged images (Osman, McVeigh and Prince, 1999-2000).

Why HARP: the phase of a tag harmonic is a material property. Band-passing one spectral peak k_d
of a tagged image gives a complex image ``H_d = D exp(i phi_d)`` whose phase at a material point
stays what it was at tagging (tag fading and the untagged signal change D, not phi). Two
non-collinear peaks give two phases, enough to pin a point in the plane: the point X seen at ED is,
at frame t, where ``phi_d(x, t) = phi_d(X, 0)`` for d = 1, 2.

Tracking. Each ED pixel of the myocardium (and each sub-pixel landmark) is followed frame by frame
with Newton's method on those two equations: ``x <- x - J^-1 wrap(phi(x, t) - phi(X, 0))``, where
``J`` holds the phase gradients ``grad phi_d = Im(conj(H_d) grad H_d) / |H_d|^2`` (the gradient of
the *wrapped* phase without unwrapping). ``H_d`` and its spatial derivatives come from the same
band-pass in Fourier space (the derivative filters are exact for a band-limited image), sampled
bilinearly at the current sub-pixel position. Targets are the ED phases, not the previous frame's,
so interpolation errors do not accumulate into drift.

Phase wrapping. Residuals are wrapped into (-pi, pi], so Newton converges to the point of equal
phase nearest to its start. Starting each frame from the previous position plus the previous
frame's motion (constant velocity) keeps the start within half a tag period of the answer as long
as motion changes by less than that between frames; total motion may be many periods.

Refinement (tag jumps). A point that starts too far away converges to the wrong tag, a whole
period off, and a point whose harmonic is weak (the blood-myocardium edge, a fading tag) may not
converge at all. After each frame every point's displacement is compared with its converged
neighbours' (normalised Gaussian convolution on the ED grid, computed twice so that the first
pass's outliers do not bias the second). Points that did not converge, or that are more than
``jump_periods`` off their neighbours, are restarted from their ED position plus the neighbours'
displacement and Newton is run again; a point off its neighbours always takes the restart. Using
the displacement, not the frame's increment, also catches a point that drifted off frames ago
(on a human basal slice with 3-pixel tags one such point had run 25 px away by the last frame).

Strain. Differentiating ``phi_d(x(X, t), t) = phi_d(X, 0)`` with respect to X gives
``J_t F = J_0``, so ``F = J_t^-1 J_0`` at every tracked point from the phase gradients alone (HARP
strain, no finite differences of the displacement); ``deformation`` in the output holds it.

Left out: the original's HARP "refinement" by seeded region growing (Liu and Prince) is replaced by
the neighbour-field restart above; through-plane motion is not modelled (short-axis 2D only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft, ndimage

from myoflow.settings import bounded
from myoflow.tracking.common import TrackOutput
from myoflow.tracking.spectrum import TagPeaks, frequencies, gaussian_bandpass


@dataclass(frozen=True)
class HarpOptions:
    """HARP tunables (config ``tracking: harp:``); the defaults were measured on the phantom."""

    #: band-pass standard deviation as a fraction of the tag frequency |k|: wider filters reach
    #: less far in space, so the edge pixels mix in less blood and liver. 0.45 against 0.35,
    #: measured on 48 phantom cells (both species and presets, true, dilated and shifted masks,
    #: SNR 5 and 20, 3- and 5-px tags, 2 slices each): mean ES error 0.202 -> 0.195 px, mean
    #: |ES Err error| 0.034 -> 0.029 (realistic human, true mask, SNR 20: 0.058 -> 0.035)
    filter_width: float = bounded(0.45, exclusive_minimum=0)
    #: Newton iterations per frame (each is one bilinear sample of six complex images)
    iterations: int = bounded(5, minimum=1)
    #: largest Newton step, in tag periods (keeps a weak-harmonic point from flying off)
    max_step_periods: float = bounded(0.25, exclusive_minimum=0)
    #: a converged point's residual phase (radians) below this counts as converged
    tolerance_rad: float = bounded(0.05, exclusive_minimum=0)
    #: increments further than this (tag periods) from the neighbours' are restarted
    jump_periods: float = bounded(0.3, exclusive_minimum=0)
    #: width (pixels) of the Gaussian neighbourhood that the restart field averages over
    neighbourhood_px: float = bounded(2.0, exclusive_minimum=0)


#: Newton stops early when every residual phase is below this (radians; 1e-4 rad is 1e-4 / 2 pi
#: of a tag period, far below any other error).
CONVERGED_RAD = 1e-4


class _Sampler:
    """Bilinear samples of a stack ``[C, H, W]`` at many points at once (one gather for all C).

    Points outside the image are clamped to its border; ``map_coordinates`` per channel would
    recompute the weights C times.
    """

    def __init__(self, stack: np.ndarray):
        self.c, self.h, self.w = stack.shape
        # channels last: each corner of each point is one contiguous read of C values
        self.flat = np.ascontiguousarray(stack.reshape(self.c, -1).T)

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        x = np.clip(xy[:, 0], 0.0, self.w - 1.000001)
        y = np.clip(xy[:, 1], 0.0, self.h - 1.000001)
        x0 = x.astype(np.intp)
        y0 = y.astype(np.intp)
        fx = (x - x0).astype(np.float32)[:, None]
        fy = (y - y0).astype(np.float32)[:, None]
        i00 = y0 * self.w + x0
        f = self.flat
        top = f[i00] * (1 - fx) + f[i00 + 1] * fx
        bottom = f[i00 + self.w] * (1 - fx) + f[i00 + self.w + 1] * fx
        return (top * (1 - fy) + bottom * fy).T


def harmonic_kernels(filters: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """``[6, H, W]`` complex64 spectral kernels: each band-pass, times ``2 pi i kx`` and
    ``2 pi i ky`` (its x and y derivatives), for ``harmonic_stack``. Built once per slice and
    kept in single precision, so every frame's six inverse FFTs run in complex64 (a complex128
    factor would double their cost for digits far below the phase noise)."""
    parts = []
    for g in filters:
        parts += [g, g * (2j * np.pi * kx), g * (2j * np.pi * ky)]
    return np.stack(parts).astype(np.complex64)


def harmonic_stack(frame: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """``[6, H, W]`` complex64: H_1, dH_1/dx, dH_1/dy, H_2, dH_2/dx, dH_2/dy of one frame
    (``kernels`` from ``harmonic_kernels``)."""
    spec = fft.fft2(frame.astype(np.float32))
    return fft.ifft2(spec * kernels, axes=(-2, -1))


def _phase_and_jacobian(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Phases ``[2, N]`` and phase Jacobians ``[N, 2, 2]`` (row d = grad phi_d) of H samples."""
    h = samples[[0, 3]]
    grads = samples[[1, 2, 4, 5]].reshape(2, 2, -1)
    power = (h.real * h.real + h.imag * h.imag).astype(np.float32)
    num = (np.conj(h)[:, None, :] * grads).imag
    jac = num / np.maximum(power, 1e-20)[:, None, :]
    return np.angle(h), np.moveaxis(jac, -1, 0)


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


def _newton(
    sampler: _Sampler,
    start: np.ndarray,
    target: np.ndarray,
    options: HarpOptions,
    max_step_px: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions ``[N, 2]`` of equal phase near ``start``, their residual ``[N]`` and Jacobians.

    Only points not yet converged (residual above ``CONVERGED_RAD``) take further steps: most
    converge in two or three, and the few slow ones (weak harmonic at an edge) then cost little.
    """
    x = start.copy()
    residual = np.empty(len(x))
    jac = np.empty((len(x), 2, 2), np.float32)
    active = np.arange(len(x))
    for iteration in range(options.iterations + 1):
        phase, jac_a = _phase_and_jacobian(sampler(x[active]))
        r = _wrap(phase - target[:, active])
        residual[active] = np.max(np.abs(r), axis=0)
        jac[active] = jac_a
        moving = residual[active] >= CONVERGED_RAD
        if iteration == options.iterations or not moving.any():
            break
        active, r, jac_a = active[moving], r[:, moving], jac_a[moving]
        a, b, c, d = jac_a[:, 0, 0], jac_a[:, 0, 1], jac_a[:, 1, 0], jac_a[:, 1, 1]
        det = a * d - b * c
        ok = np.abs(det) > 1e-12
        det = np.where(ok, det, 1.0)
        step = -np.stack([(d * r[0] - b * r[1]) / det, (-c * r[0] + a * r[1]) / det], axis=-1)
        step[~ok] = 0.0
        length = np.hypot(step[:, 0], step[:, 1])
        step *= np.minimum(1.0, max_step_px / np.maximum(length, 1e-12))[:, None]
        x[active] += step
    return x, residual, jac


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a^-1 b`` for stacks of 2x2 matrices; NaN where ``a`` is singular (no harmonic there)."""
    det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
    inv = np.stack(
        [np.stack([a[:, 1, 1], -a[:, 0, 1]], -1), np.stack([-a[:, 1, 0], a[:, 0, 0]], -1)], 1
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = inv / np.where(np.abs(det) > 1e-12, det, np.nan)[:, None, None]
    return inv @ b


def _neighbour_displacement(
    disp: np.ndarray,
    good: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    points: np.ndarray,
    shape: tuple[int, int],
    options: HarpOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """The displacement ``[N, 2]`` of each point's good neighbours and whether it has any.

    A normalised Gaussian convolution on the ED grid of the good region pixels' displacements
    (the first ``len(rows)`` rows of ``disp``), read at each region pixel and, bilinearly, at
    each sub-pixel point's ED position.
    """
    n_grid = len(rows)
    use = good[:n_grid]
    sigma = options.neighbourhood_px
    # work on the region's bounding box (plus the kernel's reach), not the whole image
    reach = int(np.ceil(3.0 * sigma)) + 1
    r0, c0 = max(int(rows.min()) - reach, 0), max(int(cols.min()) - reach, 0)
    r1, c1 = min(int(rows.max()) + reach + 1, shape[0]), min(int(cols.max()) + reach + 1, shape[1])
    box = (r1 - r0, c1 - c0)
    local_rows, local_cols = rows - r0, cols - c0
    # weight and the two displacement components, blurred in one call
    stack = np.zeros((3,) + box, np.float32)
    stack[0, local_rows[use], local_cols[use]] = 1.0
    stack[1:, local_rows[use], local_cols[use]] = disp[:n_grid][use].T
    blurred = ndimage.gaussian_filter(stack, (0.0, sigma, sigma), mode="constant", truncate=3.0)
    w = blurred[0]
    smooth = blurred[1:] / np.maximum(w, 1e-6)
    local_points = points - np.array([c0, r0])
    ref = np.concatenate([smooth[:, local_rows, local_cols].T, _Sampler(smooth)(local_points).T])
    near = np.concatenate([w[local_rows, local_cols], _Sampler(w[None])(local_points)[0]]) > 1e-3
    return ref, near


def track(
    images: np.ndarray,
    region: np.ndarray,
    points: np.ndarray,
    peaks: TagPeaks,
    options: HarpOptions,
) -> TrackOutput:
    """HARP-track the ED ``region`` pixels and the sub-pixel ``points`` through ``images``.

    Returns displacement ``[T, 2, H, W]`` (pixels; zero outside ``region``), point positions
    ``[T, N, 2]``, the HARP deformation gradient ``[T, 2, 2, H, W]`` (NaN outside ``region`` and
    where Newton did not converge) and diagnostics (fraction of restarted and of unconverged
    points, mean over frames).
    """
    n_t, h, w = images.shape
    kx, ky = frequencies((h, w))
    kernels = harmonic_kernels(
        np.stack([gaussian_bandpass((h, w), peaks.k[d], options.filter_width) for d in range(2)]),
        kx,
        ky,
    )
    period = float(min(peaks.periods_px))
    max_step = options.max_step_periods * period
    rows, cols = np.nonzero(region)
    n_grid = len(rows)
    ed = np.concatenate([np.stack([cols, rows], axis=-1).astype(np.float64), points], axis=0)
    sampler0 = _Sampler(harmonic_stack(images[0], kernels))
    target_phase, jac0 = _phase_and_jacobian(sampler0(ed))

    positions = np.empty((n_t,) + ed.shape)
    positions[0] = ed
    deformation = np.full((n_t, 2, 2, h, w), np.nan, np.float32)
    deformation[0][:, :, rows, cols] = np.eye(2, dtype=np.float32)[:, :, None]
    restarted, unconverged = [], []
    velocity = np.zeros_like(ed)
    for t in range(1, n_t):
        sampler = _Sampler(harmonic_stack(images[t], kernels))
        prev = positions[t - 1]
        x, residual, jac = _newton(sampler, prev + velocity, target_phase, options, max_step)
        disp = x - ed
        good = residual < options.tolerance_rad
        # the neighbours' displacement at every point, from converged points; a point a tag
        # period off (a jump, or a drift that started frames ago) is left out of a second pass
        ref, near = _neighbour_displacement(disp, good, rows, cols, points, (h, w), options)
        jump = np.hypot(*(disp - ref).T) > options.jump_periods * period
        ref, near = _neighbour_displacement(disp, good & ~jump, rows, cols, points, (h, w), options)
        jump = np.hypot(*(disp - ref).T) > options.jump_periods * period
        redo = near & (~good | jump)
        if redo.any():
            x2, r2, j2 = _newton(
                sampler, ed[redo] + ref[redo], target_phase[:, redo], options, max_step
            )
            # a jumped point may have converged too, to the wrong tag: it always takes the
            # restart; an unconverged one takes it when it converges or comes closer
            better = jump[redo] | (r2 < options.tolerance_rad) | (r2 < residual[redo])
            idx = np.flatnonzero(redo)[better]
            x[idx], residual[idx], jac[idx] = x2[better], r2[better], j2[better]
        # material that leaves the field of view cannot be followed: keep it on the border
        x[:, 0] = np.clip(x[:, 0], 0.0, w - 1.0)
        x[:, 1] = np.clip(x[:, 1], 0.0, h - 1.0)
        restarted.append(float(redo.mean()))
        unconverged.append(float(np.mean(residual >= options.tolerance_rad)))
        velocity = x - prev
        positions[t] = x
        # F = J_t^-1 J_0 at the region's pixels; where Newton did not converge the phase
        # gradients are those of a weak or corrupt harmonic, so F is unknown there (NaN)
        f = _solve(jac[:n_grid], jac0[:n_grid])
        f[residual[:n_grid] >= options.tolerance_rad] = np.nan
        deformation[t][:, :, rows, cols] = np.moveaxis(f, 0, -1)
    displacement = np.zeros((n_t, 2, h, w), np.float32)
    displacement[:, :, rows, cols] = np.moveaxis(positions[:, :n_grid] - ed[:n_grid], -1, 1)
    return TrackOutput(
        displacement=displacement,
        points=positions[:, n_grid:],
        diagnostics={
            "restarted_fraction": float(np.mean(restarted)),
            "unconverged_fraction": float(np.mean(unconverged)),
        },
        deformation=deformation,
    )

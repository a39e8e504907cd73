"""Per-point and per-slice quality control of a tracked tagged series: flag, repair, score.

Why: on a real UK Biobank slice SinMod drifted to 10 mm, with single points 79 mm off, and the
slice was logged "tracked". A tag tracker's failures have recognisable shapes, so every tracked
point (the ED region's pixels and the 168 landmarks) is checked at every frame, whatever the
tracker:

* **off the field** (``JUMP``): the point's displacement is more than ``max_jump_periods`` of a
  tag period from the robust smooth field of the whole slice (``smooth_field``). Neighbouring
  myocardium moves alike, while a point that jumped a tag, followed washed-out blood or static
  tissue is off by a large part of a period; the robust fit ignores a minority of such points;
* **out of the band** (``OUTSIDE``): where the record has the frame's myocardium mask, the point
  has left it by more than ``band_px``: tracked tissue does not leave the myocardium;
* **beyond physiology** (``STRETCH``): the local deformation from ED (a least-squares affine map
  of the point's nearest neighbours) has a principal stretch outside ``stretch_range``:
  myocardium does not halve or nearly double its length in plane (peak systolic Ecc about -0.2,
  Err about +0.4);
* **a faded frame** (``FADED`` and ``EXCLUDED``, every point of the frame): the tags no longer
  stand out of the myocardium's texture where the points are (``quality.tag_contrast`` below
  ``min_contrast``): whatever the tracker returns there follows noise, so it is no measurement;
* **an unreliable frame** (``EXCLUDED``, every point of the frame): more than
  ``max_frame_flagged`` of its points are flagged. A quarter of a wall off its smooth motion is
  a tracker that jumped tags over a whole region (SinMod in rapid filling, when steps exceed half
  a period), and the field fitted to the rest is no repair for it.

The output (``regularise``, the default): every point takes the smooth field's displacement,
the spatial regulariser of both trackers. The field is fitted to the unflagged points only
(the robust weights), so a flagged point is repaired from what its unflagged neighbours carry,
and every other point is averaged with them, which removes most of the tracker's noise and the
small errors near the mask's edge. Measured on the phantom (docs/tracking.md, Quality control
and regularisation): the mean, 95th percentile and maximum point error fall on every preset,
ideal included, because the field's own model error (under 0.1 px on the exact motion) is
below the trackers' noise. With ``regularise`` False unflagged points keep the tracker's own
value (the published tracker, for comparison) and only flagged ones are repaired. Where too few
of a flagged point's nearest neighbours are unflagged for its repair to be a measurement rather
than an extrapolation, it is also marked ``EXCLUDED`` (it keeps the field's value so the output
stays defined; consumers skip it).

Not used: smoothing the field over frames (a Savitzky-Golay filter of its coefficients, window
5, order 2) changed the phantom's ES errors by -0.03 to +0.03 px and made SinMod's wall
thickening error worse; the trackers' own coupling in time (HARP's restarts, SinMod's backward
path) stays.

The slice's scores: the fraction of points flagged over frames 1..T-1 and up to end-systole, the
tag contrast per frame (at ES and its minimum), the first faded and the first unreliable frame,
the smooth field's residual scale; and a verdict: it fails (``passed`` False, with the reason)
when the tags fade or a frame is unreliable at or before end-systole, more than
``max_flagged`` of its points up to end-systole were flagged, or the tracker's forward and
backward paths (SinMod's, where it followed both) end more than ``max_forward_backward`` of a
tag period apart (the median over the measured frames of each frame's median distance): on the
phantom's realistic presets a slice tracked right measures at most 0.12 of a period, one that
jumped tags in rapid filling 0.6-1.8. The tracking stage sends a failed slice to QC instead of
letting it become a reference.

Hand-written: no maintained library checks tag-tracking output; the neighbour search is SciPy's
cKDTree and the field fit ``smooth_field``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from myoflow.settings import bounded
from myoflow.tracking.smooth_field import RIDGE, PolarBasis, robust_fit

JUMP, OUTSIDE, STRETCH, FADED, EXCLUDED = 1, 2, 4, 8, 16
#: The bits that make a point unreliable (``FADED`` marks the frame, ``EXCLUDED`` the repair).
BAD = JUMP | OUTSIDE | STRETCH
#: Nearest neighbours of each point for the local stretch and the repair's support.
NEIGHBOURS = 12
#: A repair is a measurement when at least this many of the neighbours are unflagged.
MIN_SUPPORT = 4
#: Points the smooth field is fitted to, at most (an even subsample of the eligible ones).
FIT_POINTS = 1000


@dataclass(frozen=True)
class CheckOptions:
    """Thresholds of the checks (set on the phantom's presets; docs/tracking.md, Quality control)."""

    #: largest distance from the slice's smooth field, in tag periods
    max_jump_periods: float = bounded(0.3, exclusive_minimum=0)
    #: how far (px, 4-connected steps) a point may lie outside the frame's myocardium mask
    band_px: int = bounded(2, minimum=0)
    #: smallest and largest in-plane principal stretch from ED
    min_stretch: float = bounded(0.5, exclusive_minimum=0)
    max_stretch: float = bounded(2.0, exclusive_minimum=1)
    #: tag contrast (``quality.tag_contrast``; untagged myocardium about 1) below which a
    #: frame's tags are gone
    min_contrast: float = bounded(1.3, minimum=0)
    #: largest fraction of flagged points up to end-systole for the slice to pass
    max_flagged: float = bounded(0.1, minimum=0, maximum=1)
    #: fraction of a frame's points flagged above which the whole frame is no measurement
    max_frame_flagged: float = bounded(0.25, minimum=0, maximum=1)
    #: median distance between a tracker's forward and backward paths (SinMod's, where it
    #: followed both), in tag periods, above which the slice fails: the tracker could not tell
    #: which way through the cycle is right
    max_forward_backward: float = bounded(0.3, exclusive_minimum=0)
    #: every point takes the smooth field (True) or only the flagged ones (False)
    regularise: bool = True


@dataclass
class Checked:
    """Repaired positions ``[T, N, 2]`` (px), flags ``[T, N]`` (bits, see the module
    docstring), the smooth field (its basis and coefficients ``[T, K, 2]``), the slice's scores,
    and its verdict."""

    positions: np.ndarray
    flags: np.ndarray
    basis: PolarBasis
    coefficients: np.ndarray
    scores: dict[str, float] = field(default_factory=dict)
    passed: bool = True
    reason: str = ""

    def field_at(self, xy: np.ndarray) -> np.ndarray:
        """The slice's smooth displacement ``[T, N, 2]`` (px) at ED positions ``xy`` ``[N, 2]``
        (zero at ED): what the tracker's field is repaired with and extended by."""
        # one (k, t c) matrix of coefficients: the same sums, term by term, as the direct
        # "nk,tkc->tnc", which einsum runs an order of magnitude slower
        n_frames, n_terms, _ = self.coefficients.shape
        flat = np.moveaxis(self.coefficients, 0, 1).reshape(n_terms, -1)
        out = np.einsum("nk,km->nm", self.basis(xy), flat).reshape(len(xy), n_frames, -1)
        return np.ascontiguousarray(np.moveaxis(out, 1, 0))


class _Stretches:
    """Principal stretches of each point's neighbourhood from ED, frame after frame.

    The least-squares affine map of the neighbours' offsets, ``F = C G^-1`` with ``G`` the ED
    offsets' Gram matrix (the same every frame, so inverted once) and ``C`` the current offsets
    against the ED ones; the stretches are the square roots of the eigenvalues of ``F^T F``,
    in closed form for 2 x 2 matrices (no per-point SVD: the trackers' frame rate needs it).
    """

    def __init__(self, ref: np.ndarray, nbr: np.ndarray) -> None:
        self.nbr = nbr
        d_ref = ref[nbr] - ref[:, None, :]  # [N, K, 2]
        # x and y offsets apart, each contiguous: the per-frame sums run a third faster
        self.a, self.b = np.ascontiguousarray(d_ref[..., 0]), np.ascontiguousarray(d_ref[..., 1])
        a, b = self.a, self.b
        gram = np.stack([(a * a).sum(1), (a * b).sum(1), (b * b).sum(1)])  # xx, xy, yy
        det = gram[0] * gram[2] - gram[1] ** 2 + 1e-9
        self.inv = np.stack([gram[2], -gram[1], gram[0]]) / det  # of the symmetric G

    def __call__(self, pos: np.ndarray) -> np.ndarray:
        """``[N, 2]`` (smaller, larger) stretches of the positions ``pos`` ``[N, 2]``."""
        x, y = pos[:, 0], pos[:, 1]
        u, v = x[self.nbr] - x[:, None], y[self.nbr] - y[:, None]
        a, b = self.a, self.b
        c = [(u * a).sum(1), (u * b).sum(1), (v * a).sum(1), (v * b).sum(1)]  # C row-major
        i_xx, i_xy, i_yy = self.inv
        f = [
            c[0] * i_xx + c[1] * i_xy,
            c[0] * i_xy + c[1] * i_yy,
            c[2] * i_xx + c[3] * i_xy,
            c[2] * i_xy + c[3] * i_yy,
        ]
        m_xx, m_xy = f[0] ** 2 + f[2] ** 2, f[0] * f[1] + f[2] * f[3]  # F^T F
        m_yy = f[1] ** 2 + f[3] ** 2
        half_trace = 0.5 * (m_xx + m_yy)
        gap = np.sqrt(np.maximum(half_trace**2 - (m_xx * m_yy - m_xy**2), 0.0))
        low, high = np.maximum(half_trace - gap, 0.0), half_trace + gap
        return np.sqrt(np.stack([low, high], axis=1))


def _near(masks: np.ndarray, band_px: float) -> np.ndarray:
    """Each frame's mask ``[T, H, W]`` grown by ``band_px`` (4-connected steps), all frames in
    one call: a structure without links between frames dilates each on its own."""
    cross = ndimage.generate_binary_structure(2, 1)
    structure = np.stack([np.zeros_like(cross), cross, np.zeros_like(cross)])
    return ndimage.binary_dilation(
        masks.astype(bool), structure=structure, iterations=int(np.floor(band_px))
    )


def _outside(pos: np.ndarray, near: np.ndarray) -> np.ndarray:
    """Points ``[N, 2]`` (x, y) off ``near`` ``[H, W]`` (a frame's mask grown by the band)."""
    h, w = near.shape
    col = np.clip(np.rint(pos[:, 0]).astype(int), 0, w - 1)
    row = np.clip(np.rint(pos[:, 1]).astype(int), 0, h - 1)
    off_image = (pos[:, 0] < -0.5) | (pos[:, 0] > w - 0.5) | (pos[:, 1] < -0.5)
    off_image |= pos[:, 1] > h - 0.5
    return ~near[row, col] | off_image | ~np.all(np.isfinite(pos), axis=1)


def check_points(
    ref: np.ndarray,
    positions: np.ndarray,
    period_px: float,
    contrast: np.ndarray,
    es_frame: int,
    masks: np.ndarray | None = None,
    options: CheckOptions | None = None,
    fit_to: np.ndarray | None = None,
    forward_backward_px: np.ndarray | None = None,
) -> Checked:
    """Check, repair and score tracked points.

    ``ref`` ``[N, 2]`` ED positions (x, y) px; ``positions`` ``[T, N, 2]``; ``period_px`` the tag
    period; ``contrast`` ``[T]`` (``quality.tag_contrast``); ``masks`` ``[T, H, W]`` the
    record's myocardium masks (a frame without one, all zero, is not band-checked) or None;
    ``fit_to`` ``[N]`` bool the points the smooth field is fitted to (default all; the others,
    e.g. landmarks on the mask's edge, are checked against it and take its value);
    ``forward_backward_px`` ``[T]`` the tracker's forward-backward disagreement per frame (NaN
    or None: not measured); its score is the median over the frames that are measurements
    (neither faded nor unreliable), and NaN when the last frame, where a backward path starts,
    is none.
    """
    opts = options or CheckOptions()
    ref = np.asarray(ref, dtype=float)
    n_frames, n_points, _ = positions.shape
    _, nbr = cKDTree(ref).query(ref, k=min(NEIGHBOURS, n_points - 1) + 1)
    nbr = nbr[:, 1:]
    stretches = _Stretches(ref, nbr)
    basis = PolarBasis.around(ref)
    design = basis(ref)
    penalty = RIDGE * basis.roughness()
    coefficients = np.zeros((n_frames, design.shape[1], 2))
    out = np.asarray(positions, dtype=float).copy()
    flags = np.zeros((n_frames, n_points), np.uint8)
    tolerance = opts.max_jump_periods * period_px
    # the field is fitted to at most FIT_POINTS of the points (every k-th): 33 terms need far
    # fewer than the thousand-odd pixels of a wall, and the fit is the checks' main cost
    fitted = np.flatnonzero(np.ones(n_points, bool) if fit_to is None else fit_to)
    fitted = fitted[:: max(1, len(fitted) // FIT_POINTS)]
    scales = []
    near = None if masks is None else _near(masks, opts.band_px)
    for t in range(1, n_frames):
        u = out[t] - ref
        fit = robust_fit(design[fitted], u[fitted], penalty=penalty)
        coefficients[t] = fit.coefficients
        smooth = fit.at(design)
        scales.append(fit.scale)
        residual = np.hypot(*(u - smooth).T)
        flags[t] |= np.where(~(residual <= tolerance), JUMP, 0).astype(np.uint8)
        if masks is not None and masks[t].any():
            flags[t] |= np.where(_outside(out[t], near[t]), OUTSIDE, 0).astype(np.uint8)
        stretch = stretches(ref + np.where(flags[t, :, None] > 0, smooth, u))
        wild = (stretch.min(axis=1) < opts.min_stretch) | (stretch.max(axis=1) > opts.max_stretch)
        flags[t] |= np.where(wild, STRETCH, 0).astype(np.uint8)
        if contrast[t] < opts.min_contrast:
            flags[t] |= FADED | EXCLUDED  # no tags, no measurement: whatever the value says
        bad = (flags[t] & BAD) > 0
        replaced = np.ones_like(bad) if opts.regularise else bad
        out[t, replaced] = ref[replaced] + smooth[replaced]
        support = (~bad[nbr]).sum(axis=1)
        flags[t, bad & (support < MIN_SUPPORT)] |= EXCLUDED
    # a frame with too many flagged points is no measurement at all (module docstring)
    unreliable = ((flags & BAD) > 0).mean(axis=1) > opts.max_frame_flagged
    flags[unreliable] |= EXCLUDED
    checked = Checked(out, flags, basis, coefficients)
    measured_frames = (np.asarray(contrast) >= opts.min_contrast) & ~unreliable
    fb = _forward_backward(forward_backward_px, measured_frames)
    scores = {
        "field_scale_px": float(np.median(scales)) if scales else 0.0,
        "forward_backward_px": fb,
        "forward_backward_periods": fb / period_px,
    }
    _judge(checked, contrast, es_frame, scores, np.flatnonzero(unreliable), opts)
    return checked


def _forward_backward(per_frame: np.ndarray | None, measured: np.ndarray) -> float:
    """The median of a tracker's per-frame forward-backward distance (px) over the frames after
    ED that are measurements (``measured`` ``[T]``); NaN where it measured none, or where the
    last frame, where a backward path starts, is no measurement itself."""
    if per_frame is None or not measured[-1]:
        return np.nan
    apart = np.asarray(per_frame, dtype=float)[1:][measured[1:]]
    return float(np.nanmedian(apart)) if np.isfinite(apart).any() else np.nan


def _judge(
    checked: Checked,
    contrast: np.ndarray,
    es_frame: int,
    measured: dict[str, float],
    unreliable: np.ndarray,
    opts: CheckOptions,
) -> None:
    """The slice's scores and verdict (see the module docstring), set on ``checked``; its
    flags are read, never changed. ``measured``: the scores measured while checking (the
    field's residual scale, the forward-backward disagreement); ``unreliable``: the indices of
    the unreliable frames."""
    flags = checked.flags
    bad = (flags & BAD) > 0
    first_unreliable = int(unreliable[0]) if len(unreliable) else -1
    to_es = bad[1 : max(es_frame, 1) + 1]
    faded = np.flatnonzero(np.asarray(contrast) < opts.min_contrast)
    faded = faded[faded > 0]
    first_faded = int(faded[0]) if len(faded) else -1
    flagged_es = float(to_es.mean()) if to_es.size else 0.0
    scores = {
        "flagged_fraction": float(bad[1:].mean()) if len(bad) > 1 else 0.0,
        "flagged_fraction_es": flagged_es,
        "excluded_fraction": float(((flags[1:] & EXCLUDED) > 0).mean()) if len(flags) > 1 else 0.0,
        "contrast_es": float(contrast[es_frame]),
        "contrast_min": float(np.min(contrast[1:])) if len(contrast) > 1 else np.nan,
        "first_faded_frame": float(first_faded),
        "first_unreliable_frame": float(first_unreliable),
        **measured,
    }
    reasons = []
    if 0 < first_faded <= es_frame:
        reasons.append(
            f"tags faded at frame {first_faded}, at or before end-systole (frame {es_frame}): "
            f"tag contrast {contrast[first_faded]:.2f}, below {opts.min_contrast:g} (untagged "
            "myocardium measures about 1)"
        )
    if 0 < first_unreliable <= es_frame:
        reasons.append(
            f"frame {first_unreliable}, at or before end-systole (frame {es_frame}), is "
            f"unreliable: {bad[first_unreliable].mean():.0%} of its points were flagged, above "
            f"{opts.max_frame_flagged:.0%}"
        )
    if flagged_es > opts.max_flagged:
        reasons.append(
            f"{flagged_es:.0%} of the tracked points up to end-systole were flagged (off the "
            f"slice's smooth motion, out of the myocardium or unphysiological strain), above "
            f"{opts.max_flagged:.0%}"
        )
    if scores["forward_backward_periods"] > opts.max_forward_backward:
        reasons.append(
            f"the tracker's forward and backward paths through the cycle end "
            f"{scores['forward_backward_px']:.1f} px apart (median), "
            f"{scores['forward_backward_periods']:.2f} of a tag period, above "
            f"{opts.max_forward_backward:g}: it could not tell which is right"
        )
    scores["quality"] = 0.0 if reasons else float(1.0 - flagged_es / max(opts.max_flagged, 1e-9))
    checked.scores, checked.passed, checked.reason = scores, not reasons, "; ".join(reasons)

"""How realistic a pseudo-tagged image is (paper 001, beyond the paper).

Paper 001 pretrains on cine made to look tagged (a physics transform or a CycleGAN) and judges
the result by eye. On the physics phantom the same heart and frame also has a true tagged image,
so realism can be measured: a pseudo-tagged image is realistic when its tags have the true
image's spacing, angle and modulation depth inside the heart, and when its local structure
(SSIM) in the heart matches. Both are measured on the heart and its surroundings only: the
background of a cine (air, chest wall) says nothing about what the segmentation networks learn.

What can break these measures on real scans: tags fade with T1 through the cycle (modulation
falls, and at end-diastole the strongest spectral peak may be anatomy); through-plane motion and
flow wash the tags out of the blood pool; tags deform with the myocardium, which spreads their
peak (a mean spacing is measured); at high flip angles the grid's diagonal harmonic can outgrow
the fundamental (the paper's 70-degree 1-3-3-1 grid keeps the fundamental strongest), which
reads as a spacing divided by sqrt(2) at 45 degrees; and scanners differ in gain and offset,
which ``ssim_in`` removes by normalising each image by its own percentiles. SSIM compares pixel
by pixel, so tags at the right spacing but another phase (the grid's position is arbitrary in
a pseudo-tagged image) or slightly another spacing lower it as much as unrealistic tags; the
spectral measures are blind to phase and complement it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_dilation
from scipy.signal.windows import hann
from skimage.metrics import structural_similarity

from myoflow.tables import TAGSEG_REALISM_SCORES

#: Columns of ``realism_row``, in order (the scores of ``myoflow.tables.TAGSEG_REALISM``).
REALISM_COLUMNS = tuple(TAGSEG_REALISM_SCORES)
#: Frequencies within this many FFT bins of DC are ignored (periods of a quarter of the analysed
#: box or longer): that is where the heart itself puts its power (a blood pool about half the
#: box wide), and on the phantom's systolic frames a 2-bin limit (half the box) let that anatomy
#: outgrow the deformed, fading tags. A heart box holds 10 or more tag periods, so tags stay in.
MIN_RADIUS_BINS = 4.0
#: The bounding box of a region is grown by this many pixels on each side (about one tag period
#: at the paper's 5-pixel spacing), so that the region's edge is not at the Hann window's zeros.
REGION_MARGIN_PX = 6
#: The myocardium mask is dilated by this many pixels: the blood pool and a rim around the wall
#: carry tags too, and the SSIM window (7 x 7) needs context at the wall's edge.
HEART_DILATION_PX = 3


@dataclass(frozen=True)
class TagSpectrum:
    """The dominant tag harmonic of an image."""

    #: Tag period in mm.
    spacing_mm: float
    #: Direction of the tag wave vector from the x axis (columns) towards y (rows), folded into
    #: [0, 90): a tag grid is symmetric under quarter turns.
    angle_deg: float
    #: Amplitude of the harmonic relative to the mean intensity (a / m for ``m + a cos``).
    modulation: float


def _log_parabola_offset(minus: float, centre: float, plus: float) -> float:
    """Sub-bin offset of a peak from a parabola through three log magnitudes."""
    den = minus - 2.0 * centre + plus
    return 0.0 if den >= 0 else float(np.clip(0.5 * (minus - plus) / den, -0.5, 0.5))


def tag_spectrum(
    image: np.ndarray, spacing_mm: tuple[float, float], region: np.ndarray | None = None
) -> TagSpectrum:
    """Spacing, angle and modulation of the strongest non-DC spectral peak of ``image`` [H, W].

    ``spacing_mm`` is (row, column). With ``region`` (boolean [H, W]) only its bounding box,
    grown by ``REGION_MARGIN_PX``, is analysed, so that the tags of the heart are measured and
    not those of the whole field of view. The box is Hann-windowed; the peak is searched in the
    spectrum of the windowed, mean-removed box beyond ``MIN_RADIUS_BINS`` of DC and refined by a
    parabola through the log magnitude along each axis. The modulation is ``2 |F(k)| / |F(0)|``
    of the windowed box (mean kept), with ``F(k)`` evaluated at the refined frequency, so that
    a peak between bins loses no amplitude. Raises ValueError for a constant image (or box), an
    empty region, or a box too small to hold a frequency beyond the DC radius.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {img.shape}")
    if region is not None:
        mask = np.asarray(region, dtype=bool)
        if mask.shape != img.shape:
            raise ValueError(f"region shape {mask.shape} differs from image shape {img.shape}")
        if not mask.any():
            raise ValueError("the region is empty: there are no tags to measure")
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        m = REGION_MARGIN_PX
        img = img[
            max(rows[0] - m, 0) : rows[-1] + m + 1,
            max(cols[0] - m, 0) : cols[-1] + m + 1,
        ]
    if np.ptp(img) == 0:
        raise ValueError("the image is constant (inside the analysed box): it has no tags")
    h, w = img.shape
    window = np.outer(hann(h), hann(w))
    dc = float(np.sum(window * img))
    if dc <= 0:
        raise ValueError("the image's mean intensity must be positive (a magnitude image)")
    # weighted mean removal: the windowed box then has no DC at all
    logmag = np.log(np.abs(np.fft.fft2(window * (img - dc / window.sum()))) + np.finfo(float).tiny)
    v, u = np.meshgrid(np.fft.fftfreq(h) * h, np.fft.fftfreq(w) * w, indexing="ij")
    allowed = np.hypot(u, v) > MIN_RADIUS_BINS
    if not allowed.any():
        raise ValueError(f"a {h}x{w} box is too small to hold a tag frequency")
    r, c = np.unravel_index(np.argmax(np.where(allowed, logmag, -np.inf)), logmag.shape)
    d_row = _log_parabola_offset(logmag[r - 1, c], logmag[r, c], logmag[(r + 1) % h, c])
    d_col = _log_parabola_offset(logmag[r, c - 1], logmag[r, c], logmag[r, (c + 1) % w])
    ky, kx = (v[r, c] + d_row) / h, (u[r, c] + d_col) / w  # cycles per pixel
    harmonic = np.exp(-2j * np.pi * ky * np.arange(h)) @ (window * img)
    harmonic = harmonic @ np.exp(-2j * np.pi * kx * np.arange(w))
    fy, fx = ky / spacing_mm[0], kx / spacing_mm[1]  # cycles per mm
    # the second modulo maps an angle that rounds to 90.0 (from a tiny negative one) to 0
    angle = math.degrees(math.atan2(fy, fx)) % 90.0 % 90.0
    return TagSpectrum(
        spacing_mm=float(1.0 / math.hypot(fx, fy)),
        angle_deg=angle,
        modulation=float(2.0 * abs(harmonic) / dc),
    )


def _unit_range(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``image`` mapped to [0, 1] by its 1st and 99th percentiles inside ``region``, clipped."""
    lo, hi = np.percentile(image[region], [1.0, 99.0])
    if hi <= lo:
        raise ValueError("the image is constant inside the region: SSIM is undefined")
    return np.clip((image - lo) / (hi - lo), 0.0, 1.0)


def ssim_in(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    """Mean SSIM of two images [H, W] over the pixels of ``region`` (boolean [H, W]).

    Each image is first mapped to [0, 1] by its own 1st/99th percentiles inside the region:
    a physics transform, a CycleGAN and a scanner each have their own gain and offset, which
    say nothing about realism, and SSIM's luminance and contrast terms would otherwise count
    them. Percentiles, not the extremes, so that a few bright pixels (flow, fat) do not set the
    scale. SSIM is scikit-image's (7 x 7 uniform window, ``data_range`` 1), so pixels up to 3
    pixels outside the region enter the SSIM of the region's edge pixels.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    mask = np.asarray(region, dtype=bool)
    if a.shape != b.shape or mask.shape != a.shape:
        raise ValueError(f"shapes differ: a {a.shape}, b {b.shape}, region {mask.shape}")
    if not mask.any():
        raise ValueError("the region is empty: SSIM has no pixels to average")
    _, ssim_map = structural_similarity(
        _unit_range(a, mask), _unit_range(b, mask), data_range=1.0, full=True
    )
    return float(ssim_map[mask].mean())


def realism_row(
    pseudo: np.ndarray, real: np.ndarray, heart: np.ndarray, spacing_mm: tuple[float, float]
) -> dict[str, float]:
    """One row of ``REALISM_COLUMNS`` comparing a pseudo-tagged image with the true tagged one.

    ``heart`` is the boolean myocardium mask [H, W]; it is dilated by ``HEART_DILATION_PX``
    pixels, and both the SSIM and the tag spectra are taken in that region. ``spacing_mm`` is
    the (row, column) pixel spacing of both images.
    """
    region = binary_dilation(np.asarray(heart, dtype=bool), iterations=HEART_DILATION_PX)
    fake = tag_spectrum(pseudo, spacing_mm, region)
    true = tag_spectrum(real, spacing_mm, region)
    values = (
        ssim_in(pseudo, real, region),
        fake.spacing_mm,
        true.spacing_mm,
        fake.angle_deg,
        true.angle_deg,
        fake.modulation,
        true.modulation,
    )
    return dict(zip(REALISM_COLUMNS, values))

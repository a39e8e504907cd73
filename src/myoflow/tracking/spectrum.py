"""The tag spectrum: finding the SPAMM peaks and isolating one of them.

Why find the peaks in the data: the tag spacing and angle of a real acquisition are rarely stored
where a pipeline can read them, and resampling (the ROI crop) changes the spacing in pixels. A
SPAMM grid puts sharp, isolated peaks in the 2D spectrum at the tag wave vectors; anatomy and noise
do not. So the first frame's spectrum is searched for two strong, non-collinear peaks, and a series
without them (an untagged cine given as tagged) is refused with a clear error instead of producing
displacements from noise.

Prominence. Anatomy is roughly isotropic (rings, blobs), so its power at a spatial frequency is
about the same in every direction. A peak's prominence is its power over the median power of the
ring of the same radius |k|: tags give hundreds to thousands, anatomy and noise a few.

All frequencies here are in cycles per pixel, as ``(kx, ky)`` (x along columns, y along rows), so a
peak at ``k`` describes tags of period ``1 / |k|`` pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft, ndimage

#: Tags with a period outside this range (pixels) are not searched for: below 2.5 pixels they alias;
#: above 20 pixels they merge with the anatomy's own low-frequency content.
PERIOD_RANGE_PX = (2.5, 20.0)
#: Default threshold on the prominence of both peaks (the phantom's tags at SNR 5 exceed 7000 at ED
#: and 400 at the end of the cycle; untagged cine stays below 25; tests/unit/tracking/test_spectrum.py).
MIN_PROMINENCE = 50.0
#: The second peak must make an angle of at least this many degrees with the first, which also
#: excludes the grid's diagonal cross-terms (k1 + k2 at 45 degrees from both).
MIN_ANGLE_DEG = 60.0
#: A strong peak has at least this fraction of the strongest peak's power.
RELATIVE_STRENGTH = 0.1


class NoTagPeaksError(ValueError):
    """The series has no detectable SPAMM tag peaks (e.g. an untagged cine given as tagged)."""


@dataclass(frozen=True)
class TagPeaks:
    """The two tag wave vectors of a series (cycles/pixel) and how clearly each stands out."""

    k: np.ndarray  # [2, 2]: row d = (kx, ky) of tag direction d
    prominence: tuple[float, float]

    @property
    def periods_px(self) -> tuple[float, float]:
        """Tag period (spacing) of each direction in pixels."""
        n = np.hypot(self.k[:, 0], self.k[:, 1])
        return float(1.0 / n[0]), float(1.0 / n[1])

    @property
    def angles_deg(self) -> tuple[float, float]:
        a = np.degrees(np.arctan2(self.k[:, 1], self.k[:, 0]))
        return float(a[0]), float(a[1])


def frequencies(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(kx, ky)`` grids in cycles/pixel matching ``fft2`` of an ``[H, W]`` image."""
    ky, kx = np.meshgrid(fft.fftfreq(shape[0]), fft.fftfreq(shape[1]), indexing="ij")
    return kx, ky


def _prominence_map(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Power / ring-median power of a Hann-windowed frame, the power, and the frequency grids."""
    h, w = frame.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    img = np.asarray(frame, dtype=np.float64)
    img = (img - img.mean()) * window
    power = np.abs(fft.fft2(img)) ** 2
    kx, ky = frequencies((h, w))
    radius = np.hypot(kx, ky)
    # rings one frequency bin wide (in units of the coarser axis' bin)
    ring = np.rint(radius * max(h, w)).astype(int)
    counts = np.bincount(ring.ravel())
    order = np.argsort(ring.ravel(), kind="stable")
    sorted_power = power.ravel()[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    medians = np.array(
        [np.median(sorted_power[s : s + c]) if c else np.inf for s, c in zip(starts, counts)]
    )
    return power / np.maximum(medians[ring], np.finfo(float).tiny), power, kx, ky


def _refine(power_map: np.ndarray, row: int, col: int) -> tuple[float, float]:
    """Sub-bin peak position (row, col offsets) by a parabola through the log of each axis."""
    h, w = power_map.shape
    logp = np.log(np.maximum(power_map, np.finfo(float).tiny))

    def offset(m1: float, c0: float, p1: float) -> float:
        den = m1 - 2.0 * c0 + p1
        return 0.0 if den >= 0 else float(np.clip(0.5 * (m1 - p1) / den, -0.5, 0.5))

    dr = offset(logp[(row - 1) % h, col], logp[row, col], logp[(row + 1) % h, col])
    dc = offset(logp[row, (col - 1) % w], logp[row, col], logp[row, (col + 1) % w])
    return dr, dc


def find_tag_peaks(
    frame: np.ndarray,
    min_prominence: float = MIN_PROMINENCE,
    period_range_px: tuple[float, float] = PERIOD_RANGE_PX,
) -> TagPeaks:
    """The two fundamental tag peaks of one (tagged) frame ``[H, W]``.

    A SPAMM grid has strong peaks at k1, k2 and at their combinations (the diagonal k1 + k2 can
    even be the strongest for sharp 1-3-3-1 tags), so the fundamentals are chosen by frequency,
    not by strength: among the strong local maxima (prominence at least ``min_prominence`` and
    power at least a tenth of the strongest's, which excludes the window's side lobes), k1 is the lowest frequency and k2 the lowest that makes at least
    ``MIN_ANGLE_DEG`` with k1. Raises NoTagPeaksError, saying what was found, when there is no
    such pair.
    """
    prom, power, kx, ky = _prominence_map(frame)
    radius = np.hypot(kx, ky)
    lo, hi = 1.0 / period_range_px[1], 1.0 / period_range_px[0]
    # one half-plane: a real image's spectrum is symmetric, k and -k are the same peak
    half = (ky > 0) | ((ky == 0) & (kx > 0))
    allowed = half & (radius >= lo) & (radius <= hi)
    if not allowed.any():
        raise NoTagPeaksError(f"a {frame.shape[0]}x{frame.shape[1]} frame is too small for tags")
    local_max = ndimage.maximum_filter(power, size=3, mode="wrap") == power
    candidates = np.flatnonzero((allowed & local_max).ravel())
    values = prom.ravel()[candidates]
    powers = power.ravel()[candidates]
    best = float(powers.max()) if len(powers) else 0.0
    strong = candidates[(values >= min_prominence) & (powers >= RELATIVE_STRENGTH * best)]
    pair = _fundamentals(strong, kx.ravel(), ky.ravel(), prom.ravel())
    if pair is None:
        top = np.sort(values)[::-1][:2]
        raise NoTagPeaksError(
            "no tag peaks found: the strongest spectral peaks stand "
            + " and ".join(f"{v:.1f}x" for v in top)
            + f" above the median power at their frequency (tags need two non-collinear peaks "
            f">= {min_prominence:g}x); is this series really tagged?"
        )
    h, w = prom.shape
    k = np.empty((2, 2))
    for d, flat in enumerate(pair):
        r, c = divmod(int(flat), w)
        dr, dc = _refine(power, r, c)
        k[d] = (kx[r, c] + dc / w, ky[r, c] + dr / h)
    return TagPeaks(k=k, prominence=(float(prom.ravel()[pair[0]]), float(prom.ravel()[pair[1]])))


def _fundamentals(
    strong: np.ndarray, kx: np.ndarray, ky: np.ndarray, prom: np.ndarray
) -> tuple[int, int] | None:
    """Flat indices of the lowest-frequency strong peak and of the lowest one non-collinear with
    it; among peaks within 5 % of the lowest frequency, the more prominent wins."""

    def lowest(indices: np.ndarray) -> int | None:
        if len(indices) == 0:
            return None
        r = np.hypot(kx[indices], ky[indices])
        near = indices[r <= 1.05 * r.min()]
        return int(near[np.argmax(prom[near])])

    first = lowest(strong)
    if first is None:
        return None
    cos = np.abs(kx[strong] * kx[first] + ky[strong] * ky[first]) / (
        np.hypot(kx[strong], ky[strong]) * np.hypot(kx[first], ky[first])
    )
    second = lowest(strong[cos < np.cos(np.radians(MIN_ANGLE_DEG))])
    return None if second is None else (first, second)


def gaussian_bandpass(shape: tuple[int, int], k: np.ndarray, width: float) -> np.ndarray:
    """A one-sided Gaussian band-pass ``[H, W]`` centred on wave vector ``k`` (cycles/pixel).

    ``width`` is the standard deviation as a fraction of ``|k|``: it keeps the tag harmonic and
    its modulation by motion, and rejects the DC peak (exactly: it is notched), the mirror peak -k
    and the other direction.
    """
    kx, ky = frequencies(shape)
    sigma = width * float(np.hypot(*k))
    band = np.exp(-((kx - k[0]) ** 2 + (ky - k[1]) ** 2) / (2.0 * sigma * sigma))
    # a notch of the same width at DC: as tags fade, the untagged signal (DC) grows while the
    # harmonic shrinks, and the Gaussian's tail at DC would otherwise bias the harmonic phase
    return band * (1.0 - np.exp(-(kx * kx + ky * ky) / (2.0 * sigma * sigma)))

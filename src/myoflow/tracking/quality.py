"""Measures of how much a tagged series still carries: the tag harmonic's amplitude per frame.

Why measure it on the images: tags fade (T1 recovery, the readout pulses of a segmented
acquisition), and a tracker fed a frame whose tags are gone follows noise. The amplitude of the
tag harmonics inside the myocardium, relative to end-diastole, is what a tracker has left to
work with; the phantom's realism preset is checked against the published fading curve with it,
and the trackers' quality control reads it per frame.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from myoflow.tracking.spectrum import TagPeaks, find_tag_peaks, gaussian_bandpass

#: Band-pass width (fraction of |k|) of the amplitude measure: HARP's default, wide enough to keep
#: the harmonic of deforming tags, narrow enough to reject DC and the other direction.
AMPLITUDE_BANDWIDTH = 0.35


def harmonic_amplitude(
    series: np.ndarray, region: np.ndarray, peaks: TagPeaks | None = None
) -> np.ndarray:
    """``[T]`` mean magnitude of the two tag harmonics inside ``region`` of each frame.

    ``region`` is ``[H, W]`` (the same pixels every frame) or ``[T, H, W]`` (e.g. each frame's
    myocardium). The peaks are found on the first frame unless given.
    """
    images = np.asarray(series, dtype=np.float32)
    where = np.broadcast_to(np.asarray(region, bool), images.shape)
    tag_peaks = peaks or find_tag_peaks(images[0])
    filters = np.stack(
        [gaussian_bandpass(images.shape[1:], k, AMPLITUDE_BANDWIDTH) for k in tag_peaks.k]
    )
    spectra = fft.fft2(images)
    out = np.empty(images.shape[0])
    for t in range(images.shape[0]):
        bands = np.abs(fft.ifft2(spectra[t][None] * filters))
        out[t] = float(bands.sum(axis=0)[where[t]].mean())
    return out


def modulation_curve(
    series: np.ndarray, region: np.ndarray, peaks: TagPeaks | None = None
) -> np.ndarray:
    """``[T]`` harmonic amplitude relative to the first frame (1 at end-diastole)."""
    amplitude = harmonic_amplitude(series, region, peaks)
    return amplitude / amplitude[0]


def _bisectors(k: np.ndarray) -> list[np.ndarray]:
    """Control wave vectors: the two bisectors of the tag directions at the tags' frequency,
    where a SPAMM grid puts no harmonic (its harmonics lie at k1, k2, k1 +- k2 and multiples)."""
    k1, k2 = np.asarray(k[0], float), np.asarray(k[1], float)
    n1, n2 = k1 / np.hypot(*k1), k2 / np.hypot(*k2)
    out = []
    for direction, size in ((n1 + n2, np.hypot(*k1)), (n1 - n2, np.hypot(*k2))):
        out.append(direction / np.hypot(*direction) * size)
    return out


def tag_contrast(series: np.ndarray, peaks: TagPeaks, positions: np.ndarray) -> np.ndarray:
    """``[T]`` how far the tags stand out where the tracked points are, frame by frame.

    The median harmonic amplitude at the points' positions ``positions`` ``[T, N, 2]`` (x, y px)
    in the band of each tag direction, over the same in a control band of equal frequency
    along the bisector of the tag directions (no tag harmonic there), the weaker tag direction
    against the stronger control. Myocardial texture, edges and noise put about as much
    amplitude in either band, so untagged myocardium measures about 1 (0.8-1.06 on the
    phantom's presets, tagged ES 1.8-2.9, ED about 5; tests/unit/tracking/test_quality.py),
    while the image-wide spectral peak cannot tell faded tags from none once the heart has
    deformed (the realistic human preset's ES frame measures the same as an untagged one).
    Measured at the tracked positions, so a tracker that has left the tags scores low too.
    """
    images = np.asarray(series, dtype=np.float32)
    n_frames, h, w = images.shape
    wave_vectors = [*np.asarray(peaks.k, float), *_bisectors(np.asarray(peaks.k, float))]
    filters = np.stack(
        [gaussian_bandpass((h, w), k, AMPLITUDE_BANDWIDTH) for k in wave_vectors]
    ).astype(np.float32)  # single precision keeps the FFTs in complex64: half the cost
    spectra = fft.fft2(images)
    out = np.empty(n_frames)
    for t in range(n_frames):
        pos = np.asarray(positions[t], float)
        finite = np.all(np.isfinite(pos), axis=1)
        cols = np.clip(np.rint(pos[finite, 0]).astype(int), 0, w - 1)
        rows = np.clip(np.rint(pos[finite, 1]).astype(int), 0, h - 1)
        bands = fft.ifft2(spectra[t][None] * filters).reshape(len(filters), -1)
        bands = np.abs(np.take(bands, rows * w + cols, axis=1))  # only where the points are
        medians = np.median(bands, axis=1) if len(rows) else np.zeros(4)
        out[t] = float(min(medians[:2]) / max(max(medians[2:]), np.finfo(float).tiny))
    return out

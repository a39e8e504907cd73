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

"""Tag-peak detection: the fundamentals of a SPAMM grid, and a clear refusal of untagged images."""

from __future__ import annotations

import numpy as np
import pytest
from support.tagged import affine_series, translation

from myoflow.phantom.cohort import generate, plan
from myoflow.tracking.spectrum import NoTagPeaksError, find_tag_peaks, gaussian_bandpass


@pytest.mark.parametrize("pattern", ["1-1", "1-3-3-1"])
@pytest.mark.parametrize("period", [3.0, 4.5, 6.0, 8.0])
@pytest.mark.parametrize("angle", [0.0, 20.0])
def test_fundamentals_found_not_the_diagonal(pattern: str, period: float, angle: float) -> None:
    # 1-3-3-1 grids put as much power at k1 + k2 as at k1: the lowest frequencies must win
    images = affine_series(
        translation((0.0, 0.0), 2), size=96, period_px=period, pattern=pattern, angle_deg=angle
    ).images
    peaks = find_tag_peaks(images[0])
    assert peaks.periods_px == pytest.approx((period, period), rel=0.01)
    # directions are axes (k and -k are one peak): compare angles modulo 180 degrees
    for expected in (angle, angle + 90.0):
        gaps = [abs((a - expected + 90.0) % 180.0 - 90.0) for a in peaks.angles_deg]
        assert min(gaps) < 1.0


@pytest.fixture(scope="module")
def phantom_slice():
    return generate(plan("c", {"species": "rat", "subjects": 1, "snr": 5, "seed": 2})[1])


def test_phantom_tags_at_the_configured_spacing(phantom_slice) -> None:
    rec = phantom_slice
    expected = rec.covariates["tag_spacing_mm"] / rec.pixel_spacing_mm[0]
    for frame in (0, rec.n_frames - 1):  # fresh and faded tags
        peaks = find_tag_peaks(rec.tagged[frame])
        assert peaks.periods_px == pytest.approx((expected, expected), rel=0.02)


def test_untagged_cine_is_refused(phantom_slice) -> None:
    with pytest.raises(NoTagPeaksError, match="no tag peaks found"):
        find_tag_peaks(phantom_slice.cine[0])


def test_noise_alone_is_refused() -> None:
    noise = np.random.default_rng(0).standard_normal((128, 128))
    with pytest.raises(NoTagPeaksError, match="really tagged"):
        find_tag_peaks(noise)


def test_one_direction_only_is_refused() -> None:
    x = np.arange(96)[None, :] * np.ones((96, 1))
    lines = 1.0 + np.cos(2 * np.pi * x / 5.0) + 0.05 * np.random.default_rng(1).random((96, 96))
    with pytest.raises(NoTagPeaksError):
        find_tag_peaks(lines)


def test_bandpass_is_one_sided_and_centred() -> None:
    k = np.array([0.2, 0.05])
    g = gaussian_bandpass((64, 64), k, 0.3)
    row, col = np.unravel_index(np.argmax(g), g.shape)
    assert (np.fft.fftfreq(64)[col], np.fft.fftfreq(64)[row]) == pytest.approx(
        (0.2, 0.05), abs=0.01
    )
    assert g[0, 0] == 0.0  # DC notched
    assert g[(-3) % 64, (-13) % 64] < 1e-6  # the mirror peak -k rejected

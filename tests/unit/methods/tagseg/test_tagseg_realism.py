"""Realism of pseudo-tagged images: the tag spectrum recovers the spacing, angle and modulation
of synthetic tags, in the region asked for; the SSIM in a region is 1 for identical images,
falls with noise, ignores what lies outside the region and any gain or offset."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import ndimage

from myoflow.methods.tagseg.realism import (
    REALISM_COLUMNS,
    TagSpectrum,
    realism_row,
    ssim_in,
    tag_spectrum,
)

PIXEL = (1.25, 1.25)


def _coords(size: int, spacing: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` in mm of every pixel (x along columns, y along rows)."""
    y, x = np.mgrid[0:size, 0:size].astype(float)
    return x * spacing[1], y * spacing[0]


def _cosine(
    size: int, spacing: tuple[float, float], period: float, angle: float, mean: float, amp: float
) -> np.ndarray:
    """``mean + amp cos(2 pi (x cos a + y sin a) / period)``."""
    x, y = _coords(size, spacing)
    a = math.radians(angle)
    return mean + amp * np.cos(2 * np.pi * (x * math.cos(a) + y * math.sin(a)) / period)


def _grid(size: int, spacing: tuple[float, float], period: float, angle: float) -> np.ndarray:
    """A product tag grid of two perpendicular cosines, each at half modulation."""
    return _cosine(size, spacing, period, angle, 1.0, 0.5) * _cosine(
        size, spacing, period, angle + 90.0, 1.0, 0.5
    )


def _angle_gap(a: float, b: float) -> float:
    """Distance between two angles modulo 90 degrees."""
    d = (a - b) % 90.0
    return min(d, 90.0 - d)


@pytest.mark.parametrize("spacing", [PIXEL, (1.5, 1.25)])
@pytest.mark.parametrize("angle", [0.0, 30.0, 55.0, 80.0])
def test_a_grid_gives_its_spacing_and_angle(spacing: tuple[float, float], angle: float) -> None:
    found = tag_spectrum(_grid(128, spacing, 6.0, angle), spacing)
    assert isinstance(found, TagSpectrum)
    assert found.spacing_mm == pytest.approx(6.0, rel=0.03)
    assert _angle_gap(found.angle_deg, angle) < 2.0
    assert 0.0 <= found.angle_deg < 90.0
    # each direction of the product grid is a cosine of relative amplitude 0.5
    assert found.modulation == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize("period", [6.0, 7.3, 9.1])
def test_the_modulation_of_a_cosine_is_its_relative_amplitude(period: float) -> None:
    # periods that fall between FFT bins: the amplitude must not suffer the scalloping loss
    image = _cosine(128, PIXEL, period, 30.0, mean=2.0, amp=0.6)
    found = tag_spectrum(image, PIXEL)
    assert found.modulation == pytest.approx(0.3, rel=0.05)
    assert found.spacing_mm == pytest.approx(period, rel=0.03)


def test_the_angle_is_folded_into_a_quarter_turn() -> None:
    turns = [tag_spectrum(_cosine(96, PIXEL, 6.0, a, 1.0, 0.4), PIXEL) for a in (30, 120, 210)]
    for found in turns:
        assert 0.0 <= found.angle_deg < 90.0
        assert found.angle_deg == pytest.approx(30.0, abs=2.0)


def test_a_region_measures_its_own_tags() -> None:
    image = _grid(160, PIXEL, 9.0, 10.0)
    # 6 mm tags in a corner, where the Hann window of the whole field of view weighs little
    image[:64, :64] = _grid(64, PIXEL, 6.0, 40.0)
    assert tag_spectrum(image, PIXEL).spacing_mm == pytest.approx(9.0, rel=0.03)
    region = np.zeros(image.shape, bool)
    region[8:56, 8:56] = True  # with the margin, the box stays inside the 6 mm patch
    found = tag_spectrum(image, PIXEL, region)
    assert found.spacing_mm == pytest.approx(6.0, rel=0.03)
    assert _angle_gap(found.angle_deg, 40.0) < 2.0


def test_tag_spectrum_refuses_what_has_no_tags() -> None:
    with pytest.raises(ValueError, match="constant"):
        tag_spectrum(np.ones((64, 64)), PIXEL)
    with pytest.raises(ValueError, match="empty"):
        tag_spectrum(_grid(64, PIXEL, 6.0, 0.0), PIXEL, np.zeros((64, 64), bool))
    with pytest.raises(ValueError, match="shape"):
        tag_spectrum(_grid(64, PIXEL, 6.0, 0.0), PIXEL, np.ones((32, 32), bool))


def _disk(size: int, radius: float) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    return np.hypot(x - size / 2, y - size / 2) < radius


def test_ssim_of_an_image_with_itself_is_one_and_falls_with_noise() -> None:
    image = _grid(64, PIXEL, 6.0, 20.0)
    region = _disk(64, 20)
    assert ssim_in(image, image, region) == pytest.approx(1.0, abs=1e-9)
    noise = np.random.default_rng(0).standard_normal(image.shape)
    values = [ssim_in(image, image + s * noise, region) for s in (0.02, 0.1, 0.3, 1.0)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert values[0] < 1.0


def test_ssim_ignores_what_lies_outside_the_region() -> None:
    rng = np.random.default_rng(1)
    image = _grid(64, PIXEL, 6.0, 20.0)
    other = image + 0.2 * rng.standard_normal(image.shape)
    region = _disk(64, 15)
    # the 7 x 7 SSIM window reaches 3 pixels beyond the region; change only what lies further
    far = ~ndimage.binary_dilation(region, iterations=3, structure=np.ones((3, 3)))
    changed = other.copy()
    changed[far] = rng.uniform(-5.0, 5.0, int(far.sum()))
    assert ssim_in(image, changed, region) == pytest.approx(ssim_in(image, other, region))


def test_ssim_ignores_gain_and_offset() -> None:
    image = _grid(64, PIXEL, 6.0, 20.0)
    other = image + 0.2 * np.random.default_rng(2).standard_normal(image.shape)
    region = _disk(64, 20)
    reference = ssim_in(image, other, region)
    assert reference < 0.99
    assert ssim_in(3.0 * image + 7.0, other, region) == pytest.approx(reference, abs=1e-9)
    assert ssim_in(image, 0.01 * other - 2.0, region) == pytest.approx(reference, abs=1e-9)


def test_ssim_refuses_bad_inputs() -> None:
    image = _grid(32, PIXEL, 6.0, 0.0)
    with pytest.raises(ValueError, match="shapes"):
        ssim_in(image, image[:, :-1], np.ones(image.shape, bool))
    with pytest.raises(ValueError, match="empty"):
        ssim_in(image, image, np.zeros(image.shape, bool))


def test_realism_row_compares_a_pseudo_tagged_image_with_the_real_one() -> None:
    heart = _disk(96, 22) & ~_disk(96, 14)  # a myocardial ring
    real = _grid(96, PIXEL, 6.0, 30.0)
    row = realism_row(real, real, heart, PIXEL)
    assert tuple(row) == REALISM_COLUMNS
    assert row["ssim_heart"] == pytest.approx(1.0, abs=1e-9)
    assert row["spacing_mm_pseudo"] == row["spacing_mm_real"] == pytest.approx(6.0, rel=0.03)
    assert row["angle_deg_pseudo"] == row["angle_deg_real"]
    assert row["modulation_pseudo"] == row["modulation_real"]
    # pseudo tags at the wrong spacing and angle, at a lower modulation
    pseudo = _cosine(96, PIXEL, 8.0, 50.0, 1.0, 0.2) * _cosine(96, PIXEL, 8.0, 140.0, 1.0, 0.2)
    row = realism_row(pseudo, real, heart, PIXEL)
    assert row["spacing_mm_pseudo"] == pytest.approx(8.0, rel=0.03)
    assert _angle_gap(row["angle_deg_pseudo"], 50.0) < 2.0
    assert row["modulation_pseudo"] == pytest.approx(0.2, rel=0.05)
    assert row["ssim_heart"] < 0.9

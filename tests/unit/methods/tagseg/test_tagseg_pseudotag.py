"""The physics-driven cine -> pseudo-tagged transform: its tags have the configured spacing and
angle, the 70-degree 1-3-3-1 modulation of the Bloch calculation, fade with T1, and move with a
known displacement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from myoflow.methods.tagseg.pseudotag import (
    PseudoTagSettings,
    pseudo_tagged,
    reference_positions,
)
from myoflow.phantom.tagging import flip_angles_deg, module_mz
from myoflow.tracking.spectrum import find_tag_peaks

SPACING = (1.25, 1.25)


def _flat(frames: int = 1, size: int = 128) -> np.ndarray:
    """A uniform cine (the tags are then the whole image), with one darker pixel so that its
    normalisation is defined."""
    cine = np.ones((frames, size, size), np.float32)
    cine[:, 0, 0] = 0.0
    return cine


@pytest.mark.parametrize("angle", [0.0, 30.0, 60.0])
def test_the_tags_have_the_configured_spacing_and_angle(angle: float) -> None:
    settings = PseudoTagSettings(angle_deg=angle)
    tagged, used = pseudo_tagged(_flat(), SPACING, settings, np.random.default_rng(0))
    assert used == angle
    peaks = find_tag_peaks(tagged[0])
    assert peaks.periods_px == pytest.approx((5.0, 5.0), rel=0.05)
    # the two fundamentals are the grid's two directions, each modulo 180 degrees
    found = sorted(a % 180.0 for a in peaks.angles_deg)
    expected = sorted([angle % 180.0, (angle + 90.0) % 180.0])
    assert np.allclose(found, expected, atol=3.0)


def test_a_random_angle_is_drawn_per_image_in_a_quarter_turn() -> None:
    rng = np.random.default_rng(3)
    angles = [pseudo_tagged(_flat(size=32), SPACING, PseudoTagSettings(), rng)[1] for _ in range(6)]
    assert len(set(angles)) == 6 and all(0.0 <= a < 90.0 for a in angles)


def test_the_modulation_is_the_bloch_profile_of_a_70_degree_1331_grid() -> None:
    """On a uniform image, the darkest and brightest pixels are the product of the two modules'
    Bloch profiles at their extremes (wide tags, so the pixels sample the profile finely)."""
    settings = PseudoTagSettings(spacing_px=40.0, angle_deg=0.0)
    tagged, _ = pseudo_tagged(_flat(size=160), SPACING, settings, np.random.default_rng(1))
    profile = module_mz(flip_angles_deg("1-3-3-1", 70.0), np.linspace(0, 2 * math.pi, 3601))
    assert profile.min() == pytest.approx(math.cos(math.radians(70.0)), abs=1e-9)
    inside = tagged[0, 1:, 1:]  # the darker corner pixel left out
    assert inside.min() == pytest.approx(profile.min() ** 2, abs=0.01)
    assert inside.max() == pytest.approx(profile.max() ** 2, abs=0.01)


def test_the_cine_is_made_gre_like_by_its_square_root() -> None:
    cine = _flat(size=32)
    cine[0, 10:20, 10:20] = 0.25  # a quarter of the brightest
    settings = PseudoTagSettings(spacing_px=5.0, angle_deg=0.0)
    rng = np.random.default_rng(2)
    tagged, _ = pseudo_tagged(cine, SPACING, settings, rng)
    uniform, _ = pseudo_tagged(_flat(size=32), SPACING, settings, np.random.default_rng(2))
    ratio = tagged[0, 10:20, 10:20] / uniform[0, 10:20, 10:20]
    assert np.allclose(ratio, 0.5, atol=1e-5)  # sqrt(0.25), the same tags


def test_tags_fade_with_t1_between_frames() -> None:
    times = np.array([0.0, 300.0])
    settings = PseudoTagSettings(spacing_px=40.0, angle_deg=0.0, t1_ms=900.0)
    tagged, _ = pseudo_tagged(_flat(2, 160), SPACING, settings, np.random.default_rng(4), times)
    depth = [np.ptp(frame[1:, 1:]) for frame in tagged]
    assert depth[1] / depth[0] == pytest.approx(math.exp(-300.0 / 900.0), rel=0.02)


def test_tags_move_with_a_known_translation() -> None:
    """Frame 1 of tissue moved by (2.5, -1.25) mm, two pixels right and one up, shows frame 0's
    tags moved by as much: pixel (row, col) of frame 1 is pixel (row + 1, col - 2) of frame 0."""
    size = 64
    u = np.zeros((2, 2, size, size))
    u[1] = np.array([2.5, -1.25])[:, None, None]
    settings = PseudoTagSettings(angle_deg=20.0)
    tagged, _ = pseudo_tagged(_flat(2, size), SPACING, settings, np.random.default_rng(5), None, u)
    np.testing.assert_allclose(tagged[1][1:-1, 2:-1], tagged[0][2:, :-3], atol=1e-5)
    assert np.abs(tagged[1] - tagged[0]).max() > 0.3  # the tags did move


def test_the_inverse_of_a_linear_deformation_is_exact_inside() -> None:
    """Tissue stretched by x' = (I + A) X: each pixel's tagging-time position is (I + A)^-1 x."""
    size = 48
    a = np.array([[-0.08, 0.03], [0.02, -0.05]])
    rows, cols = np.mgrid[0:size, 0:size].astype(float)
    grid = np.stack([cols * SPACING[1], rows * SPACING[0]])
    u = np.zeros((2, 2, size, size))
    u[1] = np.einsum("ij,jhw->ihw", a, grid)
    ref = reference_positions(u, SPACING, (size, size))
    expected = np.einsum("ij,jhw->ihw", np.linalg.inv(np.eye(2) + a), grid)
    np.testing.assert_allclose(ref[0], grid)
    inside = (slice(None), slice(6, size - 6), slice(6, size - 6))
    np.testing.assert_allclose(ref[1][inside], expected[inside], atol=1e-4)


def test_refusals_say_what_is_wrong() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="constant"):
        pseudo_tagged(np.ones((1, 8, 8)), SPACING, PseudoTagSettings(), rng)
    with pytest.raises(ValueError, match=r"displacement must be \[T, 2, 8, 8\]"):
        reference_positions(np.zeros((1, 2, 4, 4)), SPACING, (8, 8))
    with pytest.raises(ValueError, match=r"cine must be \[T, H, W\]"):
        pseudo_tagged(np.ones((8, 8)), SPACING, PseudoTagSettings(), rng)

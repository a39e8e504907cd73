"""SPAMM physics: Bloch pulse trains, tag profiles, T1 fading, tagging any image."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.phantom.tagging import (
    TagGrid,
    apply_tagging,
    evaluate_harmonics,
    flip_angles_deg,
    module_harmonics,
    module_mz,
    relaxation,
)

GAMMA = np.linspace(-3 * np.pi, 3 * np.pi, 20001)


def test_binomial_flip_angles() -> None:
    assert np.allclose(flip_angles_deg("1-1"), [45.0, 45.0])
    assert np.allclose(flip_angles_deg("1-3-3-1"), [11.25, 33.75, 33.75, 11.25])
    with pytest.raises(ValueError):
        flip_angles_deg("1-2-1")


def test_one_one_gives_a_pure_cosine() -> None:
    """1-1 with two 45 degree pulses: Mz = cos^2 45 - sin^2 45 cos(kx) = (1 - cos kx) / 2."""
    mz = module_mz(flip_angles_deg("1-1"), GAMMA)
    assert np.max(np.abs(mz - 0.5 * (1.0 - np.cos(GAMMA)))) < 1e-14


def test_one_three_three_one_gives_sharper_tags() -> None:
    """Same spacing, same full saturation at the tag centre, but narrower tag lines."""
    period = np.abs(GAMMA) <= np.pi
    wide = module_mz(flip_angles_deg("1-1"), GAMMA[period])
    sharp = module_mz(flip_angles_deg("1-3-3-1"), GAMMA[period])
    assert wide.min() == pytest.approx(0.0, abs=1e-12) and sharp.min() == pytest.approx(
        0.0, abs=1e-12
    )
    assert wide.max() == pytest.approx(1.0) and sharp.max() == pytest.approx(1.0)
    # Width of the dark line (Mz below half of the untagged value) as a fraction of the period.
    width_wide, width_sharp = np.mean(wide < 0.5), np.mean(sharp < 0.5)
    assert width_wide == pytest.approx(0.5, abs=1e-3)
    assert width_sharp < 0.75 * width_wide


@pytest.mark.parametrize("pattern", ["1-1", "1-3-3-1"])
def test_harmonics_reproduce_the_bloch_product_exactly(pattern: str) -> None:
    flips = flip_angles_deg(pattern)
    a, b = module_harmonics(flips)
    assert len(a) == len(flips)  # degree n - 1: the pulse train cannot make finer harmonics
    assert np.max(np.abs(evaluate_harmonics(a, b, GAMMA) - module_mz(flips, GAMMA))) < 1e-12


def test_grid_is_the_product_of_two_orthogonal_modules() -> None:
    tags = TagGrid(pattern="1-3-3-1", spacing_mm=2.0, angle_deg=20.0, offset_rad=(0.3, 1.1))
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-10, 10, 1000), rng.uniform(-10, 10, 1000)
    flips = flip_angles_deg("1-3-3-1")
    g1, g2 = tags.phases(x, y)
    assert np.allclose(tags.mz0(x, y), module_mz(flips, g1) * module_mz(flips, g2), atol=1e-12)
    # Moving along a tag direction by one spacing changes nothing.
    (n1x, n1y), (n2x, n2y) = tags.directions()
    assert np.allclose(tags.mz0(x + 2.0 * n1x, y + 2.0 * n1y), tags.mz0(x, y), atol=1e-9)
    assert np.allclose(tags.mz0(x + 2.0 * n2x, y + 2.0 * n2y), tags.mz0(x, y), atol=1e-9)
    assert abs(n1x * n2x + n1y * n2y) < 1e-15


def test_relaxation_follows_t1_recovery() -> None:
    times = np.linspace(0.0, 1000.0, 21)
    offset, gain = relaxation(times, 950.0)
    assert np.allclose(gain, np.exp(-times / 950.0))
    assert np.allclose(offset, 1.0 - np.exp(-times / 950.0))
    for mz0 in (0.0, 0.3, 1.0):  # Mz(t) = Mz0 e^(-t/T1) + M0 (1 - e^(-t/T1))
        assert np.allclose(
            offset + gain * mz0, mz0 * np.exp(-times / 950) + 1 - np.exp(-times / 950)
        )


def test_readout_depletion_fades_tags_faster() -> None:
    times = np.linspace(0.0, 170.0, 20, endpoint=False)
    _, gain_t1 = relaxation(times, 1400.0)
    _, gain_ro = relaxation(times, 1400.0, readout_flip_deg=10.0)
    assert gain_ro[0] == gain_t1[0] == 1.0
    assert np.all(gain_ro[1:] < gain_t1[1:])
    # With no recovery between frames, k readouts leave cos(flip)^k of the modulation.
    _, gain_inf = relaxation(times, 1e12, readout_flip_deg=10.0)
    assert np.allclose(gain_inf, np.cos(np.radians(10.0)) ** np.arange(20))


def test_apply_tagging_on_any_image_fades_by_t1() -> None:
    """Pseudo-tagging a flat image: Michelson tag contrast follows the T1 model frame by frame."""
    n, px = 64, 1.0
    rows, cols = np.indices((n, n), dtype=float)
    ref = np.stack([cols * px, rows * px])
    times = np.linspace(0.0, 900.0, 10)
    flat = np.ones((len(times), n, n), np.float32)
    tags = TagGrid(pattern="1-1", spacing_mm=8.0, grid=False)
    tagged = apply_tagging(flat, ref, times, tags, t1_ms=800.0)
    contrast = (tagged.max(axis=(1, 2)) - tagged.min(axis=(1, 2))) / (
        tagged.max(axis=(1, 2)) + tagged.min(axis=(1, 2))
    )
    assert np.all(np.diff(contrast) < 0)
    decay = np.exp(-times / 800.0)  # min Mz = 1 - decay, max Mz = 1 (1-1 profile spans 0..1)
    assert np.allclose(contrast, decay / (2.0 - decay), atol=1e-5)


def test_apply_tagging_follows_a_moving_reference() -> None:
    """Reference = pixel grid minus the displacement: the tag pattern moves with the tissue."""
    n = 48
    rows, cols = np.indices((n, n), dtype=float)
    grid = np.stack([cols, rows])
    shift = np.array([3.0, 0.0])[:, None, None]  # every point moved 3 mm (= 3 pixels) along x
    tags = TagGrid(spacing_mm=6.0, offset_rad=(0.4, 0.9))
    tagged = apply_tagging(
        np.ones((2, n, n)), np.stack([grid, grid - shift]), [0.0, 1e-9], tags, 1e9
    )
    assert np.allclose(tagged[1][:, 3:], tagged[0][:, :-3], atol=1e-6)
    assert not np.allclose(tagged[1], tagged[0], atol=1e-3)

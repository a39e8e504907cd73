"""Quality control of tracked points: a tag jump is flagged and repaired, a clean slice is left
alone, faded tags and widespread flags fail the slice with a reason."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from myoflow.tracking.checks import (
    BAD,
    EXCLUDED,
    FADED,
    JUMP,
    OUTSIDE,
    CheckOptions,
    _near,
    check_points,
)

PERIOD = 5.0
FRAMES = 8


def _slice() -> tuple[np.ndarray, np.ndarray]:
    """ED pixels of an annulus (radii 10-16 around (40, 40)) and their positions ``[T, N, 2]``
    under a contraction with twist that peaks at frame 4 (ES)."""
    rows, cols = np.mgrid[:80, :80]
    radius = np.hypot(cols - 40.0, rows - 40.0)
    inside = (radius >= 10) & (radius <= 16)
    ref = np.stack([cols[inside], rows[inside]], axis=1).astype(float)
    offset = ref - 40.0
    positions = np.empty((FRAMES, len(ref), 2))
    for t in range(FRAMES):
        amount = np.sin(np.pi * t / FRAMES)
        angle = 0.05 * amount
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        positions[t] = 40.0 + (1.0 - 0.12 * amount) * offset @ rot.T + [0.8 * amount, 0.0]
    return ref, positions


def _tagged() -> np.ndarray:
    return np.full(FRAMES, 3.0)


def test_a_clean_slice_keeps_its_motion() -> None:
    """A motion the smooth field can represent comes out as it went in (to the ridge's shrinkage
    of a few thousandths of a pixel), regularised or not."""
    ref, positions = _slice()
    checked = check_points(ref, positions, PERIOD, _tagged(), es_frame=4)
    assert not checked.flags.any()
    np.testing.assert_allclose(checked.positions, positions, atol=5e-3)
    raw = check_points(ref, positions, PERIOD, _tagged(), 4, options=CheckOptions(regularise=False))
    np.testing.assert_array_equal(raw.positions, positions)
    assert checked.passed and checked.reason == ""
    assert checked.scores["flagged_fraction"] == 0.0 and checked.scores["quality"] == 1.0


def test_a_point_pushed_off_by_one_tag_period_is_flagged_and_repaired() -> None:
    ref, positions = _slice()
    jumped = positions.copy()
    jumped[3:, 100] += [0.0, PERIOD]  # from frame 3 on, one period along y
    checked = check_points(ref, jumped, PERIOD, _tagged(), es_frame=4)
    assert np.all(checked.flags[3:, 100] & JUMP) and not checked.flags[:3, 100].any()
    assert not (checked.flags[:, np.arange(len(ref)) != 100] & BAD).any()
    np.testing.assert_allclose(checked.positions[:, 100], positions[:, 100], atol=0.02)
    others = np.arange(len(ref)) != 100
    np.testing.assert_allclose(checked.positions[:, others], positions[:, others], atol=0.02)
    raw = check_points(ref, jumped, PERIOD, _tagged(), 4, options=CheckOptions(regularise=False))
    np.testing.assert_array_equal(raw.positions[:, others], positions[:, others])
    np.testing.assert_allclose(raw.positions[:, 100], positions[:, 100], atol=0.02)
    assert checked.passed  # one point is no reason to reject the slice
    truth_field = checked.field_at(ref[[100]])[:, 0]
    np.testing.assert_allclose(truth_field, positions[:, 100] - ref[100], atol=0.02)


def test_a_point_that_leaves_the_myocardium_is_flagged() -> None:
    ref, positions = _slice()
    masks = np.zeros((FRAMES, 80, 80), bool)
    for t in range(FRAMES):  # each frame's mask: its tracked pixels, rounded
        cols, rows = np.rint(positions[t]).astype(int).T
        masks[t, rows, cols] = True
    moved = positions.copy()
    moved[5, 7] = [2.0, 2.0]  # far into the corner: off the field and out of the mask
    checked = check_points(ref, moved, PERIOD, _tagged(), es_frame=4, masks=masks)
    assert checked.flags[5, 7] & OUTSIDE and checked.flags[5, 7] & JUMP
    assert not (np.delete(checked.flags, 7, axis=1) & OUTSIDE).any()


def test_faded_tags_before_end_systole_fail_the_slice() -> None:
    ref, positions = _slice()
    contrast = _tagged()
    contrast[3:] = 1.0  # tags gone from frame 3, before ES at frame 4
    checked = check_points(ref, positions, PERIOD, contrast, es_frame=4)
    assert np.all(checked.flags[3:] & FADED) and not (checked.flags[:3] & FADED).any()
    assert not checked.passed and "tags faded at frame 3" in checked.reason
    assert checked.scores["first_faded_frame"] == 3 and checked.scores["quality"] == 0.0
    late = _tagged()
    late[6:] = 1.0  # fading after ES is recorded, not fatal
    assert check_points(ref, positions, PERIOD, late, es_frame=4).passed


def test_a_slice_with_many_wild_points_fails_and_isolated_repairs_are_excluded() -> None:
    ref, positions = _slice()
    rng = np.random.default_rng(0)
    wild = positions.copy()
    hit = rng.random(len(ref)) < 0.3
    wild[1:, hit] += rng.uniform(-2 * PERIOD, 2 * PERIOD, size=(FRAMES - 1, hit.sum(), 2))
    checked = check_points(ref, wild, PERIOD, _tagged(), es_frame=4, options=CheckOptions())
    assert not checked.passed and "were flagged" in checked.reason
    assert checked.scores["flagged_fraction_es"] > 0.2
    # the repair still follows the true motion: the majority is smooth
    err = np.hypot(*(checked.positions[1:, hit] - positions[1:, hit]).T)
    assert np.median(err) < 0.1


def test_a_patch_of_jumped_points_is_repaired_but_its_core_excluded() -> None:
    """A whole patch off by a period: every point is repaired from the slice's field, and those
    whose neighbours all jumped too are marked excluded (a repair, not a measurement)."""
    ref, positions = _slice()
    patch = np.hypot(*(ref - ref[300]).T) <= 3.0
    jumped = positions.copy()
    jumped[2:, patch] += [PERIOD, 0.0]
    checked = check_points(ref, jumped, PERIOD, _tagged(), es_frame=4)
    assert np.all(checked.flags[2:, patch] & JUMP)
    assert checked.flags[2, 300] & EXCLUDED
    assert not (checked.flags[:, ~patch] & EXCLUDED).any()
    np.testing.assert_allclose(checked.positions[:, patch], positions[:, patch], atol=0.05)


def test_a_frame_with_a_third_of_its_points_off_is_no_measurement() -> None:
    """A tracker that jumped tags at a third of its points in one frame (SinMod in rapid
    filling: 36 % of a realistic basal slice's landmarks in one frame): every point of that
    frame is excluded, and the slice fails when the frame is at or before end-systole."""
    ref, positions = _slice()
    rng = np.random.default_rng(3)
    wall = positions.copy()
    jumped = rng.random(len(ref)) < 0.35
    steps = np.array([[PERIOD, 0.0], [-PERIOD, 0.0], [0.0, PERIOD], [0.0, -PERIOD]])
    wall[6, jumped] += steps[rng.integers(0, 4, jumped.sum())]
    after = check_points(ref, wall, PERIOD, _tagged(), es_frame=4)
    assert np.all(after.flags[6] & EXCLUDED) and not (after.flags[5] & EXCLUDED).any()
    assert after.passed and after.scores["first_unreliable_frame"] == 6
    before = check_points(ref, wall, PERIOD, _tagged(), es_frame=6)
    assert not before.passed and "frame 6, at or before end-systole" in before.reason


def test_forward_and_backward_paths_far_apart_fail_the_slice() -> None:
    """Where the tracker followed the cycle both ways and the paths end far apart in frames that
    are measurements, it could not tell which is right: the slice fails with that reason; close
    paths, none, or paths apart only in faded frames pass."""
    ref, positions = _slice()

    def apart(periods: float, contrast: np.ndarray | None = None):
        per_frame = np.full(FRAMES, np.nan)
        per_frame[2:] = periods * PERIOD
        tagged = _tagged() if contrast is None else contrast
        return check_points(ref, positions, PERIOD, tagged, 4, forward_backward_px=per_frame)

    far = apart(0.5)
    assert not far.passed and "forward and backward" in far.reason
    assert far.scores["forward_backward_periods"] == 0.5 and far.scores["quality"] == 0.0
    close = apart(0.1)
    assert close.passed and close.scores["forward_backward_px"] == 0.1 * PERIOD
    assert check_points(ref, positions, PERIOD, _tagged(), 4).passed  # not measured
    faded_from_2 = np.where(np.arange(FRAMES) < 2, 3.0, 0.5)
    only_faded = apart(0.5, faded_from_2)
    assert np.isnan(only_faded.scores["forward_backward_px"])
    assert "forward and backward" not in only_faded.reason


def test_the_smooth_field_anywhere_is_its_basis_times_each_frames_coefficients() -> None:
    """``field_at`` sums the basis terms against a frames-by-components matrix of coefficients
    (an order of magnitude faster than the direct product of the three arrays); the sums, term
    by term, are those of the direct product, so its values are the same to the last bit."""
    ref, positions = _slice()
    checked = check_points(ref, positions, PERIOD, _tagged(), es_frame=4)
    xy = np.random.default_rng(5).uniform(20.0, 60.0, (300, 2))
    got = checked.field_at(xy)
    direct = np.einsum("nk,tkc->tnc", checked.basis(xy), checked.coefficients)
    assert got.shape == (FRAMES, len(xy), 2) and np.array_equal(got, direct)
    assert np.all(got[0] == 0.0)  # no displacement at ED


def test_the_band_check_grows_each_frames_mask_on_its_own() -> None:
    """The myocardium masks of all frames are grown by the band in one call: a frame's grown
    mask is its own, whatever the masks of the frames around it."""
    rng = np.random.default_rng(2)
    masks = rng.random((5, 30, 40)) > 0.97
    masks[2] = False  # a frame without a mask next to frames with one
    for band in (1, 2, 3):
        grown = _near(masks, band)
        for t in range(len(masks)):
            assert np.array_equal(grown[t], ndimage.binary_dilation(masks[t], iterations=band))

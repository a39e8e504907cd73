"""Mask errors: eroded, dilated and shifted by exactly the named pixels, nothing wraps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from myoflow.methods.tracking_validation.grid import MASK_ERRORS
from myoflow.methods.tracking_validation.mask_errors import perturb_mask, with_mask_error
from myoflow.record import SliceRecord


def _ring(shape: tuple[int, int] = (40, 44)) -> np.ndarray:
    """``[2, H, W]`` uint8: an annulus, and in frame 1 a smaller one touching the last column."""
    rows, cols = np.indices(shape)
    out = np.zeros((2, *shape), np.uint8)
    radius = np.hypot(rows - 20, cols - 20)
    out[0] = (radius >= 8) & (radius <= 14)
    radius = np.hypot(rows - 20, cols - 39)
    out[1] = (radius >= 2) & (radius <= 5)
    return out


def _city_block(mask: np.ndarray) -> np.ndarray:
    """Per frame, each pixel's city-block distance to the nearest pixel of ``mask``."""
    return np.stack([ndimage.distance_transform_cdt(~m, metric="taxicab") for m in mask])


@pytest.mark.parametrize("pixels", [1, 2])
def test_dilation_adds_exactly_the_pixels_within_n(pixels: int) -> None:
    mask = _ring()
    out = perturb_mask(mask, f"dilate{pixels}")
    expected = _city_block(mask.astype(bool)) <= pixels
    np.testing.assert_array_equal(out.astype(bool), expected)
    assert out.dtype == mask.dtype and set(np.unique(out)) <= {0, 1}


def test_erosion_removes_exactly_the_pixels_next_to_the_background() -> None:
    mask = _ring()
    mask[0, :3, :] = 1  # a band on the image's edge: the border counts as background
    out = perturb_mask(mask, "erode1").astype(bool)
    padded = np.pad(mask.astype(bool), ((0, 0), (1, 1), (1, 1)))  # background beyond the edge
    expected = (_city_block(~padded) > 1)[:, 1:-1, 1:-1]
    np.testing.assert_array_equal(out, expected)
    assert out.sum() < mask.sum() and not out[0, 0].any() and out[0, 1].any()


@pytest.mark.parametrize("pixels", [1, 2])
def test_shift_moves_every_pixel_n_columns_right_without_wrapping(pixels: int) -> None:
    mask = _ring()
    out = perturb_mask(mask, f"shift{pixels}")
    np.testing.assert_array_equal(out[:, :, pixels:], mask[:, :, :-pixels])
    assert not out[:, :, :pixels].any()  # nothing came back round from the right edge
    # frame 1 touches the last column: what leaves the image is lost, the rest keeps its size
    lost = mask[1, :, -pixels:].sum()
    assert lost > 0 and out[1].sum() == mask[1].sum() - lost
    assert out[0].sum() == mask[0].sum()


def test_none_is_a_copy_and_the_input_is_never_changed() -> None:
    mask = _ring()
    before = mask.copy()
    for error in MASK_ERRORS:
        out = perturb_mask(mask, error)
        assert out is not mask
    np.testing.assert_array_equal(mask, before)
    np.testing.assert_array_equal(perturb_mask(mask, "none"), mask)


def test_unknown_errors_and_layouts_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown mask error 'erode3'"):
        perturb_mask(_ring(), "erode3")
    with pytest.raises(ValueError, match=r"\[T, H, W\]"):
        perturb_mask(_ring()[0], "erode1")


def test_the_record_given_to_a_tracker_differs_in_its_mask_only() -> None:
    mask = _ring()
    rec = SliceRecord(
        cohort="c",
        subject="s",
        slice_id="mid",
        position="mid",
        group="g",
        pixel_spacing_mm=(1.0, 1.0),
        frame_times_ms=np.arange(2.0),
        original_frames=2,
        tagged=np.ones((2, 40, 44), np.float32),
        mask=mask,
        landmarks=np.zeros((2, 2, 168), np.float32),
    )
    given = with_mask_error(rec, "shift2")
    assert given is not rec and rec.mask is mask
    np.testing.assert_array_equal(given.mask, perturb_mask(mask, "shift2"))
    assert given.tagged is rec.tagged and given.landmarks is rec.landmarks
    assert with_mask_error(rec, "none") is rec

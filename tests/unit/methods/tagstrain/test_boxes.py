"""Paper 003's boxes: target extent, IoU of known boxes, and the crop's exact position map."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.methods.tagstrain.boxes import Box, BoxCrop, box_of_mask, box_of_points, iou


def test_mask_box_is_the_pixel_edge_extent_grown_by_the_fraction_half_on_each_side() -> None:
    mask = np.zeros((40, 50), np.uint8)
    mask[10:20, 5:25] = 1  # rows 10..19, columns 5..24: 20 wide, 10 high at pixel edges
    box = box_of_mask(mask, enlargement=0.6)
    assert box.corners == pytest.approx([4.5 - 6.0, 9.5 - 3.0, 24.5 + 6.0, 19.5 + 3.0])
    assert box.width == pytest.approx(20 * 1.6)
    assert box_of_mask(mask, 0.0).corners == pytest.approx([4.5, 9.5, 24.5, 19.5])


def test_point_box_runs_through_the_outermost_points() -> None:
    points = np.array([[3.0, 7.0, 5.0], [2.0, 4.0, 10.0]])
    assert box_of_points(points, 0.5).corners == pytest.approx([2.0, 0.0, 8.0, 12.0])


def test_empty_mask_and_degenerate_boxes_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        box_of_mask(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="x2 > x1"):
        Box(5.0, 0.0, 5.0, 3.0)
    with pytest.raises(ValueError, match="x2 > x1"):
        Box(100.0, 0.0, 120.0, 10.0).clipped((64, 64))  # wholly right of the image


def test_corner_convention_shifts_by_half_a_pixel() -> None:
    assert Box.from_corner_convention([10, 20, 30, 40]).corners == pytest.approx(
        [9.5, 19.5, 29.5, 39.5]
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 2, 2], [0, 0, 2, 2], 1.0),
        ([0, 0, 2, 2], [1, 0, 3, 2], 2.0 / 6.0),  # half overlap: 2 / (4 + 4 - 2)
        ([0, 0, 2, 2], [0.5, 0.5, 1.5, 1.5], 0.25),  # nested: 1 / 4
        ([0, 0, 1, 1], [2, 2, 3, 3], 0.0),  # apart
        ([0, 0, 1, 1], [1, 0, 2, 1], 0.0),  # touching edges
    ],
)
def test_iou_of_known_boxes(a: list[float], b: list[float], expected: float) -> None:
    assert float(iou(a, b)) == pytest.approx(expected)
    assert float(iou(b, a)) == pytest.approx(expected)


def test_iou_is_element_wise_over_leading_axes() -> None:
    a = np.array([[0, 0, 2, 2], [0, 0, 1, 1]])
    b = np.array([[1, 0, 3, 2], [0, 0, 1, 1]])
    assert iou(a, b) == pytest.approx([1.0 / 3.0, 1.0])


def test_landmarks_round_trip_through_the_crop_to_a_micrometre_fraction() -> None:
    rng = np.random.default_rng(3)
    crop = BoxCrop(Box(61.3, 70.9, 140.2, 151.7), size=128, spacing_mm=(1.37, 1.41))
    mm = rng.uniform(50, 200, size=(20, 2, 168))
    back = crop.crop_to_mm(crop.mm_to_crop(mm))
    assert np.abs(back - mm).max() < 1e-6
    # the box's corners land on the crop's outer pixel edges
    edges = crop.to_crop(np.array([[61.3, 140.2], [70.9, 151.7]]))
    assert edges == pytest.approx(np.array([[-0.5, 127.5], [-0.5, 127.5]]))


def test_a_box_on_pixel_edges_crops_the_pixels_themselves() -> None:
    """Crop pixel centres on image pixel centres: the interpolation returns the pixels."""
    image = np.random.default_rng(1).random((2, 80, 90)).astype(np.float32)
    crop = BoxCrop(Box(19.5, 29.5, 51.5, 61.5), size=32, spacing_mm=(1.0, 1.0))
    np.testing.assert_allclose(crop.crop(image), image[:, 30:62, 20:52], atol=1e-5)


def test_crop_samples_the_image_where_the_position_map_says() -> None:
    """On a linear ramp each crop pixel holds the value at the image position ``to_image`` gives
    for its centre, up to the interpolation error of Keys' kernel (a = -0.75, OpenCV's and
    torch's bicubic): under a tenth of a pixel of position."""
    rows, cols = np.mgrid[0:96, 0:80].astype(np.float64)
    image = (0.5 * cols + 0.25 * rows)[None]
    crop = BoxCrop(Box(20.2, 30.4, 50.6, 71.0), size=32, spacing_mm=(1.0, 1.0))
    out = crop.crop(image)
    assert out.shape == (1, 32, 32) and out.dtype == np.float32
    k = np.arange(32, dtype=np.float64)
    centres = crop.to_image(np.stack(np.meshgrid(k, k, indexing="xy")).reshape(2, -1))
    expected = (0.5 * centres[0] + 0.25 * centres[1]).reshape(32, 32)
    assert np.abs(out[0] - expected).max() < 0.1 * 0.5


def test_crop_pixels_are_anisotropic_for_a_rectangular_box() -> None:
    crop = BoxCrop(Box(0.0, 0.0, 64.0, 32.0), size=32, spacing_mm=(1.5, 1.0))
    assert crop.crop_spacing_mm == pytest.approx((1.0 * 1.5, 2.0 * 1.0))


def test_outside_the_image_is_zero() -> None:
    crop = BoxCrop(Box(-40.0, -40.0, -10.0, -10.0), size=8, spacing_mm=(1.0, 1.0))
    assert not crop.crop(np.ones((2, 16, 16))).any()

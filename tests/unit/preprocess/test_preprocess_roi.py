"""LV ROI: centred on the myocardium, square in mm, guards for tiny and lopsided masks, no-mask errors."""

from __future__ import annotations

import numpy as np
import pytest
from preprocess_records import RecordFactory

from myoflow.errors import InputError
from myoflow.preprocess.roi import locate_roi
from myoflow.preprocess.spatial import PADDED_FLAG, CropTransform, crop_record


def test_box_is_centred_on_an_off_centre_ring(make_record: RecordFactory) -> None:
    rec = make_record(center_mm=(130.0, 70.0), radii_mm=(15.0, 25.0))
    box = locate_roi(rec, margin=0.25)
    sy, sx = rec.pixel_spacing_mm
    # A symmetric ring's centroid is its centre up to the pixel grid.
    assert box.center_mm == pytest.approx((130.0, 70.0), abs=0.5 * max(sx, sy))
    # Side = extent (outer diameter, measured at pixel edges) x 1.5, within a pixel of extent.
    assert box.side_mm == pytest.approx(50.0 * 1.5, abs=1.5 * max(sx, sy))


def test_crop_centres_the_mask_and_sets_spacing(make_record: RecordFactory) -> None:
    rec = make_record(center_mm=(140.0, 60.0))
    box = locate_roi(rec)
    transform = CropTransform.from_box(box, 128, rec.image_shape, rec.pixel_spacing_mm)
    out = crop_record(rec, transform)
    assert out.pixel_spacing_mm == pytest.approx((box.side_mm / 128, box.side_mm / 128))
    rows, cols = np.nonzero(out.mask[0])
    centre = (128 - 1) / 2
    assert abs(rows.mean() - centre) <= 0.5 and abs(cols.mean() - centre) <= 0.5
    assert PADDED_FLAG not in out.flags


def test_margin_scales_the_side(make_record: RecordFactory) -> None:
    rec = make_record()
    # side = extent * (1 + 2 * margin): 2x the extent at margin 0.5, 3x at margin 1.
    assert locate_roi(rec, margin=1.0).side_mm == pytest.approx(
        1.5 * locate_roi(rec, margin=0.5).side_mm
    )


def test_union_over_frames_contains_every_frame(make_record: RecordFactory) -> None:
    rec = make_record()
    moved = rec.mask.copy()
    moved[-1] = np.roll(moved[-1], 12, axis=1)  # the last frame's ring shifted to the right
    box = locate_roi(rec.replace(mask=moved), margin=0.0)
    cols = np.nonzero(moved.any(axis=0))[1]
    sx = rec.pixel_spacing_mm[1]
    assert box.center_mm[0] + box.side_mm / 2 >= (cols.max() + 0.5) * sx - 1e-9
    assert box.center_mm[0] - box.side_mm / 2 <= (cols.min() - 0.5) * sx + 1e-9


def test_lopsided_mask_is_not_cut_off(make_record: RecordFactory) -> None:
    rec = make_record(center_mm=(120.0, 80.0))
    sy, sx = rec.pixel_spacing_mm
    rows, cols = np.indices(rec.image_shape)
    quarter = (cols * sx >= 120.0) & (rows * sy <= 80.0)  # a quarter ring: centroid off its box
    rec = rec.replace(mask=rec.mask * quarter.astype(np.uint8))
    box = locate_roi(rec, margin=0.0)
    r, c = np.nonzero(rec.mask[0])
    half = box.side_mm / 2
    assert box.center_mm[0] - half <= (c.min() - 0.5) * sx + 1e-9
    assert box.center_mm[0] + half >= (c.max() + 0.5) * sx - 1e-9
    assert box.center_mm[1] - half <= (r.min() - 0.5) * sy + 1e-9
    assert box.center_mm[1] + half >= (r.max() + 0.5) * sy - 1e-9
    transform = CropTransform.from_box(box, 128, rec.image_shape, rec.pixel_spacing_mm)
    out = crop_record(rec, transform)
    area_in = rec.mask[0].sum() * sx * sy
    area_out = out.mask[0].sum() * np.prod(out.pixel_spacing_mm)
    assert area_out == pytest.approx(area_in, rel=0.03)


def test_min_side_keeps_tiny_masks_from_being_blown_up(make_record: RecordFactory) -> None:
    rec = make_record(radii_mm=(2.0, 4.0))
    assert locate_roi(rec).side_mm < 15.0
    assert locate_roi(rec, min_side_mm=40.0).side_mm == 40.0
    assert locate_roi(make_record(), min_side_mm=40.0).side_mm > 40.0, "only a minimum"


def test_no_mask_is_an_input_error_unless_roi_center(make_record: RecordFactory) -> None:
    rec = make_record(with_mask=False)
    with pytest.raises(InputError, match="no myocardium mask: cannot locate the LV ROI") as err:
        locate_roi(rec)
    assert err.value.subject == rec.subject and err.value.cohort == rec.cohort
    h, w = rec.image_shape
    sy, sx = rec.pixel_spacing_mm
    box = locate_roi(rec, mode="center", center_side_mm=90.0)
    assert box.center_mm == pytest.approx(((w - 1) / 2 * sx, (h - 1) / 2 * sy))
    assert box.side_mm == 90.0
    assert locate_roi(rec, mode="center").side_mm == pytest.approx(min(h * sy, w * sx))


def test_box_past_the_image_is_zero_padded_and_flagged(make_record: RecordFactory) -> None:
    rec = make_record(center_mm=(30.0, 30.0), radii_mm=(10.0, 20.0))
    box = locate_roi(rec, margin=0.5)
    transform = CropTransform.from_box(box, 64, rec.image_shape, rec.pixel_spacing_mm)
    out = crop_record(rec, transform)
    assert PADDED_FLAG in out.flags
    outside = ~transform.inside_source()
    assert outside[0, 0] and not outside[-1, -1]
    for arr in (out.cine, out.tagged, out.mask, out.displacement[:, 0], out.displacement[:, 1]):
        assert np.all(arr[:, outside] == 0)
    assert np.all(out.cine[:, ~outside] > 0), "the source's edge pixels keep their full width"

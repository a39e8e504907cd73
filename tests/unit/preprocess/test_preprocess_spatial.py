"""Crop and resampling: physical scale kept, positions follow the pixels, masks keep their area."""

from __future__ import annotations

import numpy as np
import pytest
from preprocess_records import RecordFactory
from scipy import ndimage

from myoflow.preprocess.interp import Stencil
from myoflow.preprocess.roi import RoiBox, locate_roi
from myoflow.preprocess.spatial import CropTransform, crop_record
from myoflow.strain.aha import segment_map


def _crop(rec, box: RoiBox, size: int = 128, interpolation: str = "linear"):
    transform = CropTransform.from_box(box, size, rec.image_shape, rec.pixel_spacing_mm)
    return crop_record(rec, transform, interpolation), transform


def _ring(shape, spacing, centre, radii) -> np.ndarray:
    rows, cols = np.indices(shape)
    r = np.hypot(cols * spacing - centre[0], rows * spacing - centre[1])
    return ((r > radii[0]) & (r < radii[1])).astype(np.float32)


def _area_errors(method: str, seed: int, n: int = 100) -> np.ndarray:
    """Mask-area change in units of (perimeter x output pixel) over random ring/box placements.

    Source 1.4 mm pixels, boxes of 60-100 mm on 128 pixels: the magnification of a typical LV crop.
    """
    rng = np.random.default_rng(seed)
    spacing, shape, radii = 1.4, (192, 192), (18.0, 27.0)
    perimeter = 2 * np.pi * (radii[0] + radii[1])
    errors = []
    for _ in range(n):
        centre = rng.uniform(0.4, 0.6, 2) * 192 * spacing
        mask = _ring(shape, spacing, centre, radii)[None]
        box = RoiBox(tuple(centre + rng.uniform(-3, 3, 2)), rng.uniform(60.0, 100.0))
        t = CropTransform.from_box(box, 128, shape, (spacing, spacing))
        rows, cols = t.stencils()
        if method == "nearest":
            out = cols.nearest().apply(rows.nearest().apply(mask, -2), -1)
        else:
            out = cols.apply(rows.apply(mask, -2), -1) >= 0.5
        change = out.sum() * t.spacing_mm**2 - mask.sum() * spacing**2
        errors.append(change / (perimeter * t.spacing_mm))
    return np.array(errors)


def test_mask_area_is_preserved_and_linear_beats_nearest() -> None:
    # Only output pixels on the boundary can change class, and their errors have both signs along
    # it, so the area change must stay within a band a quarter of an output pixel wide along the
    # perimeter (|dA| < P * s / 4; over 800 placements the worst case seen was 0.15 P * s). A wrong
    # scale of the transform would break this at once (a 1 % scale error alone is 1.6 P * s here).
    linear, nearest = _area_errors("linear", 7), _area_errors("nearest", 7)
    assert np.abs(linear).max() < 0.25
    assert abs(linear.mean()) < 0.02, "no systematic bias"
    # The reason for the choice: under magnification, smaller errors than nearest on average.
    assert np.abs(linear).mean() < np.abs(nearest).mean()


def test_crop_keeps_the_physical_scale(make_record: RecordFactory) -> None:
    rec = make_record()
    out, t = _crop(rec, locate_roi(rec))
    assert t.spacing_mm == pytest.approx(locate_roi(rec).side_mm / 128)
    area_in = rec.mask.sum(axis=(1, 2)) * np.prod(rec.pixel_spacing_mm)
    area_out = out.mask.sum(axis=(1, 2)) * np.prod(out.pixel_spacing_mm)
    np.testing.assert_allclose(area_out, area_in, rtol=0.02)


def test_landmark_on_an_image_feature_stays_on_it(make_record: RecordFactory) -> None:
    rec = make_record()
    sy, sx = rec.pixel_spacing_mm
    feature = np.array([97.3, 61.8])
    rows, cols = np.indices(rec.image_shape)
    blob = np.exp(-((cols * sx - feature[0]) ** 2 + (rows * sy - feature[1]) ** 2) / (2 * 3.0**2))
    lm = np.broadcast_to(feature[None, :, None], rec.landmarks.shape).copy()
    rec = rec.replace(cine=np.repeat(blob[None].astype(np.float32), rec.n_frames, 0), landmarks=lm)
    out, _ = _crop(rec, RoiBox((100.0, 70.0), 60.0))
    img = out.cine[0]
    r, c = np.indices(img.shape)
    s = out.pixel_spacing_mm[0]
    centroid = np.array([(img * c).sum() * s, (img * r).sum() * s]) / img.sum()
    np.testing.assert_allclose(out.landmarks[0, :, 0], centroid, atol=0.05 * s)
    peak = np.unravel_index(np.argmax(img), img.shape)
    np.testing.assert_allclose(out.landmarks[0, :, 0], [peak[1] * s, peak[0] * s], atol=s)


def test_uniform_translation_keeps_its_value_in_mm(make_record: RecordFactory) -> None:
    rec = make_record()
    u = np.empty_like(rec.displacement)
    u[:, 0], u[:, 1] = 1.7, -0.9
    u[0] = 0.0
    out, t = _crop(rec.replace(displacement=u), locate_roi(rec), size=96)
    assert t.spacing_mm != pytest.approx(rec.pixel_spacing_mm[1]), "the grid did change"
    np.testing.assert_allclose(out.displacement[1:, 0], 1.7, rtol=1e-6)
    np.testing.assert_allclose(out.displacement[1:, 1], -0.9, rtol=1e-6)
    assert np.all(out.displacement[0] == 0)


def test_separable_linear_equals_map_coordinates(make_record: RecordFactory) -> None:
    rec = make_record()
    out, t = _crop(rec, RoiBox((110.0, 85.0), 77.0), size=100)
    rows, cols = t.source_index()
    grid = np.stack(np.meshgrid(rows, cols, indexing="ij"))
    ref = ndimage.map_coordinates(rec.tagged[3].astype(float), grid, order=1, mode="nearest")
    np.testing.assert_allclose(out.tagged[3], ref, atol=1e-5)


def test_linear_and_cubic_reproduce_a_ramp(make_record: RecordFactory) -> None:
    rec = make_record()
    sy, sx = rec.pixel_spacing_mm
    rows, cols = np.indices(rec.image_shape)
    ramp = (0.3 * cols * sx + 0.2 * rows * sy).astype(np.float32)
    rec = rec.replace(cine=np.repeat(ramp[None], rec.n_frames, 0))
    for interpolation, atol in (("linear", 1e-4), ("cubic", 1e-3)):
        out, t = _crop(rec, RoiBox((100.0, 90.0), 70.0), interpolation=interpolation)
        s = out.pixel_spacing_mm[0]
        r, c = np.indices(out.cine.shape[1:])
        expected = 0.3 * (c * s + t.origin_mm[0]) + 0.2 * (r * s + t.origin_mm[1])
        np.testing.assert_allclose(out.cine[5], expected, atol=atol, err_msg=interpolation)


def test_transform_is_stored_and_inverts(make_record: RecordFactory) -> None:
    rec = make_record()
    out, t = _crop(rec, locate_roi(rec))
    back = CropTransform.from_covariates(out.covariates)
    assert back == t
    np.testing.assert_allclose(back.to_source_mm(out.landmarks, axis=1), rec.landmarks, atol=1e-9)
    np.testing.assert_allclose(
        back.to_source_mm(out.rv_insertion_mm), rec.rv_insertion_mm, atol=1e-9
    )


def test_extras_integer_maps_nearest_float_maps_linear(make_record: RecordFactory) -> None:
    rec = make_record()
    segments = segment_map(rec.mask[0], rec.pixel_spacing_mm, "mid", None)
    strain = np.where(rec.mask.astype(bool), 0.1, np.nan).astype(np.float32)
    rec = rec.replace(extras={"aha_segments": segments, "err_green": strain})
    out, _ = _crop(rec, locate_roi(rec))
    seg = out.extras["aha_segments"]
    assert seg.dtype == segments.dtype and seg.shape == (128, 128)
    assert set(np.unique(seg)) == set(np.unique(segments)), "labels kept, none invented"
    err = out.extras["err_green"]
    assert err.shape == (rec.n_frames, 128, 128)
    # NaN reaches exactly the outputs whose 2x2 source stencil touches a NaN pixel.
    rows, cols = CropTransform.from_covariates(out.covariates).stencils()
    touched = cols.apply(rows.apply(np.isnan(strain[0]).astype(float), -2), -1) > 0
    np.testing.assert_allclose(err[0][~touched], 0.1, rtol=1e-6)
    assert np.isnan(err[0][touched]).all()


def test_stencil_copies_exact_samples_and_keeps_nan_local() -> None:
    arr = np.array([1.0, np.nan, 3.0, 4.0])
    st = Stencil.linear(np.array([0.0, 2.0, 2.5, 3.0, 3.4, -0.6]), 4)
    out = st.apply(arr, 0)
    np.testing.assert_array_equal(out, [1.0, 3.0, 3.5, 4.0, 4.0, 0.0])
    with pytest.raises(TypeError, match="floating-point"):
        st.apply(np.arange(4), 0)
    np.testing.assert_array_equal(st.nearest().apply(np.arange(4), 0), [0, 2, 3, 3, 3, 0])

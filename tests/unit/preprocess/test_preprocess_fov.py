"""The fov profile: the whole field of view at a fixed size; every array and position carried
exactly, so that a round trip back to the source image is exact."""

from __future__ import annotations

import numpy as np
import pytest
from preprocess_records import RecordFactory

from myoflow.errors import InputError
from myoflow.preprocess.fov import FovTransform, fov_profile_record, fov_record
from myoflow.preprocess.intensity import normalise_series
from myoflow.preprocess.temporal import ACQUIRED
from myoflow.record import SliceRecord

# The brief's bound for a landmark round trip; float64 offsets make it ~1e-13 mm in fact.
ROUND_TRIP_MM = 1e-6

# (source rows, cols), (row, col) spacing, field of view: odd sizes, non-square pixels, padding
# on both axes, cropping on both, and one of each.
CASES = [
    ((37, 50), (1.4, 1.0), 44),  # rows padded by 7 (3 before), columns cropped by 6
    ((23, 31), (1.0, 1.25), 40),  # both padded, odd amounts
    ((61, 45), (0.9, 1.3), 33),  # both cropped, odd amounts
]


def _record(make_record: RecordFactory, shape: tuple[int, int], spacing: tuple[float, float]):
    sy, sx = spacing
    centre = ((shape[1] - 1) * sx / 2 + 1.0, (shape[0] - 1) * sy / 2 - 1.0)
    return make_record(
        shape=shape, spacing=spacing, n_frames=12, center_mm=centre, radii_mm=(6.0, 10.0)
    )


@pytest.mark.parametrize("shape, spacing, size", CASES)
def test_round_trip_to_the_source_is_exact(
    make_record: RecordFactory, shape: tuple[int, int], spacing: tuple[float, float], size: int
) -> None:
    rec = _record(make_record, shape, spacing)
    out = fov_record(rec, size)
    t = FovTransform.from_record(out)
    assert out.image_shape == (size, size) and out.pixel_spacing_mm == rec.pixel_spacing_mm
    assert t == FovTransform(shape, spacing, size)

    back = t.to_source_mm(out.landmarks, axis=1)
    assert np.max(np.abs(back - rec.landmarks)) <= ROUND_TRIP_MM
    rv = t.to_source_mm(out.rv_insertion_mm)
    assert np.max(np.abs(rv - rec.rv_insertion_mm)) <= ROUND_TRIP_MM

    # Arrays: what the field of view keeps comes back bit for bit, the rest is zero.
    kept = t.to_source_array(np.ones((size, size), bool))
    for name in ("mask", "displacement", "cine", "tagged"):
        source, carried = getattr(rec, name), t.to_source_array(getattr(out, name))
        assert np.array_equal(carried[..., kept], source[..., kept]), name
        assert not carried[..., ~kept].any(), name
    assert kept.sum() == min(shape[0], size) * min(shape[1], size)
    assert out.mask.sum() == rec.mask[..., kept].sum(), "no myocardium invented by the padding"


@pytest.mark.parametrize("shape, spacing, size", CASES)
def test_landmarks_stay_on_their_pixels(
    make_record: RecordFactory, shape: tuple[int, int], spacing: tuple[float, float], size: int
) -> None:
    rec = _record(make_record, shape, spacing)
    out = fov_record(rec, size)
    rows, cols = FovTransform(shape, spacing, size).offset_px
    sy, sx = spacing

    def pixel(lm: np.ndarray) -> np.ndarray:  # fractional (row, col) of every landmark
        return np.stack([lm[:, 1] / sy, lm[:, 0] / sx])

    # The same shift as the pixels, in pixels; 1e-9 px is float64 rounding of mm / spacing.
    np.testing.assert_allclose(
        pixel(out.landmarks) - pixel(rec.landmarks),
        np.broadcast_to(np.array([rows, cols])[:, None, None], (2, 12, 168)),
        atol=1e-9,
    )
    # ...so a landmark sits on the myocardium in the profile exactly where it did in the source.
    r, c = np.rint(pixel(rec.landmarks[:1])).astype(int)
    on_source = rec.mask[0][r, c]
    inside = (r + rows >= 0) & (r + rows < size) & (c + cols >= 0) & (c + cols < size)
    assert np.array_equal(out.mask[0][(r + rows)[inside], (c + cols)[inside]], on_source[inside])
    # Motion is a difference of positions: the shift leaves it unchanged (1e-12 mm: float64
    # rounding of positions of ~100 mm).
    np.testing.assert_allclose(
        out.landmarks - out.landmarks[:1], rec.landmarks - rec.landmarks[:1], rtol=0, atol=1e-12
    )


def test_a_crop_losing_myocardium_is_flagged(make_record: RecordFactory) -> None:
    rec = make_record(
        shape=(40, 60), spacing=(1.0, 1.0), center_mm=(12.0, 20.0), n_frames=6, radii_mm=(5.0, 9.0)
    )
    out = fov_record(rec, 40)  # columns 10..49 kept: the ring (x 3..21) loses its left part
    assert "fov_cropped:40x60->40x40" in out.flags
    cut = [f for f in out.flags if f.startswith("fov_mask_cut:")]
    assert len(cut) == 1 and 0 < float(cut[0].split(":")[1]) < 1
    gone = make_record(
        shape=(40, 90), spacing=(1.0, 1.0), center_mm=(10.0, 20.0), n_frames=6, radii_mm=(4.0, 8.0)
    )
    with pytest.raises(InputError, match="empty"):
        fov_record(gone, 40).validate()  # the whole ring is outside columns 25..64


def _profile(rec: SliceRecord, frames: int = 20, size: int = 64) -> SliceRecord:
    return fov_profile_record(rec, {"size": size, "frames": frames})


def test_short_series_get_empty_frames(make_record: RecordFactory) -> None:
    rec = _record(make_record, (37, 50), (1.4, 1.0))  # 12 frames, 35 ms apart
    out = _profile(rec)
    assert out.n_frames == 20 and out.original_frames == 12
    assert "frames_padded:12->20" in out.flags
    assert out.extras[ACQUIRED].tolist() == [1] * 12 + [0] * 8
    np.testing.assert_allclose(out.frame_times_ms, np.arange(20) * 35.0)  # continues evenly
    assert not out.cine[12:].any() and not out.tagged[12:].any(), "empty frames are zeros"
    # Labels hold the last acquired frame, exactly; acquired frames are unchanged.
    t = FovTransform.from_record(out)
    for name in ("mask", "displacement"):
        carried = t.to_source_array(getattr(out, name))
        kept = t.to_source_array(np.ones((64, 64), bool))
        source = getattr(rec, name)
        assert np.array_equal(carried[:12][..., kept], source[..., kept])
        assert np.array_equal(carried[12:][..., kept], np.repeat(source[-1:], 8, 0)[..., kept])
    np.testing.assert_array_equal(out.landmarks[12:], np.repeat(out.landmarks[11:12], 8, 0))


def test_long_series_keep_their_first_frames(make_record: RecordFactory) -> None:
    rec = make_record(
        shape=(37, 50), spacing=(1.4, 1.0), n_frames=26, center_mm=(25.5, 24.2), radii_mm=(6, 10)
    ).replace(es_frame=22)
    out = _profile(rec)
    assert out.n_frames == 20 and "frames_truncated:26->20" in out.flags
    assert out.extras[ACQUIRED].tolist() == [1] * 20 and out.es_frame is None
    back = FovTransform.from_record(out).to_source_mm(out.landmarks, axis=1)
    assert np.max(np.abs(back - rec.landmarks[:20])) <= ROUND_TRIP_MM
    np.testing.assert_array_equal(out.frame_times_ms, rec.frame_times_ms[:20])


def test_intensity_ignores_the_padding(make_record: RecordFactory) -> None:
    rec = _record(make_record, (23, 31), (1.0, 1.25))
    out = _profile(rec, frames=20, size=64)
    t = FovTransform.from_record(out)
    expected = normalise_series(rec.cine)  # statistics of the acquired pixels and frames alone
    np.testing.assert_array_equal(t.to_source_array(out.cine)[:12], expected)
    assert out.cine.min() == 0.0 and out.cine.max() <= 1.0
    assert not out.cine[:, ~t.to_fov_array(np.ones((23, 31), bool))].any(), "padding stays 0"

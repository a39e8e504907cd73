"""Frame count: resampling over the acquired window, padding, frame 0 untouched, flags kept."""

from __future__ import annotations

import numpy as np
import pytest
from preprocess_records import RecordFactory

from myoflow.errors import InputError
from myoflow.preprocess.temporal import to_frames


def _linear_in_time(rec, slope: float = 0.01):
    """Displacement and landmarks moving linearly in time from frame 0 (u = slope * (t - t0))."""
    t = np.asarray(rec.frame_times_ms) - rec.frame_times_ms[0]
    u = np.broadcast_to((slope * t)[:, None, None, None], rec.displacement.shape).astype(np.float32)
    lm = rec.landmarks[:1] + (slope * t)[:, None, None]
    return rec.replace(displacement=u.copy(), landmarks=lm)


def test_30_to_20_resamples_and_flags(make_record: RecordFactory) -> None:
    rec = make_record(n_frames=30, es_frame=11)
    out = to_frames(rec, 20).validate()
    assert out.n_frames == 20 and out.cine.shape[0] == 20 and out.mask.shape[0] == 20
    assert out.original_frames == 30
    assert "temporal_resampled:30->20" in out.flags
    np.testing.assert_allclose(out.frame_times_ms, np.linspace(0, 29 * 35.0, 20))
    for kind in ("cine", "tagged", "mask", "displacement", "landmarks"):
        np.testing.assert_array_equal(getattr(out, kind)[0], getattr(rec, kind)[0], err_msg=kind)
        np.testing.assert_array_equal(getattr(out, kind)[-1], getattr(rec, kind)[-1], err_msg=kind)
    assert out.ed_frame == 0
    es_time = rec.frame_times_ms[11]
    assert out.es_frame == int(np.argmin(np.abs(out.frame_times_ms - es_time)))


def test_linear_motion_stays_linear_on_uneven_frame_times(make_record: RecordFactory) -> None:
    rec = make_record(n_frames=27)
    times = np.cumsum(np.r_[0.0, np.random.default_rng(3).uniform(20.0, 50.0, 26)])
    rec = _linear_in_time(rec.replace(frame_times_ms=times))
    for frames in (20, 40):
        out = to_frames(rec, frames)
        t = out.frame_times_ms - out.frame_times_ms[0]
        np.testing.assert_allclose(out.displacement[:, 0, 5, 5], 0.01 * t, atol=1e-5)
        np.testing.assert_allclose(
            out.landmarks[:, 1, 17] - rec.landmarks[0, 1, 17], 0.01 * t, atol=1e-9
        )
        assert np.all(out.displacement[0] == 0), "frame 0 is the Lagrangian reference"


def test_short_series_pads_by_repeating_the_last_frame(make_record: RecordFactory) -> None:
    rec = make_record(n_frames=12)
    out = to_frames(rec, 20, mode="pad").validate()
    assert out.n_frames == 20 and out.original_frames == 12
    assert "temporal_padded:12->20" in out.flags
    np.testing.assert_array_equal(out.cine[:12], rec.cine)
    np.testing.assert_array_equal(out.displacement[:12], rec.displacement)
    for k in range(12, 20):
        np.testing.assert_array_equal(out.cine[k], rec.cine[-1])
        np.testing.assert_array_equal(out.mask[k], rec.mask[-1])
        np.testing.assert_array_equal(out.landmarks[k], rec.landmarks[-1])
    np.testing.assert_allclose(out.frame_times_ms, np.arange(20) * 35.0)


def test_short_series_resamples_by_default(make_record: RecordFactory) -> None:
    rec = _linear_in_time(make_record(n_frames=12))
    out = to_frames(rec, 20).validate()
    assert out.flags[-1] == "temporal_resampled:12->20" and out.original_frames == 12
    np.testing.assert_array_equal(out.cine[0], rec.cine[0])
    t = out.frame_times_ms - out.frame_times_ms[0]
    np.testing.assert_allclose(out.displacement[:, 1, 40, 40], 0.01 * t, atol=1e-5)
    assert out.frame_times_ms[-1] == rec.frame_times_ms[-1], "nothing extrapolated"


def test_long_series_is_resampled_even_in_pad_mode(make_record: RecordFactory) -> None:
    out = to_frames(make_record(n_frames=25), 20, mode="pad")
    assert out.flags[-1] == "temporal_resampled:25->20"


def test_masks_take_the_nearest_frame_and_stay_binary(make_record: RecordFactory) -> None:
    rec = make_record(n_frames=30)
    labelled = rec.mask * 0 + (np.arange(30) % 2).astype(np.uint8)[:, None, None]
    labelled[:, 60, 100] = 1  # keep every frame non-empty
    out = to_frames(rec.replace(mask=labelled), 20)
    nearest = [int(np.argmin(np.abs(rec.frame_times_ms - t))) for t in out.frame_times_ms]
    np.testing.assert_array_equal(out.mask[:, 0, 0], np.array(nearest) % 2)
    ed_only = to_frames(rec.replace(mask=rec.mask[:1]), 20)
    assert ed_only.mask.shape[0] == 1, "an ED-only mask has no time axis to resample"


def test_extras_follow_the_frames(make_record: RecordFactory) -> None:
    rec = make_record(n_frames=30)
    curve = np.asarray(rec.frame_times_ms, float) * 2.0
    seg = np.ones(rec.image_shape, np.int16)
    out = to_frames(rec.replace(extras={"global_curve": curve, "aha_segments": seg}), 20)
    np.testing.assert_allclose(out.extras["global_curve"], out.frame_times_ms * 2.0)
    assert out.extras["aha_segments"] is seg, "static maps are untouched"


def test_right_count_is_unchanged_and_single_frame_is_an_error(make_record: RecordFactory) -> None:
    rec = make_record(n_frames=20)
    assert to_frames(rec, 20) is rec
    single = make_record(n_frames=1)
    with pytest.raises(InputError, match="single-frame"):
        to_frames(single, 20)

"""Intensity normalisation: range, robustness, per-series statistics, padding, constant images."""

from __future__ import annotations

import numpy as np
import pytest
from preprocess_records import RecordFactory

from myoflow.errors import InputError
from myoflow.preprocess.intensity import normalise_record, normalise_series


def _series(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.gamma(3.0, 40.0, size=(20, 64, 64)).astype(np.float32)


def test_percentile_output_range_and_clipped_tails() -> None:
    series = _series()
    out = normalise_series(series, "percentile", (1.0, 99.0))
    assert out.dtype == np.float32 and out.min() == 0.0 and out.max() == 1.0
    # About 1 % of the pixels lie beyond each percentile and are clipped to the end of the range.
    assert np.mean(out == 0.0) == pytest.approx(0.01, abs=0.002)
    assert np.mean(out == 1.0) == pytest.approx(0.01, abs=0.002)
    lo, hi = np.percentile(series, [1, 99])
    mid = (series > lo) & (series < hi)
    np.testing.assert_allclose(out[mid], (series[mid] - lo) / (hi - lo), atol=1e-6)


def test_statistics_are_per_series_not_per_frame() -> None:
    series = _series()
    series[10:] *= 0.5  # tag fading: later frames darker
    out = normalise_series(series, "percentile")
    assert out[10:].mean() < 0.7 * out[:10].mean(), "the fading survives"


def test_zscore_has_zero_mean_and_unit_sd() -> None:
    out = normalise_series(_series(), "zscore")
    assert out.mean() == pytest.approx(0.0, abs=1e-5)
    assert out.std() == pytest.approx(1.0, abs=1e-5)


def test_padding_is_left_out_of_the_statistics_and_stays_zero() -> None:
    series = _series()
    region = np.ones(series.shape[1:], bool)
    region[:, :20] = False
    padded = series.copy()
    padded[:, ~region] = 0.0
    out = normalise_series(padded, "percentile", region=region)
    np.testing.assert_array_equal(out[:, ~region], 0.0)
    reference = normalise_series(series[:, :, 20:], "percentile")
    np.testing.assert_allclose(out[:, :, 20:], reference, atol=1e-6)


def test_constant_image_is_an_input_error(make_record: RecordFactory) -> None:
    rec = make_record()
    rec = rec.replace(tagged=np.full_like(rec.tagged, 7.0))
    for mode in ("percentile", "zscore"):
        with pytest.raises(InputError, match="image is constant") as err:
            normalise_record(rec, mode)
        assert err.value.subject == rec.subject and "tagged" in err.value.problem


def test_cine_and_tagged_are_normalised_separately(make_record: RecordFactory) -> None:
    rec = make_record()
    out = normalise_record(rec)
    bright = normalise_record(rec.replace(tagged=rec.tagged * 1000.0))
    np.testing.assert_allclose(bright.tagged, out.tagged, atol=1e-6)
    np.testing.assert_array_equal(bright.cine, out.cine)
    for arr in (out.cine, out.tagged):
        assert arr.min() == 0.0 and arr.max() == 1.0

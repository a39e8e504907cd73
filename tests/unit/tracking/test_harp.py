"""HARP against exactly known motion: translations, homogeneous strain, wrapping, fading, noise."""

from __future__ import annotations

import numpy as np
import pytest
from support.tagged import AffineSeries, affine_series, homogeneous, interior, translation

from myoflow.errors import ConfigError
from myoflow.settings import parse
from myoflow.tracking import harp
from myoflow.tracking.spectrum import find_tag_peaks

SIZE = 80
CENTRE = (SIZE - 1) / 2.0


def _track(series: AffineSeries, points: np.ndarray | None = None, **options: float):
    peaks = find_tag_peaks(series.images[0])
    pts = np.empty((0, 2)) if points is None else points
    return harp.track(
        series.images, series.region, pts, peaks, parse(harp.HarpOptions, options, "tracking.harp")
    )


def _errors(series: AffineSeries, out, where: np.ndarray) -> np.ndarray:
    diff = out.displacement - series.displacement
    return np.hypot(diff[:, 0][:, where], diff[:, 1][:, where])


@pytest.mark.parametrize("shift", [(0.4, -0.3), (7.3, -4.1), (-11.0, 2.5)])
def test_translation_recovered_across_wraps(shift: tuple[float, float]) -> None:
    # up to 11 px of motion = more than two 5 px tag periods: the phase wraps repeatedly
    series = affine_series(translation(shift, 12), size=SIZE, period_px=5.0)
    out = _track(series)
    err = _errors(series, out, interior(series))
    assert err.mean() < 0.05 and err.max() < 0.3
    assert np.all(out.displacement[0] == 0.0)


def test_homogeneous_strain_and_harp_deformation_gradient() -> None:
    series = affine_series(homogeneous(0.15, -0.10, 0.08, 10, CENTRE), size=SIZE, period_px=5.0)
    out = _track(series)
    inside = interior(series)
    err = _errors(series, out, inside)
    assert err.mean() < 0.05
    # HARP strain: F from phase gradients alone, no differencing of the displacement
    f_true = np.array([[1.15, 0.08], [0.0, 0.90]])
    f = out.deformation[-1][:, :, inside]
    assert np.nanmedian(f, axis=-1) == pytest.approx(f_true, abs=0.01)
    assert np.all(np.isnan(out.deformation[-1][:, :, ~series.region]))


def test_sub_pixel_points_follow_the_material() -> None:
    series = affine_series(homogeneous(-0.12, 0.2, 0.0, 8, CENTRE), size=SIZE, period_px=4.5)
    points = np.array([[30.3, 41.7], [45.9, 33.2], [CENTRE, CENTRE]])
    out = _track(series, points)
    a, b = np.array([[0.88, 0.0], [0.0, 1.2]]), None
    b = np.array([CENTRE, CENTRE]) - a @ np.array([CENTRE, CENTRE])
    expected = points @ a.T + b
    assert out.points[-1] == pytest.approx(expected, abs=0.05)
    assert np.array_equal(out.points[0], points)


def test_fading_tags_are_still_tracked() -> None:
    # T1 of 60 ms over 11 frames of 20 ms: the tag contrast falls to 3 % of its ED value
    series = affine_series(
        homogeneous(0.1, -0.1, 0.05, 12, CENTRE), size=SIZE, period_px=5.0, t1_ms=60.0
    )
    assert np.exp(-220.0 / 60.0) < 0.03
    err = _errors(series, _track(series), interior(series))
    assert err.mean() < 0.1


def test_noisy_annulus_with_tags_at_an_angle() -> None:
    series = affine_series(
        translation((3.2, -2.4), 10),
        size=SIZE,
        period_px=5.0,
        pattern="1-1",
        angle_deg=20.0,
        snr=20.0,
        annulus=(14.0, 30.0),
    )
    err = _errors(series, _track(series), series.region)
    assert err.mean() < 0.1
    assert np.percentile(err, 95) < 0.3


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"tracking.harp: unknown option.*filter"):
        parse(harp.HarpOptions, {"filter": 0.3}, "tracking.harp")
    with pytest.raises(
        ConfigError, match=r"tracking.harp.filter_width: 0.0 must be greater than 0"
    ):
        parse(harp.HarpOptions, {"filter_width": 0.0}, "tracking.harp")
    with pytest.raises(ConfigError, match=r"tracking.harp.iterations: 'many' is not an integer"):
        parse(harp.HarpOptions, {"iterations": "many"}, "tracking.harp")
    assert parse(harp.HarpOptions, {"iterations": 4}, "tracking.harp").iterations == 4

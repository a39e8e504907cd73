"""SinMod against exactly known motion: sign, translations across wraps, homogeneous strain,
fading, noise, tag angle and pattern, non-orthogonal tags, the output contract and the options.

Measured when written (80 px, 5 px tags, mean end-point error over all frames, inside the region
12 px from the border): translations 0.002-0.005 px (95th percentile <= 0.021), homogeneous strain
0.003-0.007 px (F within 0.0003), 15 % tag contrast 0.006 px, tags at 20 degrees 0.005-0.006 px,
the SNR 20 annulus 0.046 px (whole region); the thresholds leave a margin of several times that.
"""

from __future__ import annotations

import numpy as np
import pytest
from support.tagged import AffineSeries, affine_series, homogeneous, interior, translation

from myoflow.errors import ConfigError
from myoflow.settings import parse
from myoflow.tracking.common import TrackOutput
from myoflow.tracking.sinmod import SinModOptions, track
from myoflow.tracking.spectrum import TagPeaks, find_tag_peaks

SIZE = 80
CENTRE = (SIZE - 1) / 2.0


def _track(series: AffineSeries, points: np.ndarray | None = None, **options: float) -> TrackOutput:
    peaks = find_tag_peaks(series.images[0])
    pts = np.empty((0, 2)) if points is None else points
    return track(
        series.images, series.region, pts, peaks, parse(SinModOptions, options, "tracking.sinmod")
    )


def _errors(series: AffineSeries, out: TrackOutput, where: np.ndarray) -> np.ndarray:
    """End-point errors ``[T, n]`` (px) at the pixels ``where``."""
    diff = out.displacement - series.displacement
    return np.hypot(diff[:, 0][:, where], diff[:, 1][:, where])


def _ramp(
    f_end: np.ndarray, shift_end: tuple[float, float] | np.ndarray, frames: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Affine maps growing linearly from the identity to ``x = F (X - c) + c + shift``."""
    c = np.array([CENTRE, CENTRE])
    maps = []
    for s in np.linspace(0.0, 1.0, frames):
        f = np.eye(2) + s * (np.asarray(f_end) - np.eye(2))
        maps.append((f, c - f @ c + s * np.asarray(shift_end)))
    return maps


def test_a_shift_along_plus_x_gives_plus_x() -> None:
    series = affine_series(translation((0.8, 0.0), 2), size=SIZE, period_px=5.0)
    out = _track(series)
    inside = interior(series)
    assert np.median(out.displacement[1, 0][inside]) == pytest.approx(0.8, abs=0.01)
    assert np.median(out.displacement[1, 1][inside]) == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize(
    "shift, frames",
    [((0.35, -0.6), 4), ((7.3, 0.0), 10), ((0.0, -8.6), 10), ((5.5, 6.2), 12), ((-6.4, 3.1), 10)],
)
def test_translation_recovered_across_wraps(shift: tuple[float, float], frames: int) -> None:
    # up to 8.6 px in steps below 1 px: the phase wraps more than once over 5 px tags
    series = affine_series(translation(shift, frames), size=SIZE, period_px=5.0)
    points = np.array([[30.3, 41.7], [45.9, 33.2], [CENTRE, CENTRE]])
    out = _track(series, points)
    err = _errors(series, out, interior(series))
    assert err.mean() < 0.03 and np.percentile(err, 95) < 0.1
    assert out.points[-1] == pytest.approx(points + np.asarray(shift), abs=0.05)


def test_frame_to_frame_steps_alone_follow_strain() -> None:
    # no drift correction: the Lagrangian sum of image-grid steps, each applied at the midpoint
    # of the point's path (0.020 px; moving by the step at the start point instead gives 0.052)
    series = affine_series(homogeneous(0.25, -0.2, 0.0, 8, CENTRE), size=SIZE, period_px=5.0)
    err = _errors(series, _track(series, correction_passes=0), interior(series))
    assert err.mean() < 0.035


@pytest.mark.parametrize(
    "strain_xx, strain_yy, shear",
    [(0.15, 0.0, 0.0), (0.0, -0.10, 0.0), (0.0, 0.0, 0.15), (0.12, -0.08, 0.1)],
)
def test_homogeneous_strain_and_its_deformation_gradient(
    strain_xx: float, strain_yy: float, shear: float
) -> None:
    series = affine_series(
        homogeneous(strain_xx, strain_yy, shear, 10, CENTRE), size=SIZE, period_px=5.0
    )
    out = _track(series)
    inside = interior(series)
    err = _errors(series, out, inside)
    assert err.mean() < 0.03 and np.percentile(err, 95) < 0.1
    # F from the tracked field: least squares of x = F X + b over the interior at the last frame
    rows, cols = np.nonzero(inside)
    design = np.stack([cols, rows, np.ones(len(rows))], axis=1).astype(float)
    moved = design[:, :2] + out.displacement[-1][:, rows, cols].T
    fit = np.linalg.lstsq(design, moved, rcond=None)[0]
    f_true = np.array([[1.0 + strain_xx, shear], [0.0, 1.0 + strain_yy]])
    assert fit[:2].T == pytest.approx(f_true, abs=0.003)


def test_fading_tags_are_still_tracked() -> None:
    # T1 95 ms over 9 intervals of 20 ms: the tag contrast at the last frame is ~15 % of ED's
    series = affine_series(
        _ramp(np.array([[1.08, 0.04], [0.0, 0.94]]), (4.0, -5.0), 10),
        size=SIZE,
        period_px=5.0,
        t1_ms=95.0,
    )
    inside = interior(series)
    contrast = series.images[-1][inside].std() / series.images[0][inside].std()
    assert 0.1 < contrast < 0.2
    out = _track(series)
    err = _errors(series, out, inside)
    assert err.mean() < 0.03 and np.percentile(err, 95) < 0.1
    assert out.diagnostics["tag_power_ratio_last"] < 0.05


def test_noisy_annulus_stays_sub_pixel() -> None:
    r_in, r_out = 16.0, 32.0
    f, shift = np.array([[1.1, 0.05], [0.0, 0.92]]), np.array([3.0, 2.5])
    series = affine_series(
        _ramp(f, shift, 10),
        size=SIZE,
        period_px=5.0,
        snr=20.0,
        annulus=(r_in, r_out),
        seed=4,
    )
    # points on the inner and outer borders of the tracked ring, like endo/epi landmarks
    angles = np.linspace(0.0, 2.0 * np.pi, 12, endpoint=False)
    radii = np.repeat([[r_in + 1.0], [r_out - 1.0]], 12, axis=1).ravel()
    unit = np.stack([np.cos(np.tile(angles, 2)), np.sin(np.tile(angles, 2))], axis=1)
    points = CENTRE + radii[:, None] * unit
    out = _track(series, points)
    err = _errors(series, out, series.region)
    assert err.mean() < 0.15 and np.percentile(err, 95) < 0.4
    expected = (points - CENTRE) @ f.T + CENTRE + shift
    assert np.abs(out.points[-1] - expected).max() < 0.5


@pytest.mark.parametrize("pattern", ["1-1", "1-3-3-1"])
def test_tags_at_20_degrees_with_either_pattern(pattern: str) -> None:
    series = affine_series(
        _ramp(np.array([[0.9, -0.06], [0.05, 1.12]]), (-4.5, 5.2), 10),
        size=SIZE,
        period_px=5.0,
        pattern=pattern,
        angle_deg=20.0,
    )
    peaks = find_tag_peaks(series.images[0])
    assert sorted(round(a % 180.0) for a in peaks.angles_deg) == [20, 110]
    err = _errors(series, _track(series), interior(series))
    assert err.mean() < 0.03 and np.percentile(err, 95) < 0.1


def test_non_orthogonal_tags_are_combined_exactly() -> None:
    # a grid of two cosines 70 degrees apart, translated; the 2x2 solve must not assume 90
    k = np.array([[0.2, 0.0], [0.2 * np.cos(np.radians(70.0)), 0.2 * np.sin(np.radians(70.0))]])
    rows, cols = np.indices((SIZE, SIZE), dtype=float)
    shifts = np.linspace(0.0, 1.0, 10)[:, None] * np.array([4.2, -3.4])
    images = np.stack(
        [
            (1.0 + np.cos(2 * np.pi * (k[0, 0] * (cols - sx) + k[0, 1] * (rows - sy))))
            * (1.0 + np.cos(2 * np.pi * (k[1, 0] * (cols - sx) + k[1, 1] * (rows - sy))))
            for sx, sy in shifts
        ]
    ).astype(np.float32)
    region = np.zeros((SIZE, SIZE), bool)
    region[12:-12, 12:-12] = True
    peaks = TagPeaks(k, (1.0, 1.0))
    # without drift correction too: the passes would otherwise iterate a wrong solve into place
    for passes in (0, 3):
        options = SinModOptions(correction_passes=passes)
        out = track(images, region, np.empty((0, 2)), peaks, options)
        got = out.displacement[-1][:, region]
        assert got.mean(axis=1) == pytest.approx([4.2, -3.4], abs=0.02)


def test_output_contract() -> None:
    series = affine_series(
        translation((2.0, -1.0), 5), size=SIZE, period_px=5.0, annulus=(14.0, 30.0)
    )
    points = np.array([[CENTRE + 20.0, CENTRE], [CENTRE, CENTRE - 22.5]])
    out = _track(series, points)
    assert out.displacement.shape == (5, 2, SIZE, SIZE)
    assert out.displacement.dtype == np.float32
    assert np.all(out.displacement[0] == 0.0)
    assert np.all(out.displacement[:, :, ~series.region] == 0.0)
    assert out.points.shape == (5, 2, 2) and np.array_equal(out.points[0], points)
    assert set(out.diagnostics) >= {"residual_mean_px", "residual_max_px", "step_max_px"}
    assert all(isinstance(v, float) and np.isfinite(v) for v in out.diagnostics.values())


def _options(given: dict) -> SinModOptions:
    return parse(SinModOptions, given, "tracking.sinmod")


def test_options_from_dict() -> None:
    assert _options({}) == SinModOptions()
    opts = _options({"window_periods": 0.5, "correction_passes": 1})
    assert (opts.window_periods, opts.correction_passes) == (0.5, 1)
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['window'\].*allowed:.*bandwidth"):
        _options({"window": 0.5})
    with pytest.raises(ConfigError, match=r"tracking.sinmod.bandwidth: 0 must be greater than 0"):
        _options({"bandwidth": 0})
    with pytest.raises(
        ConfigError, match=r"tracking.sinmod.correction_passes: 1.5 is not an integer"
    ):
        _options({"correction_passes": 1.5})
    with pytest.raises(ConfigError, match=r"tracking.sinmod.edge_taper_px: -1 is below"):
        _options({"edge_taper_px": -1})


def test_a_step_over_half_a_period_is_recovered_by_the_backward_path() -> None:
    # 5-px tags wrap at 2.5 px; one step of 3 px (fast filling) between frames 3 and 4, and the
    # series ends back at the ED position, like a cardiac cycle
    shifts = [0.0, 0.5, 1.0, 1.5, 4.5, 3.5, 2.5, 1.5, 0.5, 0.0]
    maps = [(np.eye(2), np.array([s, 0.0])) for s in shifts]
    series = affine_series(maps, size=SIZE, period_px=5.0)
    inside = interior(series)
    peaks = find_tag_peaks(series.images[0])
    pts = np.empty((0, 2))

    def errors(options: SinModOptions) -> np.ndarray:
        out = track(series.images, series.region, pts, peaks, options)
        diff = out.displacement - series.displacement
        return np.hypot(diff[:, 0][:, inside], diff[:, 1][:, inside]).mean(axis=1)

    forward_only = errors(SinModOptions(backward_risk=10.0))
    # forward alone jumps a tag at the fast step: the later frames are about a period off
    assert forward_only[4:9].min() > 1.5
    default = errors(SinModOptions())
    assert default.max() < 0.1, default.round(3)


def test_steps_beyond_half_a_period_are_followed_when_they_grow_gradually() -> None:
    # 5-px tags wrap at 2.5 px; the steps grow to 3 px (a rat's rapid filling at fine tags) but
    # change by at most 0.8 px from one frame to the next, so each is unwrapped by the one
    # before (without that the last two frames were one and two periods off: 5.0 and 10.0 px)
    shifts = np.concatenate([[0.0], np.cumsum([0.5, 1.3, 2.1, 2.9, 3.0])])
    maps = [(np.eye(2), np.array([s, 0.0])) for s in shifts]
    series = affine_series(maps, size=SIZE, period_px=5.0)
    out = _track(series, backward_risk=10.0)  # the forward path alone
    err = _errors(series, out, interior(series))
    assert err.mean() < 0.01 and err.max() < 0.25, err.max(axis=1).round(3)

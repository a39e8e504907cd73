"""SinMod evaluates its fields only where they are read: the step fields at the corners of the
tracked points' bilinear stencils (``_LazyField``), the drift correction at the region's pixels
and the points' stencils (``_EdGrid``), and the backward path's steps from the forward steps'
windowed planes (``_StepFields``). Each must give what the whole-field computation gives."""

from __future__ import annotations

import numpy as np
import pytest
from support.tagged import affine_series, homogeneous, translation

from myoflow.tracking.sinmod import SinModOptions
from myoflow.tracking.sinmod_edgrid import _EdGrid
from myoflow.tracking.sinmod_filters import _LazyField, _StepFields
from myoflow.tracking.spectrum import find_tag_peaks

SIZE = 64
PERIOD = 5.0


def _bilinear(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear values ``[C, N]`` of a whole field ``[C, H, W]``, clamped to its grid: the
    reference, written out per point."""
    _, h, w = field.shape
    out = np.empty((len(field), len(x)), field.dtype)
    for n, (px, py) in enumerate(zip(np.clip(x, 0, w - 1), np.clip(y, 0, h - 1), strict=True)):
        x0, y0 = min(int(px), w - 2), min(int(py), h - 2)
        fx, fy = np.float32(px - x0), np.float32(py - y0)
        top = field[:, y0, x0] + fx * (field[:, y0, x0 + 1] - field[:, y0, x0])
        bottom = field[:, y0 + 1, x0] + fx * (field[:, y0 + 1, x0 + 1] - field[:, y0 + 1, x0])
        out[:, n] = top + fy * (bottom - top)
    return out


def test_a_lazy_field_samples_what_the_whole_field_gives_and_evaluates_each_pixel_once() -> None:
    rng = np.random.default_rng(0)
    planes = rng.standard_normal((3, 20, 30)).astype(np.float32)
    evaluated: list[int] = []

    def evaluate(values: np.ndarray) -> np.ndarray:
        evaluated.append(values.shape[1])
        return np.stack([values[0] * values[1], np.sin(values[2])])

    whole = evaluate(planes.reshape(3, -1)).reshape(2, 20, 30)
    evaluated.clear()
    lazy = _LazyField(planes, evaluate)
    # inside, on the last row and column, beyond every edge (clamped), and on exact pixels
    x = np.concatenate([rng.uniform(0, 29, 40), [29.0, 0.0, -3.0, 35.0, 12.0], [7.0]])
    y = np.concatenate([rng.uniform(0, 19, 40), [5.5, 19.0, 4.2, -1.0, 25.0], [3.0]])
    for shift in (0.0, 0.6, 0.0):  # a second and a third look, partly at the same pixels
        assert np.array_equal(lazy.sample(x + shift, y), _bilinear(whole, x + shift, y))
    assert sum(evaluated) == int(lazy.done.sum()) < planes[0].size


def _series_and_peaks(maps: list) -> tuple[np.ndarray, np.ndarray]:
    series = affine_series(maps, size=SIZE, period_px=PERIOD)
    return series, np.asarray(find_tag_peaks(series.images[0]).k, float)


def test_a_step_the_other_way_round_from_the_kept_planes_equals_the_step_computed_anew() -> None:
    series, k = _series_and_peaks(homogeneous(0.12, -0.08, 0.05, 4, (SIZE - 1) / 2.0))
    k0 = np.hypot(k[:, 0], k[:, 1])
    options = SinModOptions()
    to_xy = np.linalg.inv(k / k0[:, None]).astype(np.float32)
    sigmas = options.window_periods / k0

    def fields() -> _StepFields:
        return _StepFields(series.images.astype(np.float32), k, to_xy, sigmas, options)

    y, x = (a.ravel().astype(float) + 0.3 for a in np.mgrid[8 : SIZE - 8, 8 : SIZE - 8])
    reused = fields()
    forward = reused.field(1, 2).sample(x, y)
    backward = reused.field(2, 1).sample(x, y)  # from the planes of the step 1 -> 2
    anew = fields().field(2, 1).sample(x, y)
    # the float32 rounding of the transforms only: far below 1e-5 of a tag period
    assert np.abs(backward - anew).max() < 1e-5 * PERIOD
    assert np.abs(backward + forward).max() < 1e-5 * PERIOD  # and it is the step reversed


def _grid(series, k: np.ndarray, points: np.ndarray) -> _EdGrid:
    k0 = np.hypot(k[:, 0], k[:, 1])
    options = SinModOptions()
    to_xy = np.linalg.inv(k / k0[:, None]).astype(np.float32)
    frame0 = series.images[0].astype(np.float32)
    return _EdGrid(frame0, series.region, points, k, to_xy, options.window_periods / k0, options)


def test_the_correction_at_points_on_region_pixels_is_the_correction_at_those_pixels() -> None:
    series, k = _series_and_peaks(translation((0.6, -0.4), 2))
    rows, cols = np.nonzero(series.region)
    pick = np.arange(0, len(rows), 37)
    points = np.stack([cols[pick], rows[pick]], axis=1).astype(float)
    grid = _grid(series, k, points)
    values = series.images[1].astype(np.float32)[rows, cols]
    field, _ = grid.residual(values)
    # the bilinear read of the points and the region's own pixels are two paths to one field
    assert np.array_equal(grid.at_points(field), grid.at_region(field)[:, pick])
    # and that field is the frame's shift: the correction moves the ED positions onto it
    assert np.median(grid.at_region(field), axis=1) == pytest.approx([0.6, -0.4], abs=0.02)


def test_ed_against_itself_needs_no_correction() -> None:
    series, k = _series_and_peaks(translation((0.0, 0.0), 2))
    rows, cols = np.nonzero(series.region)
    grid = _grid(series, k, np.array([[30.4, 28.7], [20.0, 41.5]]))
    field, power_ratio = grid.residual(series.images[0].astype(np.float32)[rows, cols])
    assert np.abs(grid.at_region(field)).max() < 1e-4
    assert np.abs(grid.at_points(field)).max() < 1e-4
    assert abs(power_ratio - 1.0) < 1e-5

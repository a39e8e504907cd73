"""Landmark position error: exact on known shifts, by ring and by line, x apart from y."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myoflow.metrics.landmarks import frame_errors, midwall_strain, pooled_errors
from myoflow.tables import LANDMARK_ERROR_COLUMNS

LINES, POINTS, FRAMES = 24, 7, 4
# Every value below is a handful of float64 operations on millimetre-sized numbers.
REL = 1e-12


def _reference() -> np.ndarray:
    """``[T, 2, 168]`` landmarks of a contracting annulus, written point by point so that the
    index convention (line x 7 + point, channel 0 = x) is the test's, not the code's."""
    ref = np.zeros((FRAMES, 2, LINES * POINTS))
    for t in range(FRAMES):
        for line in range(LINES):
            angle = np.deg2rad(15.0 * line)
            for point in range(POINTS):
                radius = (20.0 + 1.5 * point) * (1.0 - 0.05 * t)
                ref[t, 0, line * POINTS + point] = 64.0 + radius * np.cos(angle)
                ref[t, 1, line * POINTS + point] = 60.0 + radius * np.sin(angle)
    return ref


def _rows(table: pd.DataFrame, region: str) -> pd.DataFrame:
    """The per-frame rows of one kind of region, indexed by (frame, region index)."""
    return table[table["region"] == region].set_index(["frame", "region_index"])


def test_columns_and_one_row_per_frame_and_region() -> None:
    ref = _reference()
    table = frame_errors(ref, ref)
    assert list(table.columns) == ["frame", *LANDMARK_ERROR_COLUMNS]
    assert len(table) == FRAMES * (1 + POINTS + LINES)
    counts = table.groupby("region")["region_index"].agg(["count", "min", "max"])
    assert counts.loc["ring"].tolist() == [FRAMES * POINTS, 0, POINTS - 1]
    assert counts.loc["line"].tolist() == [FRAMES * LINES, 0, LINES - 1]
    assert counts.loc["slice"].tolist() == [FRAMES, 0, 0]
    numbers = table[["rmse_mm", "rmse_x_mm", "rmse_y_mm", "mean_distance_mm"]].to_numpy()
    assert (numbers == 0.0).all()


def test_one_displaced_landmark_lands_in_its_ring_and_line() -> None:
    """Only landmark (line 5, point 2) is off, by 3 mm along x: the error belongs to ring 2 and
    line 5 and nowhere else, and the RMSE weighs it by the region's size."""
    ref = _reference()
    pred = ref.copy()
    pred[:, 0, 5 * POINTS + 2] += 3.0
    table = frame_errors(pred, ref)
    rings, lines = _rows(table, "ring"), _rows(table, "line")
    for t in range(FRAMES):
        for ring in range(POINTS):
            expected = 3.0 / np.sqrt(LINES) if ring == 2 else 0.0
            assert rings.loc[(t, ring), "rmse_mm"] == pytest.approx(expected, rel=REL)
        for line in range(LINES):
            expected = 3.0 / np.sqrt(POINTS) if line == 5 else 0.0
            assert lines.loc[(t, line), "rmse_mm"] == pytest.approx(expected, rel=REL)
    whole = _rows(table, "slice").iloc[0]
    assert whole["rmse_mm"] == pytest.approx(3.0 / np.sqrt(LINES * POINTS), rel=REL)
    assert whole["mean_distance_mm"] == pytest.approx(3.0 / (LINES * POINTS), rel=REL)
    assert whole["rmse_x_mm"] == pytest.approx(whole["rmse_mm"], rel=REL)
    assert whole["rmse_y_mm"] == 0.0


def test_a_shift_per_ring_gives_that_ring_its_length() -> None:
    """Ring p moved by (a_p, b_p): ring RMSE |v_p| with its x and y parts; every line holds
    one landmark of each ring, so each line's RMSE is the RMS of the seven shifts."""
    shifts = np.array(
        [[0.3, -0.4], [1.0, 0.0], [0.0, -2.0], [0.6, 0.8], [-1.2, 0.5], [2, 2], [0, 0]]
    )
    ref = _reference()
    pred = ref.copy()
    for line in range(LINES):
        for point in range(POINTS):
            pred[:, :, line * POINTS + point] += shifts[point]
    table = frame_errors(pred, ref)
    rings, lines = _rows(table, "ring"), _rows(table, "line")
    rms_of_shifts = np.sqrt(np.mean(np.sum(shifts**2, axis=1)))
    for t in range(FRAMES):
        for ring, (a, b) in enumerate(shifts):
            row = rings.loc[(t, ring)]
            assert row["rmse_mm"] == pytest.approx(np.hypot(a, b), rel=REL, abs=1e-15)
            assert row["mean_distance_mm"] == pytest.approx(np.hypot(a, b), rel=REL, abs=1e-15)
            assert row["rmse_x_mm"] == pytest.approx(abs(a), rel=REL, abs=1e-15)
            assert row["rmse_y_mm"] == pytest.approx(abs(b), rel=REL, abs=1e-15)
        for line in range(LINES):
            assert lines.loc[(t, line), "rmse_mm"] == pytest.approx(rms_of_shifts, rel=REL)


def test_a_shift_per_line_gives_that_line_its_length() -> None:
    """Line l moved along y by 0.1 l mm: line RMSE 0.1 l; each ring holds one landmark of
    every line, so each ring's RMSE is the RMS over lines and its mean distance the mean."""
    ref = _reference()
    pred = ref.copy()
    for line in range(LINES):
        pred[:, 1, line * POINTS : (line + 1) * POINTS] += 0.1 * line
    table = frame_errors(pred, ref)
    lines, rings = _rows(table, "line"), _rows(table, "ring")
    sizes = 0.1 * np.arange(LINES)
    for line in range(LINES):
        row = lines.loc[(2, line)]
        assert row["rmse_mm"] == pytest.approx(sizes[line], rel=REL, abs=1e-15)
        assert row["rmse_y_mm"] == pytest.approx(sizes[line], rel=REL, abs=1e-15)
        assert row["rmse_x_mm"] == 0.0
    for ring in range(POINTS):
        expected = np.sqrt(np.mean(sizes**2))
        assert rings.loc[(2, ring), "rmse_mm"] == pytest.approx(expected, rel=REL)
        assert rings.loc[(2, ring), "mean_distance_mm"] == pytest.approx(sizes.mean(), rel=REL)


def test_pooled_rmse_is_over_all_landmark_frames_not_a_mean_of_rmses() -> None:
    """Frame t moved by t x (0.3, 0.4) mm (0.5 t mm): frame RMSE 0.5 t, pooled RMSE
    0.5 sqrt(mean t^2), pooled mean distance 0.5 mean t."""
    ref = _reference()
    t = np.arange(FRAMES, dtype=float)
    pred = ref + (t[:, None] * np.array([0.3, 0.4]))[:, :, None]
    per_frame = _rows(frame_errors(pred, ref), "slice")
    for frame in range(FRAMES):
        assert per_frame.loc[(frame, 0), "rmse_mm"] == pytest.approx(0.5 * frame, rel=REL)
    pooled = pooled_errors(pred, ref)
    assert list(pooled.columns) == ["n_frames", *LANDMARK_ERROR_COLUMNS]
    assert len(pooled) == 1 + POINTS + LINES and (pooled["n_frames"] == FRAMES).all()
    assert pooled["rmse_mm"].to_numpy() == pytest.approx(0.5 * np.sqrt(np.mean(t**2)), rel=REL)
    assert pooled["rmse_x_mm"].to_numpy() == pytest.approx(0.3 * np.sqrt(np.mean(t**2)), rel=REL)
    assert pooled["mean_distance_mm"].to_numpy() == pytest.approx(0.5 * t.mean(), rel=REL)


def test_valid_frames_skip_unknown_references() -> None:
    """A reference known at ED and frame 2 only (NaN elsewhere) is scored on those frames."""
    ref = _reference()
    pred = ref + 1.0  # (1, 1) mm everywhere: sqrt(2) mm
    ref[[1, 3]] = np.nan
    valid = np.array([True, False, True, False])
    table = frame_errors(pred, ref, valid)
    assert sorted(set(table["frame"])) == [0, 2]
    pooled = pooled_errors(pred, ref, valid)
    assert (pooled["n_frames"] == 2).all()
    assert pooled["rmse_mm"].to_numpy() == pytest.approx(np.sqrt(2.0), rel=REL)


def test_wrong_layouts_raise() -> None:
    ref = _reference()
    points_last = ref.transpose(0, 2, 1)  # [T, 168, 2]: the layout the record does not use
    with pytest.raises(ValueError, match=r"\[T, 2, 168\]"):
        frame_errors(points_last, points_last)
    with pytest.raises(ValueError, match="predicted landmarks"):
        frame_errors(ref[:, :, :100], ref)


def test_bad_frames_raise() -> None:
    ref = _reference()
    with pytest.raises(ValueError, match="bool"):
        frame_errors(ref, ref, np.array([1, 0, 1, 0]))
    with pytest.raises(ValueError, match="no valid frame"):
        pooled_errors(ref, ref, np.zeros(FRAMES, bool))
    pred = ref.copy()
    pred[1, 0, 10] = np.nan
    with pytest.raises(ValueError, match=r"valid frame\(s\) \[1\]"):
        frame_errors(pred, ref)


# ------------------------------------------------------------------------- mid-wall strain


def _ring(
    mid_radius: float, thickness: float, centre: tuple[float, float] = (64.0, 60.0)
) -> np.ndarray:
    """``[2, 168]`` landmarks on 24 lines 15 degrees apart, 7 points evenly from
    ``mid_radius - thickness / 2`` (endocardium) to ``mid_radius + thickness / 2``."""
    out = np.zeros((2, LINES * POINTS))
    for line in range(LINES):
        angle = np.deg2rad(15.0 * line)
        for point in range(POINTS):
            radius = mid_radius + thickness * (point / (POINTS - 1) - 0.5)
            out[0, line * POINTS + point] = centre[0] + radius * np.cos(angle)
            out[1, line * POINTS + point] = centre[1] + radius * np.sin(angle)
    return out


def test_midwall_ring_shortened_to_0_8_is_ecc_minus_0_2_exactly() -> None:
    # mid-wall circumference x 0.8, wall thickness x 1.3, and the ring moved: strain ignores it
    marks = np.stack([_ring(24.5, 9.0), _ring(0.8 * 24.5, 1.3 * 9.0, (66.0, 57.0))])
    ecc, err = midwall_strain(marks)
    assert ecc.shape == err.shape == (2,)
    assert ecc[0] == 0.0 and err[0] == 0.0
    assert ecc[1] == pytest.approx(-0.2, rel=REL)
    assert err[1] == pytest.approx(0.3, rel=REL)


def test_midwall_err_of_known_radial_moves() -> None:
    """Endocardium 1 mm inward, epicardium 0.5 mm outward on every line: thickness 9 -> 10.5
    mm, Err = 1.5 / 9; the mid-wall point stays, so Ecc = 0."""
    ed = _ring(24.5, 9.0)
    es = ed.copy()
    centre = np.array([[64.0], [60.0]])
    for point, move in ((0, -1.0), (POINTS - 1, 0.5)):
        index = np.arange(LINES) * POINTS + point
        direction = ed[:, index] - centre
        direction /= np.hypot(*direction)
        es[:, index] += move * direction
    ecc, err = midwall_strain(np.stack([ed, es]))
    assert ecc[1] == pytest.approx(0.0, abs=1e-12)
    assert err[1] == pytest.approx(1.5 / 9.0, rel=REL)


def test_midwall_strain_refuses_bad_landmarks() -> None:
    with pytest.raises(ValueError, match=r"\[T, 2, 168\]"):
        midwall_strain(np.zeros((3, 2, 167)))
    marks = np.stack([_ring(24.5, 9.0)] * 2)
    marks[1, 0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        midwall_strain(marks)
    with pytest.raises(ValueError, match="perimeter"):
        midwall_strain(np.zeros((2, 2, 168)))

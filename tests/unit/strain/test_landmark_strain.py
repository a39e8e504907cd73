"""Landmark strain (paper 003): exact on analytic motions of landmarks placed on circles.

The ED configuration is 24 lines x 7 points on concentric circles (endocardium 20 mm, epicardium
30 mm). Expected values come from the motion itself (F, the radii), never from running the code.
"""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.record import LANDMARK_LINES, LANDMARK_POINTS, N_LANDMARKS
from myoflow.strain.aha import landmark_line_angles_deg
from myoflow.strain.landmark_strain import (
    aha_assignment,
    engineering_strain,
    green_strain,
    radial_lengths,
    ring_lengths,
    segment_strain,
    slice_strain,
    strain_columns,
)
from myoflow.tables import STRAIN_CURVES

CENTRE = np.array([61.0, 48.5])
RADII = np.linspace(20.0, 30.0, LANDMARK_POINTS)
ANGLES = 37.0 + 15.0 * np.arange(LANDMARK_LINES)
RING_POINTS = {"endo": 1, "mid": 3, "epi": 5}
PARTS = ["err", "ecc_endo", "ecc_mid", "ecc_epi", "ecc"]


def _circles(radii: np.ndarray, angles_deg: np.ndarray = ANGLES) -> np.ndarray:
    """``[T, 2, 168]`` landmarks: point p of line k at radius ``radii[t, p]``, angle ``k``."""
    radii = np.atleast_2d(radii)
    ang = np.radians(angles_deg)[None, :, None]
    x = CENTRE[0] + radii[:, None, :] * np.cos(ang)  # [T, line, point]
    y = CENTRE[1] + radii[:, None, :] * np.sin(ang)
    return np.stack([x, y], axis=1).reshape(len(radii), 2, N_LANDMARKS)


def _affine(ed: np.ndarray, matrices: list[np.ndarray], shifts: list[np.ndarray]) -> np.ndarray:
    """Frames ``F_t X + c_t`` of the ED landmarks ``[1, 2, 168]``."""
    return np.stack([m @ ed[0] + c[:, None] for m, c in zip(matrices, shifts, strict=True)])


def _segment_vectors(ed: np.ndarray) -> dict[str, np.ndarray]:
    """ED vectors ``[24, 2]`` of the radial segments and of each ring's segments, by definition."""
    grid = ed[0].reshape(2, LANDMARK_LINES, LANDMARK_POINTS)
    out = {"radial": (grid[:, :, 6] - grid[:, :, 0]).T}
    for p in range(LANDMARK_POINTS):
        out[p] = (np.roll(grid[:, :, p], -1, axis=1) - grid[:, :, p]).T
    return out


def test_uniform_scaling_gives_the_same_green_strain_everywhere() -> None:
    ed = _circles(RADII)
    scales = [1.0, 1.1, 0.8]
    shifts = [np.zeros(2), np.array([3.0, -2.0]), np.array([-1.5, 4.0])]
    marks = _affine(ed, [s * np.eye(2) for s in scales], shifts)
    expected = np.array([(s**2 - 1.0) / 2.0 for s in scales])[:, None]
    np.testing.assert_allclose(
        green_strain(radial_lengths(marks)), np.broadcast_to(expected, (3, 24)), atol=1e-12
    )
    for p in range(LANDMARK_POINTS):
        np.testing.assert_allclose(
            green_strain(ring_lengths(marks, p)), np.broadcast_to(expected, (3, 24)), atol=1e-12
        )
    np.testing.assert_allclose(
        engineering_strain(radial_lengths(marks)),
        np.broadcast_to(np.array(scales)[:, None] - 1.0, (3, 24)),
        atol=1e-12,
    )
    table = slice_strain(marks)
    for name in PARTS:
        np.testing.assert_allclose(table[f"{name}_green"], expected[:, 0], atol=1e-12)
        np.testing.assert_allclose(table[f"{name}_eng"], np.array(scales) - 1.0, atol=1e-12)


@pytest.mark.parametrize(
    "matrix", [np.array([[1.1, 0.2], [-0.1, 0.9]]), np.array([[0.85, -0.05], [0.12, 1.07]])]
)
def test_general_homogeneous_deformation_gives_n_e_n_per_segment(matrix: np.ndarray) -> None:
    ed = _circles(RADII)
    marks = _affine(ed, [np.eye(2), matrix], [np.zeros(2), np.array([2.0, 1.0])])
    e = 0.5 * (matrix.T @ matrix - np.eye(2))
    vectors = _segment_vectors(ed)

    def normal_strain(v: np.ndarray) -> np.ndarray:
        n = v / np.linalg.norm(v, axis=1, keepdims=True)
        return np.einsum("si,ij,sj->s", n, e, n)

    got = green_strain(radial_lengths(marks))
    np.testing.assert_allclose(got[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(got[1], normal_strain(vectors["radial"]), atol=1e-12)
    for p in range(LANDMARK_POINTS):
        np.testing.assert_allclose(
            green_strain(ring_lengths(marks, p))[1], normal_strain(vectors[p]), atol=1e-12
        )
    # The slice value is the mean of the per-segment strains.
    row = slice_strain(marks, "green").iloc[1]
    assert row["err_green"] == pytest.approx(normal_strain(vectors["radial"]).mean(), abs=1e-12)
    rings = [normal_strain(vectors[p]).mean() for p in RING_POINTS.values()]
    for name, value in zip(RING_POINTS, rings, strict=True):
        assert row[f"ecc_{name}_green"] == pytest.approx(value, abs=1e-12)
    assert row["ecc_green"] == pytest.approx(np.mean(rings), abs=1e-12)


def test_rigid_motion_gives_zero_strain() -> None:
    ed = _circles(RADII)
    rotations = [np.eye(2)]
    for a in (0.7, -2.1):
        rotations.append(np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]))
    marks = _affine(ed, rotations, [np.zeros(2), np.array([5.0, -3.0]), np.array([-7.0, 2.0])])
    cols = strain_columns()
    np.testing.assert_allclose(slice_strain(marks)[cols], 0.0, atol=1e-12)
    np.testing.assert_allclose(segment_strain(marks, "mid")[cols], 0.0, atol=1e-12)


def test_radial_only_motion_scales_each_ring_with_its_radius() -> None:
    thickened = np.array([16.0, 18.5, 21.0, 23.2, 25.5, 27.6, 29.5])
    thinned = np.array([21.0, 22.4, 24.0, 25.5, 27.0, 28.7, 30.2])
    radii = np.stack([RADII, thickened, thinned])
    marks = _circles(radii)
    ratio = radii / RADII  # chord length of a concentric circle scales with its radius
    for p in range(LANDMARK_POINTS):
        want = np.broadcast_to(((ratio[:, p] ** 2 - 1.0) / 2.0)[:, None], (3, 24))
        np.testing.assert_allclose(green_strain(ring_lengths(marks, p)), want, atol=1e-12)
    wall = (radii[:, 6] - radii[:, 0]) / (RADII[6] - RADII[0])
    np.testing.assert_allclose(
        green_strain(radial_lengths(marks)),
        np.broadcast_to(((wall**2 - 1) / 2)[:, None], (3, 24)),
        atol=1e-12,
    )
    table = slice_strain(marks)
    for name, p in RING_POINTS.items():
        np.testing.assert_allclose(
            table[f"ecc_{name}_green"], (ratio[:, p] ** 2 - 1) / 2, atol=1e-12
        )
        np.testing.assert_allclose(table[f"ecc_{name}_eng"], ratio[:, p] - 1, atol=1e-12)
    np.testing.assert_allclose(table["err_eng"], wall - 1, atol=1e-12)
    assert table.loc[1, "err_green"] > 0 > table.loc[1, "ecc_endo_green"]  # thickening, shortening
    # Subendocardial shortening exceeds subepicardial, as paper 003 reports.
    assert (
        table.loc[1, "ecc_endo_green"]
        < table.loc[1, "ecc_mid_green"]
        < table.loc[1, "ecc_epi_green"]
    )


@pytest.mark.parametrize(
    "point, changed",
    [
        (0, {"err"}),
        (1, {"ecc_endo"}),
        (2, set()),
        (3, {"ecc_mid"}),
        (4, set()),
        (5, {"ecc_epi"}),
        (6, {"err"}),
    ],
)
def test_moving_one_landmark_changes_only_the_segments_it_ends(
    point: int, changed: set[str]
) -> None:
    ed = _circles(RADII)
    marks = np.concatenate([ed, ed])
    marks[1, :, 5 * LANDMARK_POINTS + point] += [0.7, -0.4]  # point `point` of line 5
    radial = radial_lengths(marks)
    moved_radial = np.flatnonzero(~np.isclose(radial[1], radial[0], rtol=0, atol=1e-12))
    assert moved_radial.tolist() == ([5] if point in (0, 6) else [])
    for p in range(LANDMARK_POINTS):
        ring = ring_lengths(marks, p)
        moved = np.flatnonzero(~np.isclose(ring[1], ring[0], rtol=0, atol=1e-12))
        assert moved.tolist() == ([4, 5] if p == point else [])  # lines 4-5 and 5-6
    row = slice_strain(marks).iloc[1]
    for name in ("err", "ecc_endo", "ecc_mid", "ecc_epi"):
        assert (abs(row[f"{name}_green"]) > 1e-6) == (name in changed), name
    assert (abs(row["ecc_green"]) > 1e-6) == bool(changed - {"err"})


def test_ring_closes_from_line_23_to_line_0() -> None:
    ed = _circles(RADII)
    marks = np.concatenate([ed, ed])
    marks[1, :, 0 * LANDMARK_POINTS + 3] += [0.5, 0.5]
    ring = ring_lengths(marks, 3)
    assert np.flatnonzero(~np.isclose(ring[1], ring[0], rtol=0, atol=1e-12)).tolist() == [0, 23]


def test_green_is_engineering_plus_half_its_square() -> None:
    lengths = np.random.default_rng(3).uniform(0.5, 3.0, size=(6, 10))
    e = engineering_strain(lengths)
    g = green_strain(lengths)
    np.testing.assert_allclose(g, e + e**2 / 2, atol=1e-12)
    np.testing.assert_allclose(e, lengths / lengths[0] - 1, atol=1e-12)
    assert np.all(g[0] == 0) and np.all(e[0] == 0)


def test_invalid_input_raises() -> None:
    ed = _circles(RADII)
    with pytest.raises(ValueError, match=r"\[T, 2, 168\]"):
        slice_strain(ed[:, :, :167])
    with pytest.raises(ValueError, match=r"\[T, 2, 168\]"):
        slice_strain(ed[0])
    with pytest.raises(ValueError, match=r"\[T, 2, 168\]"):
        radial_lengths(np.zeros((2, 3, N_LANDMARKS)))
    for frame in (0, 1):
        bad = np.concatenate([ed, ed])
        bad[frame, 1, 40] = np.nan
        with pytest.raises(ValueError, match=rf"NaN or Inf in frame\(s\) \[{frame}\]"):
            slice_strain(bad)
        with pytest.raises(ValueError, match="NaN or Inf"):
            segment_strain(bad, "mid")
    flat = ed.copy()
    flat[0, :, 2 * LANDMARK_POINTS + 6] = flat[0, :, 2 * LANDMARK_POINTS + 0]  # line 2 has no wall
    with pytest.raises(ValueError, match=r"zero length at ED.*radial line\(s\) \[2\]"):
        slice_strain(flat)
    pinched = ed.copy()
    pinched[0, :, 5 * LANDMARK_POINTS + 3] = pinched[0, :, 4 * LANDMARK_POINTS + 3]
    with pytest.raises(ValueError, match=r"zero length at ED.*ring 3 segment\(s\) \[4\]"):
        segment_strain(pinched, "basal")
    with pytest.raises(ValueError, match="zero length"):
        green_strain(np.array([[1.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="kinds"):
        slice_strain(ed, "lagrange")
    with pytest.raises(ValueError, match="position"):
        segment_strain(ed, "middle")
    with pytest.raises(ValueError, match="RV insertion"):
        segment_strain(ed, "mid", rv_insertion_mm=np.zeros(4))
    with pytest.raises(ValueError, match="ring point"):
        ring_lengths(ed, 7)


# Septum toward +x (0 degrees): anterior insertion at 300, inferior at 60 degrees, 120 apart.
RV = CENTRE + 35.0 * np.array([[np.cos(np.radians(a)), np.sin(np.radians(a))] for a in (300, 60)])
# From the mid-septum (line 0) toward the inferior wall, four 15-degree lines per 60-degree
# sector: inferoseptal, inferior, inferolateral, anterolateral, anterior, anteroseptal.
MID_BY_LINE = np.repeat([9, 10, 11, 12, 7, 8], 4)
# Apical: 90-degree sectors, septal (14) centred on the mid-septum, then inferior, lateral, anterior.
APICAL_BY_LINE = np.roll(np.repeat([14, 15, 16, 13], 6), -3)


@pytest.mark.parametrize("rv", [RV, None])
def test_lines_fall_in_the_expected_aha_segments(rv: np.ndarray | None) -> None:
    angles = landmark_line_angles_deg(CENTRE, rv)
    ed = _circles(RADII, angles)
    if rv is not None:
        assert np.cos(np.radians(angles[0])) == pytest.approx(1.0)  # mid-septum at +x
    for position, expected in (
        ("mid", MID_BY_LINE),
        ("basal", MID_BY_LINE - 6),
        ("apical", APICAL_BY_LINE),
    ):
        assign = aha_assignment(ed, position, CENTRE, rv)
        for name in ("err", "ecc_endo", "ecc_mid", "ecc_epi"):
            # A circumferential segment lies between lines k and k + 1: in line k's sector.
            np.testing.assert_array_equal(assign[name], expected, err_msg=f"{position} {name}")
        # The default centroid, the mean of the ED landmarks, is the circles' centre here.
        default = aha_assignment(ed, position, None, rv)
        for name in assign:
            np.testing.assert_array_equal(default[name], assign[name])


def test_segment_strain_agrees_with_the_slice() -> None:
    ed = _circles(RADII, landmark_line_angles_deg(CENTRE, RV))
    scaled = _affine(ed, [np.eye(2), 0.9 * np.eye(2)], [np.zeros(2), np.array([1.0, 2.0])])
    cols = strain_columns()
    whole = slice_strain(scaled)
    per = segment_strain(scaled, "mid", CENTRE, RV)
    assert list(per.columns) == list(whole.columns)
    # The whole-slice strain columns are the project's strain-curve columns.
    assert {"ecc_green", "err_green", "ecc_eng", "err_eng"} <= set(cols) & set(STRAIN_CURVES)
    assert sorted(per["segment"].unique()) == [7, 8, 9, 10, 11, 12]
    for _, group in per.groupby("segment"):
        np.testing.assert_allclose(group[cols].to_numpy(), whole[cols].to_numpy(), atol=1e-12)
    # Under a general F the segments differ, but with 4 lines each their mean is the slice's.
    general = _affine(ed, [np.eye(2), np.array([[1.1, 0.2], [-0.1, 0.9]])], [np.zeros(2)] * 2)
    per = segment_strain(general, "mid", CENTRE, RV, kinds="green")
    means = per.groupby("frame")[strain_columns("green")].mean()
    np.testing.assert_allclose(
        means.to_numpy(),
        slice_strain(general, "green")[strain_columns("green")].to_numpy(),
        atol=1e-12,
    )
    assert per.loc[per["frame"] == 1, "err_green"].std() > 1e-3

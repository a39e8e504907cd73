"""Dense Green-Lagrange strain: exact on homogeneous deformations, zero for rigid motion."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.strain.green import deformation_gradient, green_to_engineering, radial_circumferential

SPACING = (0.4, 0.25)  # deliberately anisotropic (row, col) mm
SHAPE = (48, 64)
CENTRE = np.array([8.0, 9.6])  # (x, y) mm


def _linear_field(matrix: np.ndarray) -> np.ndarray:
    """u = (M - I) X for every pixel: a homogeneous deformation with F = M, as [1+1, 2, H, W]."""
    rows, cols = np.indices(SHAPE, dtype=float)
    pos = np.stack([cols * SPACING[1], rows * SPACING[0]])
    u = np.einsum("ij,jhw->ihw", matrix - np.eye(2), pos)
    return np.stack([np.zeros_like(u), u])


def _polar(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx = cols * SPACING[1] - CENTRE[0]
    dy = rows * SPACING[0] - CENTRE[1]
    ang = np.arctan2(dy, dx)
    return np.stack([np.cos(ang), np.sin(ang)]), np.stack([-np.sin(ang), np.cos(ang)])


@pytest.mark.parametrize(
    "matrix",
    [np.diag([1.1, 0.9]), np.array([[1.05, 0.1], [-0.03, 0.92]]), np.diag([0.8, 0.8])],
)
def test_homogeneous_deformation_gives_exact_strain(matrix: np.ndarray) -> None:
    out = radial_circumferential(_linear_field(matrix), SPACING, CENTRE)
    f = deformation_gradient(_linear_field(matrix), SPACING)[1]
    np.testing.assert_allclose(f, np.broadcast_to(matrix[:, :, None, None], f.shape), atol=1e-12)
    e = 0.5 * (matrix.T @ matrix - np.eye(2))
    rows, cols = np.indices(SHAPE)
    e_r, e_c = _polar(rows, cols)
    err = np.einsum("ihw,ij,jhw->hw", e_r, e, e_r)
    ecc = np.einsum("ihw,ij,jhw->hw", e_c, e, e_c)
    np.testing.assert_allclose(out["err_green"][1], err, atol=1e-12)
    np.testing.assert_allclose(out["ecc_green"][1], ecc, atol=1e-12)
    np.testing.assert_allclose(out["ecc_eng"][1], np.sqrt(1 + 2 * ecc) - 1, atol=1e-12)
    assert np.all(out["err_green"][0] == 0), "frame 0 is the reference"


def test_uniform_scaling_gives_known_engineering_strain() -> None:
    out = radial_circumferential(_linear_field(np.diag([0.8, 0.8])), SPACING, CENTRE)
    np.testing.assert_allclose(out["ecc_eng"][1], -0.2, atol=1e-12)
    np.testing.assert_allclose(out["err_eng"][1], -0.2, atol=1e-12)
    np.testing.assert_allclose(out["ecc_green"][1], (0.8**2 - 1) / 2, atol=1e-12)


@pytest.mark.parametrize("degrees", [5.0, 30.0, 90.0])
def test_pure_rotation_gives_zero_strain(degrees: float) -> None:
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out = radial_circumferential(_linear_field(rot), SPACING, CENTRE)
    for name in ("err_green", "ecc_green", "err_eng", "ecc_eng"):
        np.testing.assert_allclose(out[name], 0.0, atol=1e-12)


def test_mask_keeps_outside_values_out() -> None:
    u = _linear_field(np.diag([1.1, 0.9]))
    mask = np.zeros(SHAPE, bool)
    mask[10:30, 12:40] = True
    corrupted = u.copy()
    corrupted[:, :, ~mask] = 1e6  # garbage outside the myocardium
    clean = radial_circumferential(u, SPACING, CENTRE, mask)
    dirty = radial_circumferential(corrupted, SPACING, CENTRE, mask)
    np.testing.assert_allclose(dirty["ecc_green"][:, mask], clean["ecc_green"][:, mask], atol=1e-12)
    assert np.all(np.isnan(dirty["ecc_green"][:, ~mask]))


def test_isolated_pixel_has_no_strain() -> None:
    mask = np.zeros(SHAPE, bool)
    mask[5, 5] = True
    out = radial_circumferential(_linear_field(np.eye(2) * 1.1), SPACING, CENTRE, mask)
    assert np.isnan(out["ecc_green"][1, 5, 5])


def test_engineering_conversion_inverts_green() -> None:
    stretch = np.linspace(0.5, 1.6, 23)
    green = 0.5 * (stretch**2 - 1)
    np.testing.assert_allclose(green_to_engineering(green), stretch - 1, atol=1e-14)

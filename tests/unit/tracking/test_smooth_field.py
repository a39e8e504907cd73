"""The robust smooth field: exact on its own basis, blind to a minority of gross outliers, and
close to the phantom's exact motion (the property that makes its residual a fair outlier test)."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.methods.tracking_validation.sweep import validation_specs
from myoflow.phantom.cohort import generate
from myoflow.tracking.smooth_field import RIDGE, PolarBasis, robust_fit


def _ring(n: int = 1500, seed: int = 0) -> np.ndarray:
    """``[n, 2]`` points on an annulus of radii 10-16 px around (40, 38)."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0, 2 * np.pi, n)
    radius = rng.uniform(10, 16, n)
    return np.stack([40 + radius * np.cos(theta), 38 + radius * np.sin(theta)], axis=1)


def test_a_field_of_the_basis_is_recovered_exactly() -> None:
    ref = _ring()
    basis = PolarBasis.around(ref)
    design = basis(ref)
    coefficients = np.random.default_rng(1).normal(scale=0.5, size=(design.shape[1], 2))
    fit = robust_fit(design, design @ coefficients)
    np.testing.assert_allclose(fit.coefficients, coefficients, atol=1e-6)
    assert np.all(fit.weights > 0.99)


def test_a_fifth_of_the_points_a_tag_period_off_do_not_move_the_field() -> None:
    ref = _ring()
    design = PolarBasis.around(ref)(ref)
    rng = np.random.default_rng(2)
    coefficients = rng.normal(scale=0.5, size=(design.shape[1], 2))
    truth = design @ coefficients
    values = truth + rng.normal(scale=0.1, size=truth.shape)
    jumped = rng.random(len(ref)) < 0.2
    values[jumped] += np.array([5.0, 0.0])  # one 5-pixel tag period along x
    values[rng.random(len(ref)) < 0.02] = np.nan  # lost points weigh nothing
    fit = robust_fit(design, values)
    assert np.abs(fit.at(design) - truth).max() < 0.1  # the 0.1 px noise, averaged
    assert np.all(fit.weights[jumped] == 0.0)
    assert 0.25 <= fit.scale < 0.3  # the floor: noise of 0.1 px is not called an outlier


@pytest.mark.parametrize(("species", "realism"), [("rat", "ideal"), ("human", "realistic")])
def test_the_phantoms_exact_motion_is_a_smooth_field(species: str, realism: str) -> None:
    """The residual of the fit to the truth is the model error of the regularised output and
    what the checks must tolerate: far below their threshold of 0.3 tag periods (1.5 px at 5 px
    tags). Measured: mean 0.03-0.06 px, worst point 0.15-0.45 px over the four presets."""
    rec = generate(validation_specs(species, 20.0, 5.0, 1, realism=realism)[0])
    rows, cols = np.nonzero(rec.mask[0])
    ref = np.stack([cols, rows], axis=1).astype(float)
    basis = PolarBasis.around(ref)
    design = basis(ref)
    sy, sx = rec.pixel_spacing_mm
    worst, mean = 0.0, 0.0
    for t in range(1, rec.n_frames):
        u = rec.displacement[t][:, rows, cols].T / np.array([sx, sy])
        fit = robust_fit(design, u, penalty=RIDGE * basis.roughness())
        residual = np.hypot(*(u - fit.at(design)).T)
        worst, mean = max(worst, float(residual.max())), max(mean, float(residual.mean()))
    assert mean < 0.1 and worst < 0.6


def test_too_few_points_are_refused() -> None:
    ref = _ring(20)
    with pytest.raises(ValueError, match="needs as many tracked points"):
        robust_fit(PolarBasis.around(ref)(ref), np.zeros((20, 2)))
    with pytest.raises(ValueError, match="no extent"):
        PolarBasis.around(np.ones((5, 2)))

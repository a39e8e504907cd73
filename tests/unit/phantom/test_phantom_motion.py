"""The analytic motion model: timing curve, incompressibility, exact inverse, analytic F."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.phantom.motion import LVMotion, Sector
from myoflow.phantom.timing import TimingCurve

RAT_LIKE = {"center_mm": (16.0, 15.0), "r_endo_mm": 3.5, "r_epi_mm": 5.25}
FULL_MOTION = LVMotion(
    **RAT_LIKE,
    ecc_peak=-0.19,
    long_shortening=0.08,
    twist_deg=6.0,
    rotation_deg=-8.0,
    ellipticity=0.15,
    ellipse_angle_deg=30.0,
    global_scale=0.85,
    sectors=(Sector(0.0, 120.0, 0.4), Sector(200.0, 60.0, 1.2)),  # the second is dyskinetic
)
S_VALUES = (0.0, 0.3, 0.7, 1.0)


def _wall_points(motion: LVMotion, n: int = 4000, seed: int = 0) -> np.ndarray:
    """Random ED points strictly inside the wall (uniform in circular radius and angle)."""
    rng = np.random.default_rng(seed)
    radius = rng.uniform(motion.r_endo_mm, motion.r_epi_mm, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    x, y = motion.from_circular(radius * np.cos(angle), radius * np.sin(angle))
    return np.stack([x, y], axis=-1)


# ------------------------------------------------------------------------------------ timing
def test_timing_rest_at_ed_peak_at_es_and_periodic() -> None:
    for es in (0.42, 0.45, 0.48):
        curve = TimingCurve(es_phase=es)
        s = curve.frames(20)
        assert s[0] == 0.0
        assert 8 <= int(np.argmax(s)) <= 10
        assert curve.value(es) == pytest.approx(1.0)
        assert curve.value(1.0) == pytest.approx(0.0, abs=1e-15)
        assert np.all((s >= 0.0) & (s <= 1.0))


def test_timing_es_frame_is_unique_maximum() -> None:
    """The plateau declines slowly, so argmax finds one ES frame even with a finely sampled cycle."""
    s = TimingCurve(es_phase=0.45).frames(200)
    assert np.sum(s == s.max()) == 1 and int(np.argmax(s)) == 90


def test_timing_is_c1() -> None:
    """The analytic slope is the derivative, and it is continuous: its largest step between
    neighbouring samples shrinks with the sampling step (a jump in the slope would not)."""
    curve = TimingCurve(es_phase=0.44)
    p = np.linspace(0.0, 1.0, 100001)
    numeric = np.gradient(curve.value(p), p[1] - p[0])
    assert np.max(np.abs(numeric[1:-1] - curve.slope(p)[1:-1])) < 1e-3
    coarse = np.max(np.abs(np.diff(curve.slope(np.linspace(0.0, 1.0, 10001)))))
    fine = np.max(np.abs(np.diff(curve.slope(p))))
    assert fine < coarse / 5.0
    knots = curve.knots()[0]
    for side in (-1e-9, 1e-9):
        assert np.max(np.abs(curve.slope(knots + side))) < 1e-6


# ------------------------------------------------------------------------- incompressibility
@pytest.mark.parametrize("s", S_VALUES)
def test_det_f_times_lambda_z_is_one(s: float) -> None:
    pts = _wall_points(FULL_MOTION)
    f = FULL_MOTION.deformation_gradient(pts, s)
    assert np.max(np.abs(np.linalg.det(f) * FULL_MOTION.lambda_z(s) - 1.0)) < 1e-10


@pytest.mark.parametrize("ellipticity", [0.0, 0.1, 0.3])
def test_ellipticity_keeps_incompressibility(ellipticity: float) -> None:
    motion = LVMotion(**RAT_LIKE, twist_deg=4.0, ellipticity=ellipticity, ellipse_angle_deg=70.0)
    pts = _wall_points(motion)
    for s in S_VALUES:
        det = np.linalg.det(motion.deformation_gradient(pts, s))
        assert np.max(np.abs(det * motion.lambda_z(s) - 1.0)) < 1e-10


def test_stretch_product_identity_without_twist_or_sector() -> None:
    """(1+Ecc)(1+Err)(1+Ell) = 1 exactly when there is no shear (no twist, no regional term)."""
    motion = LVMotion(**RAT_LIKE, ecc_peak=-0.17, long_shortening=0.07, rotation_deg=5.0)
    pts = _wall_points(motion)
    for s in S_VALUES:
        st = motion.strain(pts, s)
        product = (1 + st["ecc_eng"]) * (1 + st["err_eng"]) * motion.lambda_z(s)
        assert np.max(np.abs(product - 1.0)) < 1e-12


def test_mid_wall_ecc_equals_target_times_s() -> None:
    motion = LVMotion(**RAT_LIKE, ecc_peak=-0.18, global_scale=0.9, twist_deg=5.0)
    mid = motion.wall_point(np.arange(0.0, 360.0, 7.5), 0.5)
    for s in S_VALUES:
        assert np.allclose(motion.strain(mid, s)["ecc_green"], -0.18 * 0.9 * s, atol=1e-12)


# ------------------------------------------------------------------------------ exact maps
@pytest.mark.parametrize("s", S_VALUES)
def test_forward_and_inverse_are_exact_everywhere(s: float) -> None:
    """All regions (pool, wall, blend zone, rest) invert to float precision."""
    pts = np.random.default_rng(1).uniform(0.0, 32.0, (50000, 2))
    assert np.max(np.abs(FULL_MOTION.forward(FULL_MOTION.inverse(pts, s), s) - pts)) < 1e-9
    assert np.max(np.abs(FULL_MOTION.inverse(FULL_MOTION.forward(pts, s), s) - pts)) < 1e-9


def test_map_is_identity_at_ed_and_beyond_static_radius() -> None:
    pts = np.random.default_rng(2).uniform(0.0, 40.0, (20000, 2))
    assert np.max(np.abs(FULL_MOTION.forward(pts, 0.0) - pts)) < 1e-12
    xc, yc = FULL_MOTION.to_circular(pts[:, 0], pts[:, 1])
    far = np.hypot(xc, yc) > FULL_MOTION.static_radius_mm
    assert far.sum() > 1000
    for s in S_VALUES:
        assert np.max(np.abs(FULL_MOTION.forward(pts[far], s) - pts[far])) < 1e-12


def test_map_is_continuous_across_region_boundaries() -> None:
    """No tearing at the endocardium, epicardium or the end of the blend zone."""
    motion = FULL_MOTION
    angles = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    outer = (1 + motion.blend) * motion.r_epi_mm
    for radius in (motion.r_endo_mm, motion.r_epi_mm, outer):
        for eps in (1e-9,):
            inner = motion.from_circular(
                (radius - eps) * np.cos(angles), (radius - eps) * np.sin(angles)
            )
            outer_pts = motion.from_circular(
                (radius + eps) * np.cos(angles), (radius + eps) * np.sin(angles)
            )
            a = motion.forward(np.stack(inner, -1), 1.0)
            b = motion.forward(np.stack(outer_pts, -1), 1.0)
            assert np.max(np.abs(a - b)) < 1e-6


@pytest.mark.parametrize("s", [0.4, 1.0])
def test_analytic_f_matches_finite_differences_of_forward_map(s: float) -> None:
    pts = _wall_points(FULL_MOTION, 500)
    h = 1e-5  # central differences: truncation ~h^2 |x'''| ~ 1e-10, round-off ~1e-16 * 16 mm / h
    cols = [
        (FULL_MOTION.forward(pts + d, s) - FULL_MOTION.forward(pts - d, s)) / (2 * h)
        for d in (np.array([h, 0.0]), np.array([0.0, h]))
    ]
    numeric = np.stack(cols, axis=-1)
    assert np.max(np.abs(numeric - FULL_MOTION.deformation_gradient(pts, s))) < 1e-7


def test_regional_sector_reduces_contraction_at_its_centre() -> None:
    motion = LVMotion(**RAT_LIKE, sectors=(Sector(0.0, 90.0, 1.0),))
    ecc = motion.strain(motion.wall_point(np.array([0.0, 90.0, 180.0]), 0.5), 1.0)["ecc_green"]
    assert abs(ecc[0]) < 0.02  # akinetic at the centre (only the neighbours' tethering remains)
    assert ecc[1] < ecc[0] and ecc[2] == pytest.approx(-0.18, abs=0.01)


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        LVMotion(center_mm=(0.0, 0.0), r_endo_mm=5.0, r_epi_mm=4.0)
    with pytest.raises(ValueError):
        LVMotion(**RAT_LIKE, ecc_peak=-0.6)  # the endocardium would collapse
    with pytest.raises(ValueError):
        Sector(0.0, 0.0, 0.5)

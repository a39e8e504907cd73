"""Infarct wall thinning (paper 002's advanced stages): the scar's wall is thinner by the drawn
fraction, the exact areas and stack volume follow it, and a cohort without it is unchanged."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from scipy import ndimage
from scipy.special import i0

from myoflow.phantom import anatomy as an
from myoflow.phantom.anatomy import build_anatomy
from myoflow.phantom.cohort import generate, plan
from myoflow.phantom.motion import LVMotion, Sector
from myoflow.phantom.realism import realism
from myoflow.phantom.thinning import Thinning, myocardium_area_mm2

SECTOR = {"center_deg": 20, "width_deg": 90, "severity": 0.9}
ARRAYS = ("cine", "tagged", "mask", "displacement", "landmarks")


def _cohort(thinning: Any = None, **changes: Any) -> dict[str, Any]:
    """A noiseless mouse cohort, half of it with an infarct sector (thinned if ``thinning``)."""
    sector = dict(SECTOR) if thinning is None else {**SECTOR, "thinning": thinning}
    cfg: dict[str, Any] = {
        "species": "mouse",
        "seed": 9,
        "subjects": 2,
        "frames": 4,
        "slices": ["mid"],
        "snr": None,
        "ellipticity": [0.0, 0.15],
        "groups": {"sham": {"count": 1}, "mi": {"count": 1, "sectors": [sector]}},
    }
    cfg.update(changes)
    return cfg


def _thinned(spec) -> bool:
    return any(sec.thinning for sec in spec.motion.sectors)


def _assert_same_records(a_specs: list, b_specs: list) -> None:
    for a, b in zip(a_specs, b_specs, strict=True):
        ra, rb = generate(a), generate(b)
        for key in ARRAYS:
            np.testing.assert_array_equal(getattr(ra, key), getattr(rb, key), err_msg=key)
        for key in ra.extras:
            np.testing.assert_array_equal(ra.extras[key], rb.extras[key], err_msg=key)
        assert ra.covariates == rb.covariates


def test_no_thinning_key_or_zero_is_the_cohort_it_always_was() -> None:
    absent, zero = plan("c", _cohort()), plan("c", _cohort(0))
    assert absent == zero and not any(_thinned(s) for s in absent)
    _assert_same_records(absent, zero)


def test_thinning_changes_nothing_but_the_scar() -> None:
    """Drawn from a stream of its own: every other draw, and the sham subject, stay as they were."""
    plain, thin = plan("c", _cohort()), plan("c", _cohort([0.3, 0.6]))
    assert [_thinned(s) for s in thin] == [s.group == "mi" for s in thin]
    for a, b in zip(plain, thin, strict=True):
        unthinned = tuple(replace(sec, thinning=0.0) for sec in b.motion.sectors)
        assert replace(b, motion=replace(b.motion, sectors=unthinned)) == a
        extra = {k: v for k, v in b.covariates.items() if k not in a.covariates}
        assert extra == ({"sector1_thinning": b.motion.sectors[0].thinning} if _thinned(b) else {})
        assert not _thinned(b) or 0.3 <= extra["sector1_thinning"] <= 0.6
    _assert_same_records(
        [s for s in plain if s.group == "sham"], [s for s in thin if s.group == "sham"]
    )


def test_thinning_is_placed_where_the_motion_places_the_sector() -> None:
    """Both evaluate the von Mises weight at the image angle of the reference ray, also on an
    elliptical LV (where circular and image angles differ)."""
    sector = Sector(30.0, 70.0, 0.8, thinning=0.5)
    motion = LVMotion(
        (0.0, 0.0), 2.0, 3.0, ellipticity=0.3, ellipse_angle_deg=25.0, sectors=(sector,)
    )
    theta = np.linspace(0.0, 2.0 * math.pi, 721)
    m, _ = motion.amplitude(np.cos(theta), np.sin(theta))
    weight = (1.0 - m) / sector.severity
    thinning = Thinning.of(motion)
    assert thinning is not None
    np.testing.assert_allclose(
        thinning.fraction(np.cos(theta), np.sin(theta)), 0.5 * weight, atol=1e-12
    )
    centre = math.radians(motion.circular_angle_deg(30.0))
    assert thinning.fraction(math.cos(centre), math.sin(centre)) == pytest.approx(0.5)
    # several sectors: the larger thinning at each angle, not the sum
    two = Thinning((sector, replace(sector, center_deg=60.0, thinning=0.3)), thinning.a_matrix)
    both = two.fraction(np.cos(theta), np.sin(theta))
    other = Thinning((replace(sector, center_deg=60.0, thinning=0.3),), thinning.a_matrix)
    expected = np.maximum(0.5 * weight, other.fraction(np.cos(theta), np.sin(theta)))
    np.testing.assert_allclose(both, expected, atol=1e-12)
    assert Thinning.of(replace(motion, sectors=(replace(sector, thinning=0.0),))) is None
    with pytest.raises(ValueError, match="thinning"):
        Thinning((replace(sector, thinning=0.95),), thinning.a_matrix)


def test_the_exact_area_matches_the_closed_form_of_one_sector() -> None:
    """On a circular LV the lost area is r0 T W int w + (T W)^2 / 2 int w^2, with the von Mises
    integrals int exp(k (cos - 1)) = 2 pi exp(-k) I0(k): an independent check of the quadrature."""
    r0, r1, t = 1.9, 2.8, 0.55
    sector = Sector(100.0, 80.0, 1.0, thinning=t)
    thinning = Thinning.of(LVMotion((0.0, 0.0), r0, r1, sectors=(sector,)))
    assert thinning is not None
    k, depth = sector.kappa, t * (r1 - r0)
    lost = r0 * depth * 2 * math.pi * math.exp(-k) * i0(k)
    lost += depth**2 / 2 * 2 * math.pi * math.exp(-2 * k) * i0(2 * k)
    ring = math.pi * (r1**2 - r0**2)
    assert myocardium_area_mm2(r0, r1, thinning=thinning) == pytest.approx(ring - lost, rel=1e-12)
    assert myocardium_area_mm2(r0, r1) == pytest.approx(ring)
    assert myocardium_area_mm2(r0, r1, solid=True, thinning=thinning) == pytest.approx(
        math.pi * r1**2
    )


def test_the_scar_band_is_blood_and_the_pool_tissue_stays_inside_r0() -> None:
    spec = next(s for s in plan("c", _cohort(0.6, realism="realistic")) if _thinned(s))
    motion = spec.motion
    fov = spec.imaging.matrix * spec.imaging.pixel_mm
    real = realism("realistic", "mouse")
    anatomy = build_anatomy(
        motion, spec.rv_insertion_deg, spec.rv_width_mm, fov, np.random.default_rng(0), real
    )
    assert anatomy.trabeculae > 0 and anatomy.papillary_angles and anatomy.thinning is not None
    r0, r1 = motion.r_endo_mm, motion.r_epi_mm
    theta, u = np.meshgrid(np.linspace(-math.pi, math.pi, 1440), np.linspace(0.0, 1.0, 200))
    endo = anatomy.thinning.endo_radius(np.cos(theta), np.sin(theta), r0, r1)
    radius = r0 * 0.05 + u * (r1 - r0 * 0.05)  # the pool and the wall
    xc, yc = radius * np.cos(theta), radius * np.sin(theta)
    x, y = motion.from_circular(xc, yc)
    lab = anatomy.labels(xc, yc, radius**2, x, y)
    assert np.all(lab[(radius >= r0) & (radius < endo)] == an.LV_BLOOD)
    assert np.all(lab[(radius > endo) & (radius < r1)] == an.MYOCARDIUM)
    assert not np.any(lab[radius >= r0] == an.PAPILLARY)
    assert np.any(lab[radius < r0] == an.PAPILLARY)
    # no trabecular fingers adrift in the pool where the scar gave up more than their depth
    layer = (radius < r0) & (radius > r0 - anatomy.trabeculae * (r1 - r0))
    lost = anatomy.thinning.fraction(np.cos(theta), np.sin(theta))
    assert np.any(lab[layer & (lost < 0.05)] == an.PAPILLARY)
    assert not np.any(lab[layer & (lost >= anatomy.trabeculae)] == an.PAPILLARY)


def test_the_wall_at_the_sector_centre_is_thinner_by_the_fraction() -> None:
    """Radial mask thickness along the sector's centre ray and the opposite ray at ED, on a
    circular LV at fine pixels (a wall of about 17 pixels)."""
    cfg = _cohort(0.5, ellipticity=0.0, matrix=192, pixel_mm=[0.05, 0.05])
    spec = next(s for s in plan("c", cfg) if _thinned(s))
    rec = generate(spec)
    px = rec.pixel_spacing_mm[0]
    wall = spec.motion.r_epi_mm - spec.motion.r_endo_mm
    sector = spec.motion.sectors[0]
    step = np.arange(0.0, spec.motion.r_epi_mm * 1.3, px / 8)
    for angle, lost in ((sector.center_deg, 0.5), (sector.center_deg + 180.0, None)):
        a = math.radians(angle)
        if lost is None:
            lost = 0.5 * float(sector.weight(np.array(math.cos(a)), np.array(math.sin(a)))[0])
        x = spec.motion.center_mm[0] + step * math.cos(a)
        y = spec.motion.center_mm[1] + step * math.sin(a)
        inside = ndimage.map_coordinates(rec.mask[0], [y / px, x / px], order=0)
        thickness = inside.sum() * px / 8
        assert thickness == pytest.approx((1.0 - lost) * wall, abs=1.5 * px), angle
    # the landmarks span the wall that is drawn: none is left in the scar's cavity
    out = ndimage.distance_transform_edt(rec.mask[0] == 0)
    cols, rows = rec.landmarks[0] / px
    assert ndimage.map_coordinates(out, [rows, cols], order=1).max() <= 1.0


@pytest.fixture(scope="module")
def stacks() -> dict[str, list]:
    """One mouse's stack (noiseless, no voids), without and with a thinned infarct."""
    cfg = _cohort(subjects=1, stack={"void_fraction": 0.0})
    cfg["groups"] = {"mi": {"fraction": 1.0, "sectors": [SECTOR]}}
    thin = {**cfg, "groups": {"mi": {"fraction": 1.0, "sectors": [{**SECTOR, "thinning": 0.5}]}}}
    return {
        name: [generate(spec) for spec in plan("m", c)]
        for name, c in (("plain", cfg), ("thin", thin))
    }


def test_a_thinned_stack_has_exact_areas_and_a_smaller_volume(stacks: dict[str, list]) -> None:
    volumes = {}
    for name, records in stacks.items():
        px = records[0].pixel_spacing_mm[0]
        gap = records[0].covariates["slice_gap_mm"]
        for rec in records:
            area = rec.mask[0].sum() * px * px
            assert area == pytest.approx(rec.covariates["myocardium_area_mm2"], rel=0.02), rec.key
        measured = sum(int(r.mask[0].sum()) for r in records) * px * px * gap / 1000
        truth = records[0].covariates["stack_myocardial_volume_ml"]
        assert measured == pytest.approx(truth, rel=0.02), name
        volumes[name] = (measured, truth)
    (plain_mask, plain), (thin_mask, thin) = volumes["plain"], volumes["thin"]
    assert thin < plain and thin_mask < plain_mask
    # the masks lose what the truth says the scar gave up (a tenth of the volume here)
    assert plain_mask - thin_mask == pytest.approx(plain - thin, rel=0.1)
    # the apex cap is not thinned: its area is the disc's with or without the scar
    for a, b in zip(stacks["plain"], stacks["thin"], strict=True):
        same = a.covariates["solid_apex"]
        assert (a.covariates["myocardium_area_mm2"] == b.covariates["myocardium_area_mm2"]) == same
        if same:
            np.testing.assert_array_equal(a.mask, b.mask)

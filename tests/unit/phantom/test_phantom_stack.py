"""The stack phantom (paper 002): slices from one geometry to a closed apex, exact myocardial
areas and volume, misplacement and signal voids drawn apart from everything else."""

from __future__ import annotations

import math

import numpy as np
import pytest

from myoflow.io.shard_plan import synthetic_plan
from myoflow.io.stacks import subject_stack
from myoflow.phantom.cohort import generate, n_slices, plan, with_defaults
from myoflow.phantom.species import LVGeometry
from myoflow.phantom.stack import (
    CAVITY_MIN,
    CAVITY_OPEN,
    apply_void,
    feasible_motion,
    stack_levels,
    stack_volume_ml,
)

MOUSE = {
    "species": "mouse",
    "subjects": 2,
    "frames": 4,
    "matrix": 128,
    "snr": None,
    "seed": 5,
    "stack": {"void_fraction": 0.0},
}


@pytest.fixture(scope="module")
def stack_records() -> list:
    return [generate(spec) for spec in plan("mice", MOUSE)]


def test_levels_run_from_the_base_to_a_closed_apex() -> None:
    geometry = LVGeometry.from_mid(1.9, 0.85, 2.4)
    levels = stack_levels(geometry, 0.8, 8)
    z = np.array([level.z_mm for level in levels])
    np.testing.assert_allclose(np.diff(z), 0.8)
    assert z[-1] == pytest.approx(geometry.epi_length_mm - 0.2)
    assert [level.slice_id for level in levels] == [str(k) for k in range(8)]
    solid = [level.solid for level in levels]
    assert solid == [zk >= geometry.endo_length_mm for zk in z]
    assert solid[-1] and not solid[0]
    positions = [level.position for level in levels]
    assert positions == sorted(positions, key=["basal", "mid", "apical"].index)
    for level in levels:
        assert level.r_endo_mm >= CAVITY_MIN * level.r_epi_mm - 1e-12
        if level.analytic:
            assert (level.r_endo_mm, level.r_epi_mm) == pytest.approx(geometry.radii_at(level.z_mm))
    # the epicardial radius tapers toward the apex; a disc's area has no cavity
    assert all(np.diff([level.r_epi_mm for level in levels]) < 0)
    cap = levels[-1]
    assert cap.myocardium_area_mm2() == pytest.approx(math.pi * cap.r_epi_mm**2)
    expected = sum(level.myocardium_area_mm2() for level in levels) * 0.8 / 1000
    assert stack_volume_ml(levels, 0.8) == pytest.approx(expected)


def test_masks_agree_with_the_analytic_geometry(stack_records: list) -> None:
    by_subject: dict[str, list] = {}
    for rec in stack_records:
        by_subject.setdefault(rec.subject, []).append(rec)
        area = rec.mask[0].sum() * rec.pixel_spacing_mm[0] * rec.pixel_spacing_mm[1]
        assert area == pytest.approx(rec.covariates["myocardium_area_mm2"], rel=0.02), rec.key
    assert len(by_subject) == 2
    for records in by_subject.values():
        assert len(records) == 8
        gap = records[0].covariates["slice_gap_mm"]
        px = records[0].pixel_spacing_mm[0]
        measured = sum(int(r.mask[0].sum()) for r in records) * px * px * gap / 1000
        truth = records[0].covariates["stack_myocardial_volume_ml"]
        assert measured == pytest.approx(truth, rel=0.02)
        # the cap is a disc of myocardium: no blood inside its epicardium
        cap = records[-1]
        assert cap.covariates["solid_apex"]
        yy, xx = np.nonzero(cap.mask[0])
        centre = (round(yy.mean()), round(xx.mean()))
        assert cap.mask[0][centre] == 1


def test_the_stack_reads_back_in_anatomical_order(stack_records: list) -> None:
    stack = subject_stack([r for r in stack_records if r.subject.endswith("s0001")][::-1])
    assert stack.ordered_by == "slice_location_mm"
    assert stack.slice_ids == tuple(str(k) for k in range(8))
    assert stack.arrays["mask"].shape == (4, 8, 128, 128)
    np.testing.assert_allclose(np.diff(stack.slice_positions_mm), 0.8, rtol=1e-6)


def test_truth_is_finite_in_every_slice_and_the_apex_barely_contracts(
    stack_records: list,
) -> None:
    for rec in stack_records:
        inside = rec.mask[0] > 0
        assert np.isfinite(rec.displacement[:, :, inside]).all(), rec.key
        assert np.isfinite(rec.extras["ecc_green"][:, inside]).all(), rec.key
        fraction = rec.covariates["contraction_fraction"]
        if rec.covariates["solid_apex"]:
            assert fraction == 0.0
        else:
            assert 0.0 < fraction <= 1.0


def test_feasible_motion_keeps_the_cavity_open() -> None:
    shape = {"center_mm": (0.0, 0.0), "r_endo_mm": 0.45, "r_epi_mm": 1.5, "ecc_peak": -0.2}
    motion = feasible_motion(**shape)
    assert 0.0 < motion.global_scale < 1.0
    ed = motion.wall_point(np.arange(0.0, 360.0, 10.0), np.zeros(36))
    es = motion.forward(ed, 1.0)
    assert np.hypot(*es.T).min() >= CAVITY_OPEN * 0.45 - 1e-9
    roomy = feasible_motion(**{**shape, "r_endo_mm": 1.5, "r_epi_mm": 2.2})
    assert roomy.global_scale == 1.0
    assert feasible_motion(True, **shape).global_scale == 0.0


def test_the_plan_counts_stack_slices_and_named_slices_are_unchanged() -> None:
    full = with_defaults(MOUSE)
    assert n_slices(MOUSE) == 16
    assert synthetic_plan(full).n_slices == 16
    named = {k: v for k, v in MOUSE.items() if k != "stack"}
    specs = plan("mice", named)
    assert [s.position for s in specs] == ["basal", "mid", "apical"] * 2
    assert all(s.slice_id == s.position and not s.solid for s in specs)


def test_misplacement_moves_each_slice_within_its_bound() -> None:
    still = plan("mice", {**MOUSE, "stack": {"misplacement_px": 0.0, "void_fraction": 0.0}})
    moved = plan("mice", {**MOUSE, "stack": {"misplacement_px": 3.0, "void_fraction": 0.0}})
    shifts = []
    for a, b in zip(still, moved):
        delta = np.subtract(b.motion.center_mm, a.motion.center_mm)
        px = b.imaging.pixel_mm
        assert np.hypot(*delta) <= 3.0 * px + 1e-9
        assert delta == pytest.approx(
            [b.covariates["misplacement_x_mm"], b.covariates["misplacement_y_mm"]]
        )
        shifts.append(delta)
    # slices move independently, and nothing else about the slice changes
    assert len({tuple(np.round(s, 9)) for s in shifts}) == len(shifts)
    assert [a.motion.r_endo_mm for a in still] == [b.motion.r_endo_mm for b in moved]


def test_a_signal_void_darkens_the_wall_facing_the_lung_only_in_its_frames() -> None:
    clean = plan("mice", {**MOUSE, "subjects": 1, "stack": {"void_fraction": 0.0}})
    voided = plan("mice", {**MOUSE, "subjects": 1, "stack": {"void_fraction": 1.0}})
    spec = voided[2]
    _width, depth, first, stop = spec.void
    assert 0 <= first < stop <= 4 and depth == 0.8
    a, b = generate(clean[2]), generate(spec)
    np.testing.assert_array_equal(a.mask, b.mask)
    for k in range(4):
        ratio = b.cine[k][a.mask[k] > 0] / a.cine[k][a.mask[k] > 0]
        if first <= k < stop:
            assert ratio.min() < 0.4  # the band's centre lost most of its signal
            assert np.median(ratio) > 0.6  # most of the wall did not
        else:
            np.testing.assert_allclose(ratio, 1.0)


def test_apply_void_on_a_drawn_ring() -> None:
    rows, cols = np.indices((41, 41))
    r = np.hypot(rows - 20, cols - 20)
    mask = ((r > 8) & (r < 14)).astype(np.uint8)[None]
    images = np.ones((1, 41, 41), np.float32)
    out = apply_void(images, mask, (20.0, 20.0), 1.0, 0.0, 60.0, 1.0, (0, 1))
    assert out[0, 20, 31] < 0.3  # wall at angle 0 (image right)
    assert out[0, 20, 9] == pytest.approx(1.0, abs=1e-3)  # the opposite wall untouched
    assert out[0, 0, 0] == 1.0

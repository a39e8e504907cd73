"""The realistic phantom preset: each effect it claims, measured on the generated images.

Aims come from published acquisition facts (myoflow.phantom.realism): tag harmonic amplitude at
about a quarter of ED by end-systole and a fifth by the end of the cycle (UK Biobank tagging),
blood tags washed out within one or two frames, a heart that shifts and turns in a still chest, and
through-plane motion that brings another level of the ventricle into the plane.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from myoflow.phantom.cohort import generate, plan
from myoflow.phantom.heart import SliceMotion
from myoflow.phantom.realism import Realism, bias_field, realism
from myoflow.tracking.quality import harmonic_amplitude, modulation_curve

HUMAN = {"species": "human", "subjects": 3, "seed": 5, "slices": ["mid"], "realism": "realistic"}


@pytest.fixture(scope="module")
def human_specs():
    return plan("h", HUMAN)


@pytest.fixture(scope="module")
def noiseless(human_specs):
    spec = replace(human_specs[0], imaging=replace(human_specs[0].imaging, snr=None))
    return spec, generate(spec)


def test_ideal_is_the_default_and_a_plain_slice_motion_is_its_lv_motion():
    assert realism("ideal", "rat") == Realism()
    spec = plan("r", {"species": "rat", "subjects": 1})[0]
    assert spec.realism == Realism() and spec.descent_mm == 0.0
    pts = np.random.default_rng(0).uniform(0, 30, size=(50, 2))
    assert np.array_equal(spec.slice_motion().forward(pts, 0.7), spec.motion.forward(pts, 0.7))


def test_the_realistic_plane_motion_inverts_exactly(human_specs):
    motion = human_specs[0].slice_motion()
    assert motion.descent_mm > 5.0 and np.hypot(*motion.shift_mm) > 3.0
    assert motion.rotation_deg != 0.0
    grid = np.stack(np.meshgrid(np.linspace(60, 200, 60), np.linspace(60, 200, 60)), -1)
    for s in (0.3, 1.0):
        xc, yc, _ = motion.inverse_circular(*np.moveaxis(motion.forward(grid, s), -1, 0), s)
        back = np.stack(motion.from_circular(xc, yc), -1)
        assert np.abs(back - grid).max() < 1e-6  # mm; float64 bisection to 2^-40 of the shift


def test_the_heart_shift_is_rigid_in_the_wall(human_specs):
    """Finite differences of the plane motion give the analytic strain (the shift adds none)."""
    motion = human_specs[0].slice_motion()
    pts = motion.wall_point(np.arange(0, 360, 30.0), np.full(12, 0.5))
    h = 1e-4
    fwd = [motion.forward(pts + d, 1.0) for d in ((h, 0), (-h, 0), (0, h), (0, -h))]
    f = np.stack([(fwd[0] - fwd[1]) / (2 * h), (fwd[2] - fwd[3]) / (2 * h)], -1)
    e = 0.5 * (np.swapaxes(f, -1, -2) @ f - np.eye(2))
    ang = np.arctan2(pts[:, 1] - motion.center_mm[1], pts[:, 0] - motion.center_mm[0])
    e_c = np.stack([-np.sin(ang), np.cos(ang)], -1)
    ecc = np.einsum("ni,nij,nj->n", e_c, e, e_c)
    np.testing.assert_allclose(ecc, motion.strain(pts, 1.0)["ecc_green"], atol=1e-6)


def test_the_heart_turns_by_its_rotation_and_the_chest_stays_still(human_specs):
    """In the wall the plane motion is the level's motion turned about the LV centre by
    s x the peak rotation, then shifted; far out every point is still."""
    spec = human_specs[0]
    motion = spec.slice_motion()
    assert 2.0 <= abs(motion.rotation_deg) <= 6.0
    plain = replace(motion, rotation_deg=0.0, shift_mm=(0.0, 0.0))
    pts = motion.wall_point(np.arange(0, 360, 20.0), np.full(18, 0.5))
    s = 0.8
    angle = np.radians(s * motion.rotation_deg)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.asarray(motion.center_mm)
    expected = (plain.forward(pts, s) - centre) @ turn.T + centre + s * np.asarray(motion.shift_mm)
    np.testing.assert_allclose(motion.forward(pts, s), expected, atol=1e-9)
    far = centre + np.array([[1.0, 0.0], [0.0, -1.0]]) * (motion.static_radius_mm + 1.0)
    np.testing.assert_allclose(motion.forward(far, s), far, atol=1e-12)


def test_the_heart_moves_by_its_shift_and_the_chest_stays_still(human_specs, noiseless):
    spec, rec = noiseless
    still = generate(replace(spec, shift_mm=(0.0, 0.0)))
    inside = rec.mask[0].astype(bool)
    es = rec.es_frame
    moved = rec.displacement[es][:, inside].mean(1) - still.displacement[es][:, inside].mean(1)
    s_es = spec.timing.frames(spec.frames)[es]
    np.testing.assert_allclose(moved, s_es * np.asarray(spec.shift_mm), atol=1e-4)
    rows, cols = np.indices(inside.shape) * spec.imaging.pixel_mm
    distance = np.hypot(cols - spec.motion.center_mm[0], rows - spec.motion.center_mm[1])
    stretch = 1.0 + abs(spec.motion.ellipticity)  # circular -> physical radius, at most
    # a pixel is still when all of its sub-samples are: its centre one pixel beyond the radius
    far = distance > spec.slice_motion().static_radius_mm * stretch + spec.imaging.pixel_mm
    assert far.sum() > 1000
    assert np.array_equal(rec.cine[es][far], rec.cine[0][far])


def test_through_plane_motion_shows_another_level_at_end_systole(noiseless):
    spec, rec = noiseless
    es = rec.es_frame
    s_es = float(spec.timing.frames(spec.frames)[es])
    level = spec.slice_motion().at(s_es)
    assert spec.slice_location_mm - spec.slice_motion().level_mm(s_es) > 3.0  # mm of descent
    # the plane at ES shows exactly what a still plane through that level would show
    at_level = replace(spec, descent_mm=0.0, motion=level)
    assert np.array_equal(generate(at_level).mask[es], rec.mask[es])
    in_plane_only = generate(replace(spec, descent_mm=0.0))
    assert np.abs(in_plane_only.mask[es].astype(int) - rec.mask[es]).sum() > 20


def test_tags_fade_as_in_a_uk_biobank_acquisition(human_specs):
    es_values, end_values = [], []
    for spec in human_specs:
        rec = generate(spec)
        curve = modulation_curve(rec.tagged, rec.mask)
        es_values.append(curve[rec.es_frame])
        end_values.append(curve[-1])
        assert np.all(np.diff(curve[: rec.es_frame + 1]) < 0)  # fading, frame by frame
    # about a quarter by ES and a fifth by the end (texture, edges and noise in the tag band set
    # a floor of about 0.17-0.21 of ED: an untagged image of the same slice measures that)
    assert 0.2 < np.mean(es_values) < 0.35, es_values
    assert 0.15 < np.mean(end_values) < 0.27, end_values
    ideal = generate(plan("h", {**HUMAN, "realism": "ideal"})[0])
    assert modulation_curve(ideal.tagged, ideal.mask)[ideal.es_frame] > 0.35


def test_blood_loses_its_tags_within_two_frames_and_flows_in_bright(noiseless):
    _, rec = noiseless
    pool = ndimage.binary_fill_holes(rec.mask.astype(bool), structure=np.ones((1, 3, 3)))
    pool = ndimage.binary_erosion(pool & ~rec.mask.astype(bool), np.ones((1, 5, 5)))
    blood = harmonic_amplitude(rec.tagged, pool)
    wall = harmonic_amplitude(rec.tagged, rec.mask)
    assert blood[2] / blood[0] < 0.25  # papillary muscles keep theirs: not zero
    assert wall[2] / wall[0] > 0.5
    assert rec.tagged[2][pool[2]].mean() > 1.3 * rec.tagged[2][rec.mask[2].astype(bool)].mean()


def test_the_pool_holds_papillary_muscles_outside_the_mask(noiseless):
    _, rec = noiseless
    ideal = generate(plan("h", {**HUMAN, "realism": "ideal", "snr": None})[0])

    def dark_pool_fraction(r):
        wall = r.mask[0].astype(bool)
        pool = ndimage.binary_erosion(ndimage.binary_fill_holes(wall) & ~wall, iterations=2)
        cut = 0.5 * (r.cine[0][wall].mean() + np.median(r.cine[0][pool]))
        return float((r.cine[0][pool] < cut).mean())

    assert dark_pool_fraction(rec) > 0.04
    assert dark_pool_fraction(ideal) < 0.005


def test_frame_counts_are_drawn_per_subject():
    specs = plan("r", {"species": "rat", "subjects": 12, "frames": [12, 30], "slices": ["mid"]})
    counts = {s.frames for s in specs}
    assert min(counts) >= 12 and max(counts) <= 30 and len(counts) > 3
    rec = generate(specs[0])
    assert rec.n_frames == specs[0].frames == rec.original_frames
    np.testing.assert_allclose(np.diff(rec.frame_times_ms), specs[0].rr_ms / specs[0].frames)


def test_the_coil_field_has_the_stated_amplitude():
    field = bias_field((96, 96), 0.4, np.random.default_rng(1))
    assert np.ptp(field) == pytest.approx(0.4, rel=1e-5)
    assert 0.75 < field.mean() < 1.25
    assert np.array_equal(bias_field((8, 8), 0.0, np.random.default_rng(1)), np.ones((8, 8)))


def test_the_slice_motion_refuses_a_descent_without_geometry(human_specs):
    with pytest.raises(ValueError, match="geometry"):
        SliceMotion(human_specs[0].motion, None, 10.0, 5.0)

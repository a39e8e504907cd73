"""Cohort plans from config: determinism, groups, species ranges, effects, record contents."""

from __future__ import annotations

import json

import numpy as np
import pytest

from myoflow.config import load_schema
from myoflow.io.shard_plan import synthetic_plan
from myoflow.io.shards import read_shard, write_shard
from myoflow.phantom.cohort import CONFIG_DEFAULTS, TAGGING_DEFAULTS, n_slices, plan
from myoflow.phantom.groups import GROUP_PRESETS, assign_groups, group_sizes
from myoflow.phantom.species import SPECIES
from myoflow.phantom.truth import STRAIN_KEYS
from myoflow.record import N_LANDMARKS
from myoflow.strain.aha import segments_for_position

RAT_RT = {
    "source": "synthetic",
    "species": "rat",
    "seed": 7,
    "subjects": 12,
    "slices": ["basal", "mid", "apical"],
    "frames": 20,
    "groups": GROUP_PRESETS["rat_sham_vs_rt"],
}


def _peak_midwall(spec, angles_deg: np.ndarray) -> np.ndarray:
    """Analytic Green Ecc at mid-wall at peak contraction (s = 1), per angle."""
    motion = spec.motion
    return motion.strain(motion.wall_point(angles_deg, 0.5), 1.0)


def test_defaults_match_the_config_schema() -> None:
    defs = load_schema()["$defs"]
    schema_defaults = {
        key: prop["default"]
        for key, prop in defs["synthetic_cohort"]["properties"].items()
        if "default" in prop
    }
    assert {k: CONFIG_DEFAULTS[k] for k in schema_defaults} == schema_defaults
    assert set(CONFIG_DEFAULTS) <= set(schema_defaults)
    tag_defaults = {k: p["default"] for k, p in defs["tagging"]["properties"].items()}
    assert tag_defaults == TAGGING_DEFAULTS


def test_plan_is_deterministic_ordered_and_counted() -> None:
    specs = plan("rat_rt", RAT_RT)
    again = plan("rat_rt", RAT_RT)
    assert specs == again and [s.covariates for s in specs] == [s.covariates for s in again]
    assert len(specs) == n_slices(RAT_RT) == 36
    assert [s.subject for s in specs[:4]] == ["rat_rt-s0001"] * 3 + ["rat_rt-s0002"]
    assert [s.position for s in specs[:3]] == ["basal", "mid", "apical"]
    assert len({(s.subject, s.slice_index) for s in specs}) == len(specs)
    other = plan("rat_rt", {**RAT_RT, "seed": 8})
    assert [s.motion for s in other] != [s.motion for s in specs]


@pytest.mark.parametrize("start, stop", [(0, 36), (0, 5), (4, 11), (33, 36), (35, 99), (7, 7)])
def test_partial_plan_equals_the_slice_of_the_full_plan(start: int, stop: int) -> None:
    full = plan("rat_rt", RAT_RT)
    assert plan("rat_rt", RAT_RT, start, stop) == full[start:stop]


def test_groups_are_balanced_and_seeded() -> None:
    assert group_sizes(GROUP_PRESETS["human_ukb"], 8) == {
        "reference": 3,
        "hypertension": 2,
        "diabetes": 2,
        "infarction": 1,
    }
    assert group_sizes({"a": {"count": 3}, "b": {"count": 5}}, 8) == {"a": 3, "b": 5}
    labels = assign_groups(GROUP_PRESETS["rat_sham_vs_rt"], 12, seed=7)
    assert labels.count("sham") == labels.count("rt") == 6
    assert labels == assign_groups(GROUP_PRESETS["rat_sham_vs_rt"], 12, seed=7)
    assert labels != assign_groups(GROUP_PRESETS["rat_sham_vs_rt"], 12, seed=8)
    specs = plan("rat_rt", RAT_RT)
    assert {s.group for s in specs if s.subject == "rat_rt-s0001"} == {specs[0].group}


@pytest.mark.parametrize("species", sorted(SPECIES))
def test_subjects_vary_within_species_ranges(species: str) -> None:
    preset = SPECIES[species]
    specs = plan("v", {"species": species, "seed": 1, "subjects": 40})
    cov = {
        k: np.array([s.covariates[k] for s in specs if s.position == "mid"])
        for k in ("endo_radius_mid_mm", "wall_mid_mm", "pixel_mm", "rr_ms")
    }
    for key, (lo, hi) in zip(
        cov, (preset.endo_radius_mm, preset.wall_mm, preset.pixel_mm, preset.rr_ms)
    ):
        assert np.all((cov[key] >= lo) & (cov[key] <= hi)), key
        assert cov[key].std() > 0.15 * (hi - lo), f"{key} does not vary"
    mid = [s for s in specs if s.position == "mid"]
    assert np.allclose([s.motion.r_endo_mm for s in mid], cov["endo_radius_mid_mm"])
    assert np.allclose([s.motion.r_epi_mm - s.motion.r_endo_mm for s in mid], cov["wall_mid_mm"])
    # One LV per subject: the cavity tapers toward the apex, slices are ordered along the axis.
    for i in range(0, len(specs), 3):
        basal, midd, apical = specs[i : i + 3]
        assert basal.motion.r_endo_mm > midd.motion.r_endo_mm > apical.motion.r_endo_mm
        assert basal.slice_location_mm < midd.slice_location_mm < apical.slice_location_mm
        assert len({s.covariates["pixel_mm"] for s in (basal, midd, apical)}) == 1
    spacing_px = preset.tag_spacing_mm / np.array(preset.pixel_mm)
    assert np.all((spacing_px >= 3.0) & (spacing_px <= 6.0))


@pytest.mark.parametrize("species", sorted(SPECIES))
def test_healthy_peak_midwall_strain_ranges(species: str) -> None:
    specs = plan("h", {"species": species, "seed": 11, "subjects": 30})
    angles = np.arange(0.0, 360.0, 10.0)
    for spec in specs:
        st = _peak_midwall(spec, angles)
        assert np.all((st["ecc_green"] >= -0.20) & (st["ecc_green"] <= -0.15))
        assert np.all((st["err_green"] >= 0.30) & (st["err_green"] <= 0.45))
        assert spec.timing.frames(spec.frames)[8:11].max() == 1.0  # ES (s = 1) on frame 8-10


def test_rt_group_effect_is_configured_and_lateral() -> None:
    specs = [s for s in plan("rat_rt", RAT_RT) if s.position == "mid"]
    angles = np.arange(0.0, 360.0, 5.0)
    ratio = {"sham": [], "rt": []}
    for spec in specs:
        ecc = _peak_midwall(spec, angles)["ecc_green"]
        healthy = spec.covariates["ecc_peak_healthy"]
        ratio[spec.group].append(ecc.mean() / healthy)
        lateral = ecc[np.abs((angles + 180) % 360 - 180) <= 30].mean() / healthy
        septal = ecc[np.abs(angles - 180) <= 30].mean() / healthy
        if spec.group == "rt":
            g = spec.covariates["global_scale"]
            assert 0.8 <= g <= 0.9 and 0.2 <= spec.covariates["sector1_severity"] <= 0.4
            assert lateral < septal - 0.1  # the sector bites hardest laterally
            assert septal == pytest.approx(g, abs=0.03)
        else:
            assert lateral == pytest.approx(1.0, abs=1e-6) and septal == pytest.approx(
                1.0, abs=1e-6
            )
    reduction = 1.0 - np.mean(ratio["rt"]) / np.mean(ratio["sham"])
    assert 0.15 <= reduction <= 0.30


def test_record_has_documented_fields(default_rat, tmp_path) -> None:
    spec, rec = default_rat
    n_t, n = spec.frames, spec.imaging.matrix
    assert rec.validate() is rec
    assert rec.cine.shape == rec.tagged.shape == (n_t, n, n)
    assert rec.cine.dtype == rec.tagged.dtype == np.float32
    assert rec.mask.shape == (n_t, n, n) and rec.mask.dtype == np.uint8
    assert rec.displacement.shape == (n_t, 2, n, n) and rec.displacement.dtype == np.float32
    assert np.all(rec.displacement[0] == 0.0)
    assert rec.landmarks.shape == (n_t, 2, N_LANDMARKS)
    assert rec.rv_insertion_mm.shape == (2, 2)
    assert rec.ed_frame == 0 and 8 <= rec.es_frame <= 10 and rec.original_frames == n_t
    assert np.all(np.diff(rec.frame_times_ms) > 0) and rec.frame_times_ms[-1] < spec.rr_ms
    assert rec.position == rec.slice_id == "mid" and rec.slice_location_mm > 0
    assert rec.pixel_spacing_mm == (spec.imaging.pixel_mm, spec.imaging.pixel_mm)
    inside = rec.mask[0].astype(bool)
    for key in STRAIN_KEYS:
        assert rec.extras[key].shape == (n_t, n, n) and rec.extras[key].dtype == np.float32
        assert np.all(np.isfinite(rec.extras[key][:, inside]))
        assert np.all(np.isnan(rec.extras[key][:, ~inside]))
    seg = rec.extras["aha_segments"]
    assert set(np.unique(seg[inside])) == set(segments_for_position("mid"))
    assert np.all(seg[~inside] == 0)
    json.dumps(rec.covariates)  # stored as JSON in the shards
    write_shard(tmp_path / "shard.h5", [rec])
    back = next(read_shard(tmp_path / "shard.h5"))
    assert np.array_equal(back.tagged, rec.tagged) and back.covariates == rec.covariates


def test_group_presets_plan() -> None:
    for name, groups in GROUP_PRESETS.items():
        species = "rat" if name.startswith("rat") else "human"
        specs = plan(name, {"species": species, "subjects": 10, "groups": groups})
        assert {s.group for s in specs} == set(groups)


def test_shards_of_the_plan_hold_whole_subjects_and_add_up_to_the_plan() -> None:
    full = plan("rat_rt", RAT_RT)
    shards = synthetic_plan({**RAT_RT, "shard_size": 8})  # 2 subjects (6 slices) per shard
    parts = [plan("rat_rt", RAT_RT, *shards.bounds(i)) for i in range(shards.n_shards)]
    assert [len(p) for p in parts] == [6] * 6
    assert [s for p in parts for s in p] == full
    owners = {s.subject: i for i, p in enumerate(parts) for s in p}
    assert all(owners[s.subject] == i for i, p in enumerate(parts) for s in p)


def test_a_cohort_pixel_range_replaces_the_species_and_keeps_the_anatomy() -> None:
    base = {"species": "mouse", "subjects": 6, "seed": 2}
    native = plan("m", base)
    coarse = plan("m", {**base, "pixel_mm": [0.3, 0.33]})
    lo, hi = SPECIES["mouse"].pixel_mm
    assert all(lo <= s.imaging.pixel_mm <= hi for s in native)
    assert all(0.3 <= s.imaging.pixel_mm <= 0.33 for s in coarse)
    # the same draws: each heart is the same heart, imaged with other pixels
    assert [s.motion.r_endo_mm for s in native] == [s.motion.r_endo_mm for s in coarse]
    assert [s.rr_ms for s in native] == [s.rr_ms for s in coarse]

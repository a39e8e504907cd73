"""A synthetic cohort from its config entry: a cheap plan of slices, and one slice at a time.

Why plan + generate: Snakemake cuts a cohort into shards that run as independent jobs. ``plan`` is
cheap and deterministic (it only draws a few numbers per subject), so every job computes the same
plan and generates its own slices with ``generate``, whose randomness comes from a stream derived
from (seed, subject index, slice index) alone: any shard can be (re)made without the others.

Random streams (``numpy.random.SeedSequence`` entropy): ``[seed, 0]`` permutes the group
assignment; ``[seed, 1, i]`` draws subject i's anatomy, physiology and group effect (in that
order, so a subject's anatomy does not depend on its group); ``[seed, 2, i, j]`` draws slice j's
surroundings and noise; ``[seed, 3, i]`` what realism adds (the frame count when ``frames`` is a
range, ES phase, heart shift, base descent and rotation), so the ideal phantom's draws never
change; ``[seed, 4, i]`` a stack's draws (``stack``), ``[seed, 5, i]`` wall thinning (``groups``).

Groups and their effects are drawn by ``myoflow.phantom.groups``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from myoflow.phantom.acquisition import draw_acquired
from myoflow.phantom.anatomy import build_anatomy
from myoflow.phantom.covariates import slice_covariates, stack_covariates
from myoflow.phantom.groups import Effects, assign_groups, draw_effects
from myoflow.phantom.heart import SliceMotion
from myoflow.phantom.images import Imaging, degrade, render
from myoflow.phantom.motion import LVMotion
from myoflow.phantom.realism import Realism, bias_field, realism
from myoflow.phantom.species import (
    BLOOD_WASHOUT_RR,
    RV_WIDTH,
    LVGeometry,
    SpeciesPreset,
    Subject,
    preset,
    sample_subject,
)
from myoflow.phantom.stack import (
    StackLevel,
    StackSettings,
    draw_stack,
    feasible_motion,
    slices_per_subject,
    stack_levels,
    stack_settings,
    void_facing,
)
from myoflow.phantom.tagging import TagGrid
from myoflow.phantom.timing import TimingCurve
from myoflow.phantom.truth import STRAIN_KEYS, displacement, landmarks, strain_maps
from myoflow.record import SliceRecord
from myoflow.strain.aha import segment_map

# The defaults of workflow/schemas/config.schema.yaml (synthetic_cohort), so that plan() also
# works on an entry that did not go through Snakemake's validation; a test keeps them equal.
CONFIG_DEFAULTS: dict[str, Any] = {
    "species": "rat",
    "seed": 0,
    "subjects": 10,
    "slices": ["basal", "mid", "apical"],
    "frames": 20,
    "matrix": None,
    "contrast": "bssfp",
    "snr": 20,
    "kspace_blur": 0.0,
    "tagging": {},
    "ellipticity": 0.0,
    "twist_deg": [2, 6],
    "realism": "ideal",
    "groups": {"all": {"fraction": 1.0}},
    "shard_size": 200,
    "stack": None,
    "pixel_mm": None,
}
TAGGING_DEFAULTS: dict[str, Any] = {"pattern": "1-3-3-1", "spacing_mm": None, "angle_deg": 0.0}

# LV centre: shifted toward the lateral wall (image right) by this fraction of R1 so that the RV
# crescent on the left stays in view, plus a per-subject jitter of up to this fraction of the FOV.
LATERAL_SHIFT = 0.25
CENTER_JITTER_FOV = 0.03


@dataclass(frozen=True)
class SliceSpec:
    """Everything needed to generate one slice; ``generate`` is a pure function of it."""

    cohort: str
    subject: str
    subject_index: int
    slice_index: int
    position: str
    group: str
    seed: int
    frames: int
    rr_ms: float
    slice_location_mm: float
    motion: LVMotion
    timing: TimingCurve
    imaging: Imaging
    rv_insertion_deg: tuple[float, float]
    rv_width_mm: float
    covariates: dict[str, Any] = field(default_factory=dict, compare=False)
    realism: Realism = field(default_factory=Realism)
    #: The LV geometry (for through-plane motion), the base's peak descent and the heart's peak
    #: translation (x, y) in mm.
    geometry: LVGeometry | None = None
    descent_mm: float = 0.0
    shift_mm: tuple[float, float] = (0.0, 0.0)
    rotation_deg: float = 0.0
    #: A stack's slice name (default: the position), whether it is solid (beyond the endocardial
    #: apex) and its signal void ``(width_deg, depth, first_frame, stop_frame)``.
    slice_id: str | None = None
    solid: bool = False
    void: tuple[float, float, int, int] | None = None

    def slice_motion(self) -> SliceMotion:
        """The motion the imaging plane sees (``motion`` itself when realism adds none)."""
        return SliceMotion(
            self.motion,
            self.geometry,
            self.slice_location_mm,
            self.descent_mm,
            self.shift_mm,
            self.rotation_deg,
        )


def with_defaults(cfg: dict[str, Any]) -> dict[str, Any]:
    """The cohort entry with missing keys (and tagging keys) set to the schema's defaults."""
    out = {**CONFIG_DEFAULTS, **cfg}
    out["tagging"] = {**TAGGING_DEFAULTS, **(out.get("tagging") or {})}
    return out


def _species(cfg: dict[str, Any]) -> SpeciesPreset:
    """The cohort's species preset, its pixel range replaced by the cohort's ``pixel_mm``."""
    species = preset(cfg["species"])
    if cfg.get("pixel_mm") is None:
        return species
    lo, hi = cfg["pixel_mm"]
    return replace(species, pixel_mm=(float(lo), float(hi)))


def n_slices(cfg: dict[str, Any]) -> int:
    """Number of slices of a cohort (subjects x slices), without sampling anything."""
    full = with_defaults(cfg)
    return int(full["subjects"]) * slices_per_subject(full)


def _subject_slices(
    name: str,
    cfg: dict[str, Any],
    index: int,
    group: str,
    subject: Subject,
    effects: Effects,
    rng: np.random.Generator,
) -> list[SliceSpec]:
    """The specs of one subject's slices: one LV geometry, one acquisition, per-slice cuts."""
    species = _species(cfg)
    real = realism(cfg["realism"], species.name)
    acquired = draw_acquired(cfg, index, subject, real)
    matrix = int(cfg["matrix"] or species.matrix)
    px = subject.pixel_mm
    fov = matrix * px
    tag_cfg = cfg["tagging"]
    n_frames = acquired.frames
    # ES on a frame, so that the sampled series reaches the peak strain the subject was given.
    timing = TimingCurve(es_phase=round(acquired.es_phase * n_frames) / n_frames)
    washout_ms = (
        BLOOD_WASHOUT_RR * subject.rr_ms
        if real.washout_frames is None
        else real.washout_frames * subject.rr_ms / n_frames
    )
    stack = stack_settings(cfg)
    levels = _levels(cfg, subject, stack)
    draws = None if stack is None else draw_stack(stack, int(cfg["seed"]), index, px, n_frames)
    specs = []
    for j, level in enumerate(levels):
        position, r0, r1, z = level.position, level.r_endo_mm, level.r_epi_mm, level.z_mm
        rotation = subject.rotation_deg(z)
        misplaced = (0.0, 0.0) if draws is None else tuple(draws.shift_mm[j])
        centre = (
            (matrix - 1) / 2.0 * px
            + LATERAL_SHIFT * r1
            + CENTER_JITTER_FOV * fov * subject.center_jitter[0]
            + misplaced[0],
            (matrix - 1) / 2.0 * px
            + CENTER_JITTER_FOV * fov * subject.center_jitter[1]
            + misplaced[1],
        )
        shape: dict[str, Any] = {
            "center_mm": centre,
            "r_endo_mm": r0,
            "r_epi_mm": r1,
            "ecc_peak": subject.ecc_peak,
            "long_shortening": subject.long_shortening,
            # The endocardium turns further than the epicardium, in the slice's rotation sense.
            "twist_deg": math.copysign(effects.twist_deg, rotation),
            "rotation_deg": rotation,
            "ellipticity": effects.ellipticity,
            "ellipse_angle_deg": subject.ellipse_angle_deg,
            "global_scale": effects.global_scale,
            "sectors": effects.sectors,
        }
        motion = LVMotion(**shape) if stack is None else feasible_motion(level.solid, **shape)
        tags = TagGrid(
            pattern=tag_cfg["pattern"],
            spacing_mm=float(tag_cfg["spacing_mm"] or species.tag_spacing_mm),
            angle_deg=float(tag_cfg["angle_deg"]),
            offset_rad=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))),
        )
        imaging = Imaging(
            matrix=matrix,
            pixel_mm=px,
            contrast=cfg["contrast"],
            snr=None if cfg["snr"] is None else float(cfg["snr"]),
            kspace_blur=float(cfg["kspace_blur"]),
            tags=tags,
            t1_tissue_ms=species.t1_myocardium_ms,
            t1_fat_ms=species.t1_fat_ms,
            t1_blood_ms=washout_ms,
            readout_flip_deg=real.readout_flip_deg,
            readouts_per_frame=real.readouts_per_frame,
            inflow_gain=real.inflow_gain,
            bias_field=real.bias_field,
            myocardium_texture=real.myocardium_texture,
            blood_texture=real.blood_texture,
        )
        # the base descends by the whole amount, the apex not at all; a slice whose radii are
        # not the geometry's (the closed apex) keeps its level
        descent = acquired.base_descent * (1.0 - max(z, 0.0) / subject.geometry.epi_length_mm)
        descent *= level.analytic
        extra = {
            "es_phase": timing.es_phase,
            "tag_pattern": tags.pattern,
            "tag_spacing_mm": tags.spacing_mm,
            "realism": real.name,
            "acquired_frames": n_frames,
            "heart_shift_mm": math.hypot(*acquired.shift_mm),
            "heart_rotation_deg": acquired.rotation_deg,
            "through_plane_mm": descent,
        }
        void = None
        if draws is not None:
            extra.update(stack_covariates(stack, levels, level, misplaced, motion))
            if draws.void[j]:
                first, stop = (int(f) for f in draws.void_frames[j])
                void = (float(draws.void_width_deg[j]), stack.void_depth, first, stop)
        specs.append(
            SliceSpec(
                cohort=name,
                subject=f"{name}-s{index + 1:04d}",
                subject_index=index,
                slice_index=j,
                position=position,
                group=group,
                slice_id=level.slice_id,
                solid=level.solid,
                void=void,
                seed=int(cfg["seed"]),
                frames=n_frames,
                rr_ms=subject.rr_ms,
                slice_location_mm=z,
                motion=motion,
                timing=timing,
                imaging=imaging,
                rv_insertion_deg=(subject.rv_anterior_deg, subject.rv_inferior_deg),
                rv_width_mm=RV_WIDTH[position] * r1,
                covariates=slice_covariates(species, subject, effects, motion, extra),
                realism=real,
                geometry=subject.geometry,
                descent_mm=descent,
                shift_mm=acquired.shift_mm,
                rotation_deg=acquired.rotation_deg,
            )
        )
    return specs


def _levels(cfg: dict[str, Any], subject: Subject, stack: StackSettings | None) -> list[StackLevel]:
    """The slices the subject's heart is cut at: the named positions, or a whole stack."""
    geometry = subject.geometry
    if stack is not None:
        return stack_levels(geometry, stack.gap_mm, stack.count)
    levels = []
    for position in cfg["slices"]:
        r0, r1, z = geometry.slice(position)
        levels.append(StackLevel(position, position, z, r0, r1))
    return levels


def plan(
    cohort_name: str, cfg: dict[str, Any], start: int = 0, stop: int | None = None
) -> list[SliceSpec]:
    """Slices ``start:stop`` of a cohort in order (a subject's slices are consecutive).

    Deterministic, and each subject draws from its own random stream, so a shard job plans only
    its own subjects: the result equals ``plan(name, cfg)[start:stop]`` at a fraction of the cost
    (a 10^5-slice cohort would otherwise spend seconds planning in every shard).
    """
    full = with_defaults(cfg)
    seed, subjects = int(full["seed"]), int(full["subjects"])
    per_subject = slices_per_subject(full)
    stop = subjects * per_subject if stop is None else min(stop, subjects * per_subject)
    species = _species(full)
    groups = assign_groups(full["groups"], subjects, seed)
    specs: list[SliceSpec] = []
    first = start // per_subject
    last = -(-stop // per_subject)
    for i in range(first, last):
        rng = np.random.default_rng([seed, 1, i])
        subject = sample_subject(species, rng)
        effects = draw_effects(full, full["groups"][groups[i]], rng, i)
        specs.extend(_subject_slices(cohort_name, full, i, groups[i], subject, effects, rng))
    offset = first * per_subject
    return specs[start - offset : stop - offset]


def generate(spec: SliceSpec) -> SliceRecord:
    """The validated record of one planned slice: images, masks and exact motion truth."""
    rng = np.random.default_rng([spec.seed, 2, spec.subject_index, spec.slice_index])
    anatomy_rng, cine_rng, tagged_rng = rng.spawn(3)
    motion, imaging = spec.slice_motion(), spec.imaging
    s = spec.timing.frames(spec.frames)
    times = np.arange(spec.frames) * spec.rr_ms / spec.frames
    fov = imaging.matrix * imaging.pixel_mm
    anatomy = build_anatomy(
        spec.motion, spec.rv_insertion_deg, spec.rv_width_mm, fov, anatomy_rng, spec.realism
    )
    if spec.solid:
        anatomy = replace(anatomy, solid=True, thinning=None)
    cine, tagged, mask = render(motion, anatomy, imaging, s, times)
    if spec.void is not None:
        void = (spec.motion.center_mm, spec.imaging.pixel_mm, anatomy.blobs[0].center, spec.void)
        cine, tagged = (void_facing(series, mask, *void) for series in (cine, tagged))
    coil = bias_field(mask.shape[1:], imaging.bias_field, anatomy_rng)
    cine = degrade(cine, mask[0], imaging, cine_rng, coil)
    tagged = degrade(tagged, mask[0], imaging, tagged_rng, coil)

    spacing = (imaging.pixel_mm, imaging.pixel_mm)
    rv_insertion = motion.wall_point(np.asarray(spec.rv_insertion_deg), np.ones(2))
    strain = strain_maps(motion, s, mask[0], imaging.pixel_mm)
    extras: dict[str, np.ndarray] = {key: strain[key].astype(np.float32) for key in STRAIN_KEYS}
    extras["aha_segments"] = segment_map(mask[0], spacing, spec.position, rv_insertion).astype(
        np.int16
    )
    record = SliceRecord(
        cohort=spec.cohort,
        subject=spec.subject,
        slice_id=spec.slice_id or spec.position,
        position=spec.position,
        group=spec.group,
        pixel_spacing_mm=spacing,
        frame_times_ms=times,
        original_frames=spec.frames,
        cine=cine,
        tagged=tagged,
        mask=mask,
        displacement=displacement(motion, s, mask.shape[1:], imaging.pixel_mm).astype(np.float32),
        landmarks=landmarks(motion, s, rv_insertion, anatomy.thinning).astype(np.float32),
        rv_insertion_mm=rv_insertion,
        ed_frame=0,
        es_frame=int(np.argmax(s)),
        slice_location_mm=spec.slice_location_mm,
        covariates=dict(spec.covariates),
        extras=extras,
    )
    return record.validate()

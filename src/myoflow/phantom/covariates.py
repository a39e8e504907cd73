"""The covariates of a phantom slice: the flat, JSON-serialisable parameters it was drawn with.

Why a module of its own: statistics group and regress on these values, and the evaluation reads
the truth from them (a stack's exact myocardial volume, a slice's area), so what a record carries
is defined once, apart from how the cohort is planned (``myoflow.phantom.cohort``).
"""

from __future__ import annotations

from typing import Any

from myoflow.phantom.groups import Effects
from myoflow.phantom.motion import LVMotion
from myoflow.phantom.species import SpeciesPreset, Subject
from myoflow.phantom.stack import StackLevel, StackSettings, stack_volume_ml
from myoflow.phantom.thinning import Thinning


def slice_covariates(
    species: SpeciesPreset,
    subject: Subject,
    effects: Effects,
    motion: LVMotion,
    spec_extra: dict[str, Any],
) -> dict[str, Any]:
    """Flat, JSON-serialisable parameters of a slice, for statistics and for reading the truth."""
    out: dict[str, Any] = {
        "source": "synthetic",
        "species": species.name,
        "endo_radius_mm": motion.r_endo_mm,
        "epi_radius_mm": motion.r_epi_mm,
        "wall_mm": motion.r_epi_mm - motion.r_endo_mm,
        "endo_radius_mid_mm": subject.endo_radius_mm,
        "wall_mid_mm": subject.wall_mm,
        "pixel_mm": subject.pixel_mm,
        "rr_ms": subject.rr_ms,
        "heart_rate_bpm": 60000.0 / subject.rr_ms,
        "ecc_peak_healthy": subject.ecc_peak,
        "ecc_peak_target": subject.ecc_peak * effects.global_scale,
        "lambda_z_es": float(motion.lambda_z(1.0)),
        "twist_deg": motion.twist_deg,
        "rotation_deg": motion.rotation_deg,
        "ellipticity": effects.ellipticity,
        "ellipse_angle_deg": subject.ellipse_angle_deg,
        "global_scale": effects.global_scale,
        "rv_anterior_deg": subject.rv_anterior_deg,
        "rv_inferior_deg": subject.rv_inferior_deg,
        "t1_myocardium_ms": species.t1_myocardium_ms,
        "field_t": species.field_t,
        **spec_extra,
    }
    for k, sec in enumerate(effects.sectors, start=1):
        out[f"sector{k}_center_deg"] = sec.center_deg
        out[f"sector{k}_width_deg"] = sec.width_deg
        out[f"sector{k}_severity"] = sec.severity
        if sec.thinning:  # only a thinned sector: a cohort without thinning keeps its columns
            out[f"sector{k}_thinning"] = sec.thinning
    return out


def stack_covariates(
    stack: StackSettings,
    levels: list[StackLevel],
    level: StackLevel,
    misplaced: tuple[float, ...],
    motion: LVMotion,
) -> dict[str, Any]:
    """A stack slice's truth: its geometry, the whole stack's volume and what was drawn (the
    areas as drawn, less any infarct thinning of ``motion``'s sectors)."""
    thinning = Thinning.of(motion)
    return {
        "slice_gap_mm": stack.gap_mm,
        "solid_apex": level.solid,
        "myocardium_area_mm2": level.myocardium_area_mm2(thinning),
        "stack_myocardial_volume_ml": stack_volume_ml(levels, stack.gap_mm, thinning),
        "misplacement_x_mm": float(misplaced[0]),
        "misplacement_y_mm": float(misplaced[1]),
        "contraction_fraction": motion.global_scale,
    }

"""Species presets and the per-subject sampling of anatomy, physiology and acquisition.

Why ranges: a cohort of identical hearts would let a method learn one shape. Every subject draws
its own geometry, heart rate, pixel size and healthy strain from uniform ranges of its species;
disease effects are added on top by the cohort's groups (``myoflow.phantom.cohort``).

One LV geometry per subject: the endocardium and epicardium are half-ellipsoids sharing the basal
plane (z = 0) and pointing to the apex (z > 0), so that basal, mid and apical slices (and later
whole stacks) are cut from the same heart, with radius and wall tapering toward the apex.
``slice_location_mm`` is z, the distance from the basal plane toward the apex.

Healthy strain. The mid-wall peak Green Ecc is drawn from [-0.20, -0.15]. Radial strain then
follows from incompressibility and the longitudinal stretch lambda_z: without twist, the mid-wall
Green Err is ``((1 + 2 Ecc)^-1 lambda_z^-2 - 1) / 2``. lambda_z is drawn uniformly from the
interval that keeps that Err in ``ERR_TARGET`` (leaving room for the few hundredths that the
transmural twist adds) and within ``LAMBDA_Z_LIMITS`` (longitudinal engineering strain -3 % to
-12 %); that interval is non-empty for every Ecc in the healthy range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HEALTHY_ECC_PEAK = (-0.20, -0.15)
ERR_TARGET = (0.31, 0.41)
LAMBDA_Z_LIMITS = (0.88, 0.97)
ES_PHASE = (0.42, 0.48)
# Peak rigid rotation (change of image angle, degrees) at the base and at the apex: the base turns
# clockwise on screen (positive image angle, y down), the apex counter-clockwise (LV torsion).
ROTATION_BASE_DEG = (2.0, 5.0)
ROTATION_APEX_DEG = (-10.0, -4.0)
RV_INSERTION_JITTER_DEG = 10.0
# Endocardial semi-long axis over equatorial endocardial radius; apical wall over mid wall.
LONG_AXIS_RATIO = (2.2, 2.6)
APICAL_WALL_RATIO = 0.8
SLICE_FRACTION = {"basal": 0.2, "mid": 0.5, "apical": 0.75}
# Width of the RV crescent at the mid-septum, as a fraction of the slice's epicardial radius.
RV_WIDTH = {"basal": 0.8, "mid": 0.7, "apical": 0.45}
# Tags in the blood pool wash out with inflowing untagged blood: an effective T1 this fraction
# of the RR interval.
BLOOD_WASHOUT_RR = 0.1


@dataclass(frozen=True)
class SpeciesPreset:
    """Ranges ``(lo, hi)`` sampled uniformly per subject, and fixed per-species constants.

    Radii and wall are mid-ventricular ED values. Tag spacing is chosen so that it spans 3-6
    pixels over the pixel range; T1 values are for the usual field strength of the species.
    """

    name: str
    endo_radius_mm: tuple[float, float]
    wall_mm: tuple[float, float]
    pixel_mm: tuple[float, float]
    rr_ms: tuple[float, float]
    matrix: int
    tag_spacing_mm: float
    field_t: float
    t1_myocardium_ms: float
    t1_fat_ms: float


SPECIES: dict[str, SpeciesPreset] = {
    "rat": SpeciesPreset(
        "rat", (3.0, 4.0), (1.5, 2.0), (0.15, 0.25), (150.0, 190.0), 160, 0.9, 7.0, 1400.0, 450.0
    ),
    "mouse": SpeciesPreset(
        "mouse", (1.7, 2.1), (0.7, 1.0), (0.08, 0.13), (100.0, 130.0), 160, 0.45, 9.4, 1500.0, 500.0
    ),
    "human": SpeciesPreset(
        "human", (20.0, 28.0), (7.5, 12.5), (1.2, 2.0), (800.0, 1100.0), 160, 7.0, 1.5, 950.0, 260.0
    ),
}


def preset(species: str) -> SpeciesPreset:
    if species not in SPECIES:
        raise ValueError(f"unknown species {species!r}; choose one of {sorted(SPECIES)}")
    return SPECIES[species]


@dataclass(frozen=True)
class LVGeometry:
    """Half-ellipsoidal endocardium and epicardium sharing the basal plane (mm)."""

    endo_equator_mm: float
    endo_length_mm: float
    epi_equator_mm: float
    epi_length_mm: float

    @classmethod
    def from_mid(cls, endo_radius_mm: float, wall_mm: float, long_axis_ratio: float) -> LVGeometry:
        """The geometry whose mid slice has the given endocardial radius and wall thickness."""
        f = SLICE_FRACTION["mid"]
        endo_eq = endo_radius_mm / math.sqrt(1.0 - f * f)
        endo_len = long_axis_ratio * endo_eq
        epi_len = endo_len + APICAL_WALL_RATIO * wall_mm
        z = f * endo_len
        epi_eq = (endo_radius_mm + wall_mm) / math.sqrt(1.0 - (z / epi_len) ** 2)
        return cls(endo_eq, endo_len, epi_eq, epi_len)

    def slice(self, position: str) -> tuple[float, float, float]:
        """``(R0, R1, z)``: ED endo and epi radius of the slice at ``position`` and its depth."""
        z = SLICE_FRACTION[position] * self.endo_length_mm
        return (*self.radii_at(z), z)

    def radii_at(self, z_mm: float) -> tuple[float, float]:
        """ED endo and epi radius of the cut at depth ``z_mm`` (the basal plane's above it)."""
        z = max(z_mm, 0.0)
        r0 = self.endo_equator_mm * math.sqrt(1.0 - (z / self.endo_length_mm) ** 2)
        r1 = self.epi_equator_mm * math.sqrt(1.0 - (z / self.epi_length_mm) ** 2)
        return r0, r1

    def rotation_fraction(self, z_mm: float) -> float:
        """Position between base (0) and apex (1) used to interpolate the rigid rotation."""
        return z_mm / self.endo_length_mm


def lambda_z_band(ecc_peak: float) -> tuple[float, float]:
    """Longitudinal stretch interval keeping the healthy mid-wall Err within ``ERR_TARGET``."""
    lc = math.sqrt(1.0 + 2.0 * ecc_peak)
    lo = max(LAMBDA_Z_LIMITS[0], 1.0 / (lc * math.sqrt(1.0 + 2.0 * ERR_TARGET[1])))
    hi = min(LAMBDA_Z_LIMITS[1], 1.0 / (lc * math.sqrt(1.0 + 2.0 * ERR_TARGET[0])))
    if lo > hi:
        raise ValueError(f"no longitudinal stretch gives a healthy Err for Ecc = {ecc_peak}")
    return lo, hi


@dataclass(frozen=True)
class Subject:
    """Everything sampled once per subject and shared by all of its slices."""

    geometry: LVGeometry
    endo_radius_mm: float
    wall_mm: float
    pixel_mm: float
    rr_ms: float
    ecc_peak: float
    long_shortening: float
    es_phase: float
    rotation_base_deg: float
    rotation_apex_deg: float
    rv_anterior_deg: float
    rv_inferior_deg: float
    ellipse_angle_deg: float
    center_jitter: tuple[float, float]

    def rotation_deg(self, z_mm: float) -> float:
        f = self.geometry.rotation_fraction(z_mm)
        return self.rotation_base_deg + f * (self.rotation_apex_deg - self.rotation_base_deg)


def sample_subject(species: SpeciesPreset, rng: np.random.Generator) -> Subject:
    """Draw one healthy subject of ``species`` (disease effects are applied by the cohort)."""
    endo = float(rng.uniform(*species.endo_radius_mm))
    wall = float(rng.uniform(*species.wall_mm))
    geometry = LVGeometry.from_mid(endo, wall, float(rng.uniform(*LONG_AXIS_RATIO)))
    ecc = float(rng.uniform(*HEALTHY_ECC_PEAK))
    lz = float(rng.uniform(*lambda_z_band(ecc)))
    jitter = rng.uniform(-RV_INSERTION_JITTER_DEG, RV_INSERTION_JITTER_DEG, size=2)
    return Subject(
        geometry=geometry,
        endo_radius_mm=endo,
        wall_mm=wall,
        pixel_mm=float(rng.uniform(*species.pixel_mm)),
        rr_ms=float(rng.uniform(*species.rr_ms)),
        ecc_peak=ecc,
        long_shortening=1.0 - lz,
        es_phase=float(rng.uniform(*ES_PHASE)),
        rotation_base_deg=float(rng.uniform(*ROTATION_BASE_DEG)),
        rotation_apex_deg=float(rng.uniform(*ROTATION_APEX_DEG)),
        rv_anterior_deg=240.0 + float(jitter[0]),
        rv_inferior_deg=120.0 + float(jitter[1]),
        ellipse_angle_deg=float(rng.uniform(0.0, 180.0)),
        center_jitter=(float(rng.uniform(-1.0, 1.0)), float(rng.uniform(-1.0, 1.0))),
    )

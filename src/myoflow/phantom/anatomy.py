"""Tissue layout of one slice in reference (ED) coordinates: LV, RV, body and surrounding organs.

Why reference coordinates: every pixel of every frame is rendered by mapping it back to the
material point it shows (``LVMotion.inverse_circular``) and asking this module what tissue that
point is and what texture it carries. So edges, texture and tags all move exactly with the motion
field, and there is one anatomy per slice, not one per frame.

Layout:

* LV: the annulus R0 <= R <= R1 in circular coordinates (myocardium), the blood pool inside.
* RV: a crescent on the septal side. Its outer boundary is the circle through the two RV insertion
  points on the LV epicardium with its centre on their bisector, sized so that the crescent is
  ``rv_width_mm`` wide at the mid-septum; a thin free wall lines it. The insertion points are
  therefore exactly where the RV free wall meets the LV epicardium (the record's truth).
* Body: an ellipse (air outside, so image corners measure the noise floor) with a subcutaneous fat
  rim, a few lung-like (dark) and liver-like blobs around the heart, and a smooth low-frequency
  texture (a few random plane waves) that the intensity tables turn into tissue variation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from myoflow.phantom.motion import LVMotion

AIR, TISSUE, FAT, LUNG, LIVER, LV_BLOOD, MYOCARDIUM, RV_BLOOD, RV_WALL = range(9)
N_LABELS = 9
RV_WALL_FRACTION = 0.3  # RV free wall thickness / LV wall thickness
TEXTURE_WAVES = 6


@dataclass(frozen=True)
class Ellipse:
    """An ellipse in physical mm coordinates, and the label of the tissue inside it."""

    center: tuple[float, float]
    axes: tuple[float, float]
    angle_rad: float
    label: int

    def level(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``(u/a)^2 + (v/b)^2`` in the ellipse's own frame: < 1 inside."""
        c, s = math.cos(self.angle_rad), math.sin(self.angle_rad)
        dx, dy = x - self.center[0], y - self.center[1]
        u = (c * dx + s * dy) / self.axes[0]
        v = (-s * dx + c * dy) / self.axes[1]
        return u * u + v * v


@dataclass(frozen=True)
class Anatomy:
    """Labels and texture of reference points; LV and RV in circular coordinates."""

    r_endo_mm: float
    r_epi_mm: float
    rv_center_c: tuple[float, float]
    rv_radius_mm: float
    rv_wall_mm: float
    body: Ellipse
    fat_mm: float
    blobs: tuple[Ellipse, ...]
    waves: np.ndarray  # [K, 3]: kx, ky (rad/mm), phase

    def labels(
        self, xc: np.ndarray, yc: np.ndarray, psi: np.ndarray, x: np.ndarray, y: np.ndarray
    ) -> np.ndarray:
        """uint8 tissue labels of reference points (circular xc, yc, psi = R^2; physical x, y)."""
        lab = np.full(x.shape, TISSUE, dtype=np.uint8)
        level = self.body.level(x, y)
        inner = (1.0 - self.fat_mm / min(self.body.axes)) ** 2
        lab[level > inner] = FAT
        for blob in self.blobs:
            lab[blob.level(x, y) < 1.0] = blob.label
        lab[level > 1.0] = AIR
        d2 = (xc - self.rv_center_c[0]) ** 2 + (yc - self.rv_center_c[1]) ** 2
        lab[d2 < self.rv_radius_mm**2] = RV_WALL
        lab[d2 < (self.rv_radius_mm - self.rv_wall_mm) ** 2] = RV_BLOOD
        lab[psi <= self.r_epi_mm**2] = MYOCARDIUM
        lab[psi < self.r_endo_mm**2] = LV_BLOOD
        return lab

    def texture(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Smooth zero-mean texture with unit variance, fixed to the tissue (reference coords)."""
        out = np.zeros_like(x)
        norm = math.sqrt(2.0 / len(self.waves))
        for kx, ky, phase in self.waves:
            out += np.cos(float(kx) * x + float(ky) * y + float(phase))
        return out * norm


def rv_circle(
    motion: LVMotion, anterior_deg: float, inferior_deg: float, width_mm: float
) -> tuple[tuple[float, float], float]:
    """Centre (circular coords) and radius of the RV's outer circle.

    The circle passes through both insertion points (radius R1 at circular angles +-beta from the
    septal bisector) and reaches S = R1 + width on the bisector: with centre distance D,
    ``(S - D)^2 = R1^2 + D^2 - 2 R1 D cos(beta)`` gives ``D = (S^2 - R1^2) / (2 S - 2 R1 cos beta)``.
    """
    ta = math.radians(motion.circular_angle_deg(anterior_deg))
    ti = math.radians(motion.circular_angle_deg(inferior_deg))
    half = ((ti - ta + math.pi) % (2.0 * math.pi) - math.pi) / 2.0
    mid = ta + half
    r1 = motion.r_epi_mm
    big_s = r1 + width_mm
    d = (big_s**2 - r1**2) / (2.0 * big_s - 2.0 * r1 * math.cos(half))
    return (d * math.cos(mid), d * math.sin(mid)), big_s - d


def build_anatomy(
    motion: LVMotion,
    rv_insertion_deg: tuple[float, float],
    rv_width_mm: float,
    fov_mm: float,
    rng: np.random.Generator,
) -> Anatomy:
    """Random surroundings of the LV of ``motion`` in a square field of view of ``fov_mm``."""
    rv_center, rv_radius = rv_circle(motion, rv_insertion_deg[0], rv_insertion_deg[1], rv_width_mm)
    half = fov_mm / 2.0
    body = Ellipse(
        center=(
            half + float(rng.uniform(-0.02, 0.02)) * fov_mm,
            half + float(rng.uniform(-0.02, 0.02)) * fov_mm,
        ),
        axes=(
            0.47 * fov_mm * float(rng.uniform(0.95, 1.0)),
            0.41 * fov_mm * float(rng.uniform(0.95, 1.0)),
        ),
        angle_rad=math.radians(float(rng.uniform(-10.0, 10.0))),
        label=TISSUE,
    )
    reach = motion.r_epi_mm + rv_width_mm
    cx, cy = motion.center_mm
    blobs = []
    # Lungs lateral and beyond the RV, liver below (inferior); angles are image angles (y down).
    for label, lo, hi in ((LUNG, -60.0, 0.0), (LUNG, 200.0, 250.0), (LIVER, 60.0, 130.0)):
        ang = math.radians(float(rng.uniform(lo, hi)))
        dist = reach * float(rng.uniform(1.15, 1.5))
        blobs.append(
            Ellipse(
                center=(cx + dist * math.cos(ang), cy + dist * math.sin(ang)),
                axes=(reach * float(rng.uniform(0.4, 0.7)), reach * float(rng.uniform(0.3, 0.5))),
                angle_rad=float(rng.uniform(0.0, math.pi)),
                label=label,
            )
        )
    wavelength = rng.uniform(0.08, 0.3, TEXTURE_WAVES) * fov_mm
    direction = rng.uniform(0.0, 2.0 * math.pi, TEXTURE_WAVES)
    k = 2.0 * math.pi / wavelength
    waves = np.stack(
        [k * np.cos(direction), k * np.sin(direction), rng.uniform(0, 2 * math.pi, TEXTURE_WAVES)],
        1,
    )
    return Anatomy(
        r_endo_mm=motion.r_endo_mm,
        r_epi_mm=motion.r_epi_mm,
        rv_center_c=rv_center,
        rv_radius_mm=rv_radius,
        rv_wall_mm=RV_WALL_FRACTION * (motion.r_epi_mm - motion.r_endo_mm),
        body=body,
        fat_mm=0.035 * fov_mm,
        blobs=tuple(blobs),
        waves=waves,
    )

"""Infarct wall thinning: a scar sector loses part of its ED wall, and the exact area that is left.

Why: paper 002 segments mouse hearts "at early and advanced disease stages (significant wall
thinning at infarction site)"; a sector that only contracts less keeps the full wall, so the
phantom's masks would never show the thin scar a segmentation network must follow.

Geometry. The scar thins from the endocardial side: the cavity bulges into the thinned wall and
the epicardial contour (and with it the RV insertions) stays. In circular coordinates a reference
point at angle Theta with ``R0^2 <= psi < (R0 + t(Theta))^2`` is LV blood instead of myocardium,
with ``t = f(Theta) (R1 - R0)`` and ``f`` the largest ``thinning * w`` over the thinned sectors
(``w`` the sector's von Mises weight, 1 at its centre and 1/2 at half its width; overlapping
scars do not thin twice). ``w`` is evaluated at the *image angle of the reference ray*
``A (cos Theta, sin Theta)``, as ``LVMotion.amplitude`` places the sector's loss of contraction,
so the thinned wall is the hypokinetic one. The motion itself is unchanged: blood in the thinned
band moves as the wall would, which no truth reads (the truth lives in the myocardium mask).
A solid slice (beyond the endocardial apex, ``Anatomy.solid``) is not thinned: it has no cavity to
bulge.

Exact area. The labels are decided in circular coordinates and ``A`` preserves area, so a thinned
slice's ED myocardial area is ``pi (R1^2 - R0^2) - int ((R0 + t)^2 - R0^2) / 2 dTheta``. The
integral is a trapezoid rule on ``QUADRATURE_POINTS`` angles: spectrally accurate for one sector
(a smooth periodic integrand), second order where two sectors' weights cross (the maximum has a
kink there), about 1e-7 of the area either way. ``myocardium_area_mm2`` is the one place the
phantom computes a slice's myocardial area; the stack volume and the covariates use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from myoflow.phantom.motion import LVMotion, Sector

#: Largest thinning fraction: the scar keeps a tenth of the wall (a wall of zero thickness would
#: split the ring).
MAX_THINNING = 0.9
QUADRATURE_POINTS = 3600


@dataclass(frozen=True)
class Thinning:
    """The thinned sectors of a slice and the ellipse map ``A`` (row-major) that places them."""

    sectors: tuple[Sector, ...]
    a_matrix: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        for sec in self.sectors:
            if not 0.0 <= sec.thinning <= MAX_THINNING:
                raise ValueError(f"thinning must be in [0, {MAX_THINNING}], got {sec.thinning}")

    @classmethod
    def of(cls, motion: LVMotion) -> Thinning | None:
        """The thinning of ``motion``'s sectors; None when no sector thins (nothing changes)."""
        sectors = tuple(sec for sec in motion.sectors if sec.thinning)
        if not sectors:
            return None
        a = motion.a_matrix
        return cls(sectors, (float(a[0, 0]), float(a[0, 1]), float(a[1, 0]), float(a[1, 1])))

    def at_image_angle(self, cos_a: np.ndarray, sin_a: np.ndarray) -> np.ndarray:
        """Fraction ``f`` of the wall lost on the ray at image angle alpha (cosine and sine)."""
        out = np.zeros(np.shape(cos_a))
        for sec in self.sectors:
            out = np.maximum(out, sec.thinning * sec.weight(cos_a, sin_a)[0])
        return out

    def fraction(self, xc: np.ndarray, yc: np.ndarray) -> np.ndarray:
        """Fraction ``f`` of the wall lost on the ray through circular coordinates (xc, yc)."""
        a00, a01, a10, a11 = self.a_matrix
        vx = a00 * np.asarray(xc, float) + a01 * np.asarray(yc, float)
        vy = a10 * np.asarray(xc, float) + a11 * np.asarray(yc, float)
        n = np.maximum(np.hypot(vx, vy), 1e-300)  # the centre: any direction, never in the wall
        return self.at_image_angle(vx / n, vy / n)

    def endo_radius(self, xc: np.ndarray, yc: np.ndarray, r0: float, r1: float) -> np.ndarray:
        """Circular radius of the thinned endocardium, ``R0 + f (R1 - R0)``, on each point's ray."""
        return r0 + self.fraction(xc, yc) * (r1 - r0)

    def lost_area_mm2(self, r0: float, r1: float) -> float:
        """Myocardial area the scar gives to the cavity in a ring ``r0 <= R <= r1`` (mm^2)."""
        theta = np.arange(QUADRATURE_POINTS) * (2.0 * math.pi / QUADRATURE_POINTS)
        r = self.endo_radius(np.cos(theta), np.sin(theta), r0, r1)
        return float(np.mean((r * r - r0 * r0) / 2.0) * 2.0 * math.pi)


def myocardium_area_mm2(
    r_endo_mm: float, r_epi_mm: float, solid: bool = False, thinning: Thinning | None = None
) -> float:
    """Exact ED myocardial area of a slice as drawn: a disc when solid, else the ring less what
    the scar gave to the cavity (``A`` preserves area, so the circular-coordinate area is it)."""
    if solid:
        return math.pi * r_epi_mm**2
    ring = math.pi * (r_epi_mm**2 - r_endo_mm**2)
    return ring if thinning is None else ring - thinning.lost_area_mm2(r_endo_mm, r_epi_mm)

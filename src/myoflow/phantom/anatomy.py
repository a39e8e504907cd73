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
* Infarct scar (``myoflow.phantom.thinning``; absent unless a sector has ``thinning``): the
  cavity takes the endocardial part of the thinned wall, the epicardium stays.
* Realistic extras (``myoflow.phantom.realism``; absent from the ideal phantom): two papillary
  muscles and a trabecular layer in the blood pool (label ``PAPILLARY``: tissue, not myocardium
  mask, as expert contours leave them in the pool), epicardial fat near the RV insertions, liver
  and lung against the epicardium, and fine texture waves of a few pixels.

The LV annulus and the pool's extras are given relative to the radii of the level being drawn
(``labels(..., radii=)``), because through-plane motion brings another level into the plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from myoflow.phantom.motion import LVMotion
from myoflow.phantom.realism import Realism
from myoflow.phantom.thinning import Thinning

AIR, TISSUE, FAT, LUNG, LIVER, LV_BLOOD, MYOCARDIUM, RV_BLOOD, RV_WALL, PAPILLARY = range(10)
N_LABELS = 10
RV_WALL_FRACTION = 0.3  # RV free wall thickness / LV wall thickness
TEXTURE_WAVES = 6
FINE_TEXTURE_WAVES = 12
# Papillary muscles: centre at this fraction of the endocardial radius, radius this fraction of it,
# at the anterolateral and inferomedial image angles (degrees; lateral 0, inferior 90).
PAPILLARY_DISTANCE, PAPILLARY_RADIUS = 0.62, 0.2
PAPILLARY_ANGLES_DEG = (-50.0, 125.0)
# Trabeculae: angular harmonics of the trabecular depth profile; epicardial fat spans this many
# degrees either side of each RV insertion; abutting organs leave this fraction of R1 free.
TRABECULAR_HARMONICS = (9, 23)
EPI_FAT_HALF_WIDTH_DEG = 35.0
ABUTTING_GAP = 0.04


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
    #: Circular angles (rad) of the papillary muscles; empty = none.
    papillary_angles: tuple[float, ...] = ()
    #: Trabecular layer depth (fraction of the wall) and its profile's (harmonic, phase) pairs.
    trabeculae: float = 0.0
    trabecular_waves: tuple[tuple[int, float], ...] = ()
    #: Epicardial fat thickness (mm) and the circular angles (rad) of the RV insertions.
    epi_fat_mm: float = 0.0
    insertion_angles: tuple[float, ...] = ()
    #: A slice beyond the endocardial apex: its (virtual) cavity is myocardium too.
    solid: bool = False
    #: The infarct scar's wall thinning (None = none); a solid slice is not thinned.
    thinning: Thinning | None = None

    def labels(
        self,
        xc: np.ndarray,
        yc: np.ndarray,
        psi: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        radii: tuple[float, float] | None = None,
    ) -> np.ndarray:
        """uint8 tissue labels of reference points (circular xc, yc, psi = R^2; physical x, y).

        ``radii`` are the LV's ED endo- and epicardial radii at the level drawn (default: the
        slice's own).
        """
        r0, r1 = radii or (self.r_endo_mm, self.r_epi_mm)
        lab = np.full(x.shape, TISSUE, dtype=np.uint8)
        level = self.body.level(x, y)
        inner = (1.0 - self.fat_mm / min(self.body.axes)) ** 2
        lab[level > inner] = FAT
        for blob in self.blobs:
            lab[blob.level(x, y) < 1.0] = blob.label
        lab[level > 1.0] = AIR
        if self.epi_fat_mm:
            lab[self._epicardial_fat(xc, yc, psi, r1)] = FAT
        d2 = (xc - self.rv_center_c[0]) ** 2 + (yc - self.rv_center_c[1]) ** 2
        lab[d2 < self.rv_radius_mm**2] = RV_WALL
        lab[d2 < (self.rv_radius_mm - self.rv_wall_mm) ** 2] = RV_BLOOD
        lab[psi <= r1**2] = MYOCARDIUM
        if self.solid:
            return lab
        lab[psi < r0**2] = LV_BLOOD
        if self.thinning is not None:
            lab[self._thinned_band(xc, yc, psi, r0, r1)] = LV_BLOOD
        if self.trabeculae or self.papillary_angles:
            lab[self._pool_tissue(xc, yc, psi, r0, r1)] = PAPILLARY
        return lab

    def _epicardial_fat(
        self, xc: np.ndarray, yc: np.ndarray, psi: np.ndarray, r1: float
    ) -> np.ndarray:
        """Fat just outside the epicardium near the RV insertions (the AV and IV grooves)."""
        shell = (psi > r1**2) & (psi < (r1 + self.epi_fat_mm) ** 2)
        theta = np.arctan2(yc, xc)
        near = np.zeros(psi.shape, bool)
        for angle in self.insertion_angles:
            gap = np.abs((theta - angle + np.pi) % (2.0 * np.pi) - np.pi)
            near |= gap < math.radians(EPI_FAT_HALF_WIDTH_DEG)
        return shell & near

    def _thinned_band(
        self, xc: np.ndarray, yc: np.ndarray, psi: np.ndarray, r0: float, r1: float
    ) -> np.ndarray:
        """The wall the scar gives to the cavity: ``R0 <= R < R0 + f (R1 - R0)`` on each ray.

        Only points of the ring are evaluated (the thinning profile costs a few passes per
        sector, and every frame labels the moving points anew).
        """
        assert self.thinning is not None
        ring = (psi >= r0**2) & (psi < r1**2)
        band = np.zeros(psi.shape, bool)
        endo = self.thinning.endo_radius(xc[ring], yc[ring], r0, r1)
        band[ring] = psi[ring] < endo * endo
        return band

    def _pool_tissue(
        self, xc: np.ndarray, yc: np.ndarray, psi: np.ndarray, r0: float, r1: float
    ) -> np.ndarray:
        """Papillary muscles and trabeculae: tissue inside the endocardial contour R0 (never in
        the band an infarct scar gives to the cavity, which lies beyond R0)."""
        inside = psi < r0**2
        out = np.zeros(psi.shape, bool)
        for angle in self.papillary_angles:
            cx = PAPILLARY_DISTANCE * r0 * math.cos(angle)
            cy = PAPILLARY_DISTANCE * r0 * math.sin(angle)
            out |= (xc - cx) ** 2 + (yc - cy) ** 2 < (PAPILLARY_RADIUS * r0) ** 2
        if self.trabeculae:
            theta = np.arctan2(yc, xc)
            profile = sum(np.cos(k * theta + phase) for k, phase in self.trabecular_waves)
            # finger-like: only the crests of the profile reach into the pool
            depth = self.trabeculae * (r1 - r0) * np.maximum(profile, 0.0)
            depth /= len(self.trabecular_waves)
            if self.thinning is not None:
                # a scar is smooth: the layer fades where the wall thins and is gone where the
                # scar gave up as much wall as the layer is deep (no fingers adrift in the pool)
                lost = self.thinning.fraction(xc, yc)
                depth = depth * np.clip(1.0 - lost / self.trabeculae, 0.0, 1.0)
            out |= psi > (r0 - depth) ** 2
        return out & inside

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
    realism: Realism | None = None,
) -> Anatomy:
    """Random surroundings of the LV of ``motion`` in a square field of view of ``fov_mm``.

    The ideal phantom's draws come first and are the same with any ``realism``, so a realistic
    slice has the same body and organs as its ideal twin, plus the extras.
    """
    real = realism or Realism()
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
    extras = _realistic_extras(motion, rv_insertion_deg, fov_mm, rng, real)
    if real.abutting_organs:
        # the lateral lung and the liver against the LV; the lung beyond the RV stays put
        blobs[0], blobs[2] = _abutting(blobs[0], motion), _abutting(blobs[2], motion)
    if real.fine_texture:
        waves = np.concatenate([waves, extras.pop("fine_waves")])
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
        thinning=Thinning.of(motion),
        **extras,
    )


def _abutting(blob: Ellipse, motion: LVMotion) -> Ellipse:
    """``blob`` moved along its direction from the LV centre until it almost touches the
    epicardium, its short axis facing the heart."""
    cx, cy = motion.center_mm
    direction = math.atan2(blob.center[1] - cy, blob.center[0] - cx)
    short = min(blob.axes)
    dist = (1.0 + ABUTTING_GAP) * motion.r_epi_mm + short
    return Ellipse(
        center=(cx + dist * math.cos(direction), cy + dist * math.sin(direction)),
        axes=(max(blob.axes), short),
        angle_rad=direction + math.pi / 2.0,
        label=blob.label,
    )


def _realistic_extras(
    motion: LVMotion,
    rv_insertion_deg: tuple[float, float],
    fov_mm: float,
    rng: np.random.Generator,
    real: Realism,
) -> dict:
    """The realistic preset's pool tissue, epicardial fat and fine texture (drawn last)."""
    out: dict = {}
    if real.papillary_muscles:
        jitter = rng.uniform(-15.0, 15.0, size=len(PAPILLARY_ANGLES_DEG))
        out["papillary_angles"] = tuple(
            math.radians(motion.circular_angle_deg(a + float(j)))
            for a, j in zip(PAPILLARY_ANGLES_DEG, jitter)
        )
    if real.trabeculae:
        harmonics = rng.integers(*TRABECULAR_HARMONICS, size=5)
        out["trabeculae"] = real.trabeculae
        out["trabecular_waves"] = tuple(
            (int(k), float(rng.uniform(0.0, 2.0 * math.pi))) for k in harmonics
        )
    if real.epicardial_fat:
        out["epi_fat_mm"] = real.epicardial_fat * (motion.r_epi_mm - motion.r_endo_mm)
        out["insertion_angles"] = tuple(
            math.radians(motion.circular_angle_deg(a)) for a in rv_insertion_deg
        )
    if real.fine_texture:
        wavelength = rng.uniform(0.015, 0.04, FINE_TEXTURE_WAVES) * fov_mm
        direction = rng.uniform(0.0, 2.0 * math.pi, FINE_TEXTURE_WAVES)
        k = 2.0 * math.pi / wavelength
        phase = rng.uniform(0, 2 * math.pi, FINE_TEXTURE_WAVES)
        out["fine_waves"] = np.stack([k * np.cos(direction), k * np.sin(direction), phase], 1)
    return out

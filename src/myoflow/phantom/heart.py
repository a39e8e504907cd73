"""The motion a fixed imaging plane sees: the LV's in-plane motion at the level the plane cuts at
each instant, then a rotation and a translation of the whole heart that fade out into still
surroundings.

Why a wrapper and not more terms in ``LVMotion``: that model is one exactly incompressible,
closed-form-invertible slice; through-plane motion and a heart that moves inside a still chest
are properties of the acquisition plane, not of the slice. Both reduce to the identity when their
amplitudes are zero, so the ``ideal`` phantom is unchanged to the last bit.

Through-plane motion. Material at reference depth Z (mm from the basal plane toward the apex)
moves toward the apex, the apex still: ``z = Z + s d (1 - Z / L)`` with ``d`` the peak descent of
the base and ``L`` the epicardial long axis. The plane at depth ``z_p`` therefore shows, at timing
value s, the material from ``Z(s) = (z_p - s d) / (1 - s d / L)`` (the basal plane's radii above
it): an LV cut with that level's radii, moving in-plane as that level does. Tags are planes
through the slice, so the entering material carries the same tag pattern at its reference
in-plane position; the truth is the in-plane motion of the material in the plane, which is what
a tag tracker (and an expert following tag crossings) measures.

Heart rotation. After the LV's motion, a point at distance r from the LV centre turns about it by
``s phi w(r)`` (``phi`` the peak rotation, ``w`` the fade below): rigid in the wall, none in the
chest. Each circle about the centre turns as a whole, so r is unchanged and the inverse is
exact (turn back by the same angle).

Heart translation. After the rotation, a point at distance r from the LV centre moves by
``s T w(r)``, with ``w = 1`` up to just beyond the largest deformed epicardium (strain in the wall
is untouched) and a smoothstep down to 0 over a shear layer ``b >= 2 |T|`` wide, so that the
chest wall, liver and lung beyond it stay still. The map stays invertible because
``|T| max|w'| = 1.5 |T| / b <= 0.75 < 1``; the inverse solves the scalar ``a = w(|x - c - a s T|)``
by bisection (``a`` is the fraction of the shift a point received, monotone in the equation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache, cached_property

import numpy as np

from myoflow.phantom.motion import LVMotion, smoothstep_down
from myoflow.phantom.species import LVGeometry

#: The shift is complete (w = 1) up to this multiple of the largest deformed epicardial radius.
SHIFT_MARGIN = 1.05
#: The shear layer is at least this fraction of the epicardial radius wide.
SHEAR_MIN_FRACTION = 0.3
_BISECTIONS = 40


@cache
def _level_motion(base: LVMotion, r_endo_mm: float, r_epi_mm: float) -> LVMotion:
    if (r_endo_mm, r_epi_mm) == (base.r_endo_mm, base.r_epi_mm):
        return base
    return replace(base, r_endo_mm=r_endo_mm, r_epi_mm=r_epi_mm)


@dataclass(frozen=True)
class SliceMotion:
    """``base`` (the slice's motion at its ED level) seen by a fixed plane.

    ``descent_mm`` is the peak descent of the base (0: no through-plane motion; needs
    ``geometry``), ``z_mm`` the plane's depth, ``shift_mm`` the peak heart translation (x, y),
    ``rotation_deg`` the peak heart rotation (counter-clockwise in x, y).
    """

    base: LVMotion
    geometry: LVGeometry | None = None
    z_mm: float = 0.0
    descent_mm: float = 0.0
    shift_mm: tuple[float, float] = (0.0, 0.0)
    rotation_deg: float = 0.0

    def __post_init__(self) -> None:
        if self.descent_mm and self.geometry is None:
            raise ValueError("through-plane motion needs the LV geometry")
        if self.geometry is not None and self.descent_mm >= self.geometry.epi_length_mm:
            raise ValueError("the base cannot descend beyond the apex")

    # ------------------------------------------------------------------ what the plane cuts
    def level_mm(self, s: float) -> float:
        """Reference depth of the material in the plane at timing value s."""
        if not self.descent_mm:
            return self.z_mm
        assert self.geometry is not None
        ds = float(s) * self.descent_mm
        return (self.z_mm - ds) / (1.0 - ds / self.geometry.epi_length_mm)

    def at(self, s: float) -> LVMotion:
        """The LV motion of the level cut at s (``base`` itself without through-plane motion)."""
        if not self.descent_mm:
            return self.base
        assert self.geometry is not None
        r0, r1 = self.geometry.radii_at(self.level_mm(s))
        return _level_motion(self.base, r0, r1)

    def radii(self, s: float) -> tuple[float, float]:
        """ED endo and epi radius of the level cut at s (labels of the entering material)."""
        level = self.at(s)
        return level.r_endo_mm, level.r_epi_mm

    # ---------------------------------------------------------------- the shift and its fade
    @cached_property
    def _shift_norm(self) -> float:
        return math.hypot(*self.shift_mm)

    @cached_property
    def _shift_zone(self) -> tuple[float, float]:
        """``(r_in, b)``: full shift up to r_in (mm from the centre), fading over b."""
        stretch = float(np.linalg.norm(self.base.a_matrix, 2))
        reach = max(level.reach_mm for level in self._extremes)
        r_in = SHIFT_MARGIN * stretch * reach
        return r_in, max(2.0 * self._shift_norm, SHEAR_MIN_FRACTION * self.base.r_epi_mm)

    @cached_property
    def _extremes(self) -> tuple[LVMotion, ...]:
        """The level motions at ED and ES: the radii are monotone in s in between."""
        return (self.at(0.0), self.at(1.0))

    def _weight(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r_in, b = self._shift_zone
        r = np.hypot(x - self.base.center_mm[0], y - self.base.center_mm[1])
        return smoothstep_down((r - r_in) / b)

    def _turn(
        self, x: np.ndarray, y: np.ndarray, s: float, sign: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The points turned about the LV centre by ``sign s phi w(r)`` (r does not change)."""
        if not self.rotation_deg or not s:
            return x, y
        cx, cy = self.base.center_mm
        dx, dy = np.asarray(x, float) - cx, np.asarray(y, float) - cy
        angle = sign * float(s) * math.radians(self.rotation_deg) * self._weight(x, y)
        cos, sin = np.cos(angle), np.sin(angle)
        dtype = np.result_type(x, np.float32)
        return (cx + cos * dx - sin * dy).astype(dtype), (cy + sin * dx + cos * dy).astype(dtype)

    def _unshift(self, x: np.ndarray, y: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
        """Positions before the shift of the points at ``(x, y)`` (bisection on the fraction)."""
        if not self._shift_norm or not s:
            return x, y
        tx, ty = s * self.shift_mm[0], s * self.shift_mm[1]
        xd, yd = np.asarray(x, float), np.asarray(y, float)
        lo, hi = np.zeros(xd.shape), np.ones(xd.shape)
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            above = mid > self._weight(xd - mid * tx, yd - mid * ty)
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid)
        frac = 0.5 * (lo + hi)
        dtype = np.result_type(x, np.float32)
        return (xd - frac * tx).astype(dtype), (yd - frac * ty).astype(dtype)

    # --------------------------------------------------- the interface render and truth use
    @property
    def center_mm(self) -> tuple[float, float]:
        return self.base.center_mm

    @property
    def r_endo_mm(self) -> float:
        return self.base.r_endo_mm

    @property
    def r_epi_mm(self) -> float:
        return self.base.r_epi_mm

    def to_circular(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.base.to_circular(x, y)

    def from_circular(self, xc: np.ndarray, yc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.base.from_circular(xc, yc)

    def wall_point(self, angle_deg: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        return self.base.wall_point(angle_deg, fraction)

    @cached_property
    def static_radius_mm(self) -> float:
        """Circular radius beyond which every point is at rest at every s."""
        lv = max(level.static_radius_mm for level in self._extremes)
        if not self._shift_norm and not self.rotation_deg:
            return lv
        r_in, b = self._shift_zone
        smallest = float(np.linalg.svd(self.base.a_matrix, compute_uv=False).min())
        return max(lv, (r_in + b + self._shift_norm) / smallest)

    def forward(self, points: np.ndarray, s: float) -> np.ndarray:
        """``[..., 2]`` ED positions (mm) -> positions at timing value s."""
        out = self.at(s).forward(points, s)
        if self.rotation_deg and s:
            x, y = self._turn(out[..., 0], out[..., 1], s, 1.0)
            out = np.stack([x, y], axis=-1).astype(out.dtype)
        if self._shift_norm and s:
            w = self._weight(out[..., 0], out[..., 1])[..., None]
            out = out + float(s) * np.asarray(self.shift_mm) * w
        return out

    def inverse_circular(
        self, x: np.ndarray, y: np.ndarray, s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Circular reference coordinates ``(xc, yc, psi)`` of the points at ``(x, y)`` at s,
        in the frame of the level cut at s (whose radii ``radii(s)`` gives)."""
        ux, uy = self._turn(*self._unshift(x, y, s), s, -1.0)
        return self.at(s).inverse_circular(ux, uy, s)

    def strain(self, points: np.ndarray, s: float) -> dict[str, np.ndarray]:
        """Analytic in-plane strain at ED points: the level's (rotation and shift are rigid in
        the wall, so the Lagrangian Green strain does not change)."""
        return self.at(s).strain(points, s)

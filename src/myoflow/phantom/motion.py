"""Analytic motion of one short-axis slice of a thick-walled, incompressible left ventricle.

Why this construction: the phantom must give displacement and strain that are *exactly* known,
exactly incompressible (so strain estimators can be checked against physics, not against another
approximation) and exactly invertible (so images can be rendered by asking, for every pixel at
frame t, which material point sits there).

Coordinates. Positions are ``(x, y)`` in mm in image coordinates (``myoflow.record``). The slice is
described in *circular* coordinates ``X_c = A^-1 (X - c)`` about the LV centre ``c``, where ``A`` is
a constant area-preserving linear map (``diag(1+e, 1/(1+e))`` rotated by the ellipse angle) that
makes the LV elliptical. In circular coordinates the reference (ED) wall is the annulus
``R0 <= R <= R1`` and the motion is, with ``psi = R^2`` and ``rho = r^2``:

* radial step (wall): ``rho = a(Theta, s)^2 + (psi - R0^2) / lambda_z(s)``. Theta is unchanged, so
  the in-plane area ratio is exactly ``1 / lambda_z``, and with the longitudinal stretch
  ``lambda_z = 1 - ell * s`` the 3-D Jacobian is exactly 1.
* twist step: ``theta = Theta + phi(rho, s)``. phi depends on the *deformed* area coordinate only,
  so the step has Jacobian 1 and inverts in closed form: ``Theta = theta - phi(r^2, s)``, then
  ``psi = R0^2 + lambda_z (rho - a(Theta, s)^2)``.

The endocardial radius ``a`` is set by the peak mid-wall Green-Lagrange circumferential strain:
at the mid-wall radius ``Rm = (R0 + R1) / 2`` the deformed radius is ``sqrt(1 + 2 s m Ecc) Rm``, so
without twist or regional variation the mid-wall Green Ecc is exactly ``s * m * Ecc``. ``m(Theta)``
is the contraction amplitude: a global scale times ``1 - sum(severity * w)`` with smooth von Mises
bumps ``w`` (severity 1 = akinetic at the sector centre, > 1 dyskinetic).

Outside the wall the motion only has to make images look right. It stays exactly invertible: the
blood pool scales its area coordinate (``rho = a^2 psi / R0^2``), and beyond the epicardium the
area-coordinate offset of the epicardium decays quadratically to zero over a blend zone
(``rho = psi + d (1 - q)^2``, inverted by the quadratic formula), while the twist decays to zero
with a smoothstep in the deformed radius. Beyond ``static_radius_mm`` every point is at rest.
The truth (displacement, strain) is only meaningful in the myocardium.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

# Samples of s in [0, 1] on which the bounds of the model (positive endocardial radius, monotone
# blend zone, largest deformed epicardial radius) are checked and maximised.
_S_CHECK = np.linspace(0.0, 1.0, 201)


@dataclass(frozen=True)
class Sector:
    """A region of reduced contraction: a von Mises bump in the image angle (degrees).

    ``width_deg`` is the full width at half maximum. ``severity`` is the fraction of contraction
    lost at the centre (1 akinetic, > 1 dyskinetic, < 0 hyperkinetic). ``thinning`` is the
    fraction of the ED wall an infarct scar loses there: anatomy only (``phantom.thinning``).
    """

    center_deg: float
    width_deg: float
    severity: float
    thinning: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.width_deg <= 360.0:
            raise ValueError(f"sector width must be in (0, 360] degrees, got {self.width_deg}")

    @property
    def kappa(self) -> float:
        """Concentration giving w = 1/2 at half the width from the centre."""
        return math.log(2.0) / (1.0 - math.cos(math.radians(self.width_deg) / 2.0))

    def weight(self, cos_a: np.ndarray, sin_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(w, dw/dalpha)`` at the image angle alpha given by its cosine and sine."""
        cc, sc = math.cos(math.radians(self.center_deg)), math.sin(math.radians(self.center_deg))
        cos_d = cos_a * cc + sin_a * sc
        sin_d = sin_a * cc - cos_a * sc
        w = np.exp(self.kappa * (cos_d - 1.0))
        return w, -self.kappa * sin_d * w


def smoothstep_down(q: np.ndarray) -> np.ndarray:
    """1 at q <= 0, 0 at q >= 1, C1 in between (used to fade the twist out of the wall)."""
    q = np.clip(q, 0.0, 1.0)
    return 1.0 - q * q * (3.0 - 2.0 * q)


@dataclass(frozen=True)
class LVMotion:
    """The motion of one slice as a function of the timing value s (0 at ED, 1 at peak).

    Parameters are in mm and degrees. ``ecc_peak`` is the healthy peak mid-wall Green Ecc (< 0);
    ``long_shortening`` is ``ell`` in ``lambda_z = 1 - global_scale * ell * s``; ``global_scale``
    scales both the in-plane and the longitudinal contraction. ``rotation_deg`` is the peak rigid
    rotation of the slice (change of image angle), ``twist_deg`` the peak endocardial minus
    epicardial rotation, linear in the deformed radius across the wall. ``blend`` is the length of
    the zone outside the epicardium over which the motion fades out, as a fraction of R1.
    """

    center_mm: tuple[float, float]
    r_endo_mm: float
    r_epi_mm: float
    ecc_peak: float = -0.18
    long_shortening: float = 0.07
    twist_deg: float = 0.0
    rotation_deg: float = 0.0
    ellipticity: float = 0.0
    ellipse_angle_deg: float = 0.0
    global_scale: float = 1.0
    sectors: tuple[Sector, ...] = ()
    blend: float = 0.6

    def __post_init__(self) -> None:
        if not 0.0 < self.r_endo_mm < self.r_epi_mm:
            raise ValueError(f"need 0 < R0 < R1, got R0={self.r_endo_mm}, R1={self.r_epi_mm}")
        if self.ellipticity <= -1.0 or self.blend <= 0.0:
            raise ValueError("ellipticity must be > -1 and blend > 0")
        lz = self.lambda_z(_S_CHECK)
        if np.any(lz <= 0.0):
            raise ValueError("longitudinal stretch lambda_z must stay positive")
        m_lo, m_hi = self.amplitude_bounds
        if np.any(self._endo_sq_at(m_hi, _S_CHECK) <= 0.0):
            raise ValueError("contraction too strong: the endocardial radius would reach zero")
        d_max = np.max(self._endo_sq_at(m_lo, _S_CHECK) + self._wall_area / lz) - self.r_epi_mm**2
        if self._blend_area <= 2.0 * d_max:
            raise ValueError("dilation too strong for the blend zone: increase blend")

    # ----------------------------------------------------------------- geometry and amplitudes
    @cached_property
    def a_matrix(self) -> np.ndarray:
        """The area-preserving map A from circular to physical coordinates (det A = 1)."""
        w = np.radians(self.ellipse_angle_deg)
        rot = np.array([[np.cos(w), -np.sin(w)], [np.sin(w), np.cos(w)]])
        scale = np.diag([1.0 + self.ellipticity, 1.0 / (1.0 + self.ellipticity)])
        return rot @ scale @ rot.T

    @cached_property
    def a_inverse(self) -> np.ndarray:
        return np.linalg.inv(self.a_matrix)

    @property
    def r_mid_mm(self) -> float:
        return 0.5 * (self.r_endo_mm + self.r_epi_mm)

    @property
    def _wall_area(self) -> float:
        """R1^2 - R0^2: the span of the wall in the area coordinate psi (annulus area / pi)."""
        return self.r_epi_mm**2 - self.r_endo_mm**2

    @property
    def _blend_area(self) -> float:
        """Area-coordinate length of the blend zone outside the epicardium."""
        return ((1.0 + self.blend) * self.r_epi_mm) ** 2 - self.r_epi_mm**2

    @property
    def amplitude_bounds(self) -> tuple[float, float]:
        """Lower and upper bounds of the contraction amplitude m over all angles."""
        sev = np.array([sec.severity for sec in self.sectors], dtype=float)
        lo = self.global_scale * (1.0 - np.sum(np.maximum(sev, 0.0)))
        hi = self.global_scale * (1.0 - np.sum(np.minimum(sev, 0.0)))
        return float(lo), float(hi)

    def lambda_z(self, s: np.ndarray | float) -> np.ndarray | float:
        """Longitudinal (through-plane) stretch at timing value s (a float for a scalar s)."""
        lz = 1.0 - self.global_scale * self.long_shortening * np.asarray(s, dtype=float)
        return float(lz) if lz.ndim == 0 else lz

    def amplitude(self, cos_t: np.ndarray, sin_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(m, dm/dTheta)`` at circular angle Theta; sectors are placed in the image angle.

        The image angle alpha of the ray ``A (cos Theta, sin Theta)`` has
        ``dalpha/dTheta = det(A) / |A u|^2 = 1 / |A u|^2``, which gives the chain rule.
        """
        if not self.sectors:
            return np.full_like(cos_t, self.global_scale), np.zeros_like(cos_t)
        a = self.a_matrix.astype(cos_t.dtype)
        vx = a[0, 0] * cos_t + a[0, 1] * sin_t
        vy = a[1, 0] * cos_t + a[1, 1] * sin_t
        n2 = vx * vx + vy * vy
        n = np.sqrt(n2)
        cos_a, sin_a = vx / n, vy / n
        loss = np.zeros_like(cos_t)
        dloss = np.zeros_like(cos_t)
        for sec in self.sectors:
            w, dw = sec.weight(cos_a, sin_a)
            loss += sec.severity * w
            dloss += sec.severity * dw
        return self.global_scale * (1.0 - loss), -self.global_scale * dloss / n2

    def _endo_sq_at(self, m: np.ndarray | float, s: np.ndarray | float) -> np.ndarray | float:
        """Deformed endocardial area coordinate a^2 for amplitude m at timing value s."""
        rm2 = self.r_mid_mm**2
        return rm2 * (1.0 + 2.0 * s * m * self.ecc_peak) - (
            rm2 - self.r_endo_mm**2
        ) / self.lambda_z(s)

    def _endo_sq(
        self, cos_t: np.ndarray, sin_t: np.ndarray, s: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(a^2, d(a^2)/dTheta)`` at circular angle Theta."""
        m, dm = self.amplitude(cos_t, sin_t)
        return np.asarray(self._endo_sq_at(m, s)), 2.0 * self.r_mid_mm**2 * s * self.ecc_peak * dm

    # ------------------------------------------------------------------------------- twist
    def _twist_radii(self, s: float) -> tuple[float, float, float]:
        """``(r_endo, r_epi, r_high)``: deformed radii that anchor and bound the twist profile.

        r_endo / r_epi are the deformed wall radii without regional dysfunction (amplitude =
        global scale); r_high bounds every deformed epicardial radius, so the twist is the
        undamped wall profile everywhere inside the wall.
        """
        lz = self.lambda_z(s)
        en = float(self._endo_sq_at(self.global_scale, s))
        hi = float(self._endo_sq_at(self.amplitude_bounds[0], s))
        return (
            math.sqrt(en),
            math.sqrt(en + self._wall_area / lz),
            math.sqrt(hi + self._wall_area / lz),
        )

    def _twist(
        self, rho: np.ndarray, s: float, damped: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(phi, dphi/drho)`` in radians at deformed area coordinate rho.

        phi is linear in the deformed radius from +twist/2 (endocardium) to -twist/2 (epicardium)
        around the rigid rotation. ``damped`` fades it out beyond the wall (the derivative
        returned is always the undamped wall profile's, used only inside the wall).
        """
        r_en, r_ep, r_hi = self._twist_radii(s)
        r = np.sqrt(rho)
        xi = (r - r_en) / (r_ep - r_en)
        twist = math.radians(self.twist_deg)
        phi = s * (math.radians(self.rotation_deg) + twist * (0.5 - xi))
        dphi = -s * twist / (r_ep - r_en) / (2.0 * np.maximum(r, 1e-12))
        if damped:
            phi = phi * smoothstep_down((r - r_hi) / (self.blend * self.r_epi_mm))
        return phi, dphi

    # ---------------------------------------------------------------------- coordinate maps
    def to_circular(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Circular coordinates ``A^-1 (X - c)`` of physical points (component arrays)."""
        ai = self.a_inverse.astype(np.result_type(x, np.float32))
        dx, dy = x - self.center_mm[0], y - self.center_mm[1]
        return ai[0, 0] * dx + ai[0, 1] * dy, ai[1, 0] * dx + ai[1, 1] * dy

    def from_circular(self, xc: np.ndarray, yc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Physical coordinates ``c + A X_c`` of circular coordinates (component arrays)."""
        a = self.a_matrix.astype(np.result_type(xc, np.float32))
        return (
            a[0, 0] * xc + a[0, 1] * yc + self.center_mm[0],
            a[1, 0] * xc + a[1, 1] * yc + self.center_mm[1],
        )

    def _deformed_area(
        self, psi: np.ndarray, cos_t: np.ndarray, sin_t: np.ndarray, s: float
    ) -> np.ndarray:
        """rho from psi in every region (pool, wall, blend zone, rest)."""
        a2, _ = self._endo_sq(cos_t, sin_t, s)
        lz = self.lambda_z(s)
        r0s, r1s = self.r_endo_mm**2, self.r_epi_mm**2
        d = a2 + self._wall_area / lz - r1s
        q = np.clip((psi - r1s) / self._blend_area, 0.0, 1.0)
        outside = psi + d * (1.0 - q) ** 2
        wall = a2 + (psi - r0s) / lz
        pool = a2 * psi / r0s
        return np.where(psi < r0s, pool, np.where(psi <= r1s, wall, outside))

    def forward_xy(self, x: np.ndarray, y: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
        """Positions at timing value s of the material points at ``(x, y)`` at ED."""
        s = float(s)
        xc, yc = self.to_circular(x, y)
        psi = xc * xc + yc * yc
        big_theta = np.arctan2(yc, xc)
        rho = self._deformed_area(psi, np.cos(big_theta), np.sin(big_theta), s)
        theta = big_theta + self._twist(rho, s)[0]
        r = np.sqrt(rho)
        return self.from_circular(r * np.cos(theta), r * np.sin(theta))

    def inverse_circular(
        self, x: np.ndarray, y: np.ndarray, s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(xc, yc, psi)``: circular reference coordinates of the points at ``(x, y)`` at s.

        Closed form in every region: undo the twist (a function of the deformed radius only),
        then the radial step of the region the point is in, found by comparing rho with the
        deformed endocardial and epicardial area coordinates at the recovered Theta.
        """
        s = float(s)
        ux, uy = self.to_circular(x, y)
        rho = ux * ux + uy * uy
        big_theta = np.arctan2(uy, ux) - self._twist(rho, s)[0]
        cos_t, sin_t = np.cos(big_theta), np.sin(big_theta)
        a2, _ = self._endo_sq(cos_t, sin_t, s)
        lz = self.lambda_z(s)
        r0s, r1s = self.r_endo_mm**2, self.r_epi_mm**2
        rho_epi = a2 + self._wall_area / lz
        d = rho_epi - r1s
        b = self._blend_area - 2.0 * d
        c = d + r1s - rho
        q = -2.0 * c / (b + np.sqrt(np.maximum(b * b - 4.0 * d * c, 0.0)))
        outside = np.where(rho >= r1s + self._blend_area, rho, r1s + self._blend_area * q)
        wall = r0s + lz * (rho - a2)
        pool = r0s * rho / a2
        psi = np.where(rho < a2, pool, np.where(rho <= rho_epi, wall, outside))
        big_r = np.sqrt(psi)
        return big_r * cos_t, big_r * sin_t, psi

    def forward(self, points: np.ndarray, s: float) -> np.ndarray:
        """``[..., 2]`` ED positions (mm) -> positions at timing value s."""
        x, y = self.forward_xy(points[..., 0], points[..., 1], s)
        return np.stack([x, y], axis=-1)

    def inverse(self, points: np.ndarray, s: float) -> np.ndarray:
        """``[..., 2]`` positions at timing value s -> their ED (reference) positions."""
        xc, yc, _ = self.inverse_circular(points[..., 0], points[..., 1], s)
        x, y = self.from_circular(xc, yc)
        return np.stack([x, y], axis=-1)

    @cached_property
    def reach_mm(self) -> float:
        """Largest deformed epicardial radius over the cycle (circular coordinates)."""
        return max(self._twist_radii(float(s))[2] for s in _S_CHECK)

    @cached_property
    def static_radius_mm(self) -> float:
        """Circular radius beyond which every point is at rest at every s (map = identity)."""
        blend_zone = np.sqrt(self.r_epi_mm**2 + self._blend_area)
        return float(max(blend_zone, self.reach_mm + self.blend * self.r_epi_mm))

    def wall_point(self, angle_deg: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """``[..., 2]`` ED point on the ray at image angle ``angle_deg`` from the centre, at
        ``fraction`` of the way from the endocardium (0) to the epicardium (1)."""
        ang = np.radians(np.asarray(angle_deg, dtype=float))
        d = np.stack([np.cos(ang), np.sin(ang)], axis=-1)
        scale = np.linalg.norm(d @ self.a_inverse.T, axis=-1)
        radius = self.r_endo_mm + np.asarray(fraction, dtype=float) * (
            self.r_epi_mm - self.r_endo_mm
        )
        return np.asarray(self.center_mm) + (radius / scale)[..., None] * d

    def circular_angle_deg(self, angle_deg: float) -> float:
        """The circular-coordinate angle of the ray at image angle ``angle_deg``."""
        ang = np.radians(angle_deg)
        v = self.a_inverse @ np.array([np.cos(ang), np.sin(ang)])
        return float(np.degrees(np.arctan2(v[1], v[0])))

    # ------------------------------------------------------------------ analytic kinematics
    def deformation_gradient(self, points: np.ndarray, s: float) -> np.ndarray:
        """Analytic ``F = dx/dX`` ``[..., 2, 2]`` of the wall motion at ED points ``[..., 2]``.

        In circular polar coordinates, with Q(angle) the rotation whose columns are e_r, e_theta:
        ``F_c = Q(theta) [[dr/dR, dr/dTheta / R], [r dtheta/dR, r dtheta/dTheta / R]] Q(Theta)^T``
        and ``F = A F_c A^-1``. det F = 1 / lambda_z exactly. Evaluated with the wall formula
        everywhere (its smooth extension just outside the wall serves boundary pixels).
        """
        s = float(s)
        pts = np.asarray(points, dtype=float)
        xc, yc = self.to_circular(pts[..., 0], pts[..., 1])
        psi = xc * xc + yc * yc
        big_r = np.sqrt(psi)
        big_theta = np.arctan2(yc, xc)
        a2, da2 = self._endo_sq(np.cos(big_theta), np.sin(big_theta), s)
        lz = self.lambda_z(s)
        rho = a2 + (psi - self.r_endo_mm**2) / lz
        r = np.sqrt(rho)
        phi, dphi = self._twist(rho, s, damped=False)
        theta = big_theta + phi
        m = np.empty(pts.shape[:-1] + (2, 2))
        m[..., 0, 0] = big_r / (r * lz)
        m[..., 0, 1] = da2 / (2.0 * r) / big_r
        m[..., 1, 0] = r * dphi * 2.0 * big_r / lz
        m[..., 1, 1] = r * (1.0 + dphi * da2) / big_r
        fc = _rotation(theta) @ m @ np.swapaxes(_rotation(big_theta), -1, -2)
        return self.a_matrix @ fc @ self.a_inverse

    def strain(self, points: np.ndarray, s: float) -> dict[str, np.ndarray]:
        """Analytic ``{'ecc_green', 'err_green', 'ecc_eng', 'err_eng'}`` at ED points ``[..., 2]``.

        Directions are radial and circumferential about the ED LV centre at the reference point
        (e_c toward increasing image angle), as in ``myoflow.strain``.
        """
        pts = np.asarray(points, dtype=float)
        f = self.deformation_gradient(pts, s)
        e = 0.5 * (np.swapaxes(f, -1, -2) @ f - np.eye(2))
        ang = np.arctan2(pts[..., 1] - self.center_mm[1], pts[..., 0] - self.center_mm[0])
        e_r = np.stack([np.cos(ang), np.sin(ang)], axis=-1)
        e_c = np.stack([-np.sin(ang), np.cos(ang)], axis=-1)
        err = np.einsum("...i,...ij,...j->...", e_r, e, e_r)
        ecc = np.einsum("...i,...ij,...j->...", e_c, e, e_c)
        return {
            "ecc_green": ecc,
            "err_green": err,
            "ecc_eng": np.sqrt(1.0 + 2.0 * ecc) - 1.0,
            "err_eng": np.sqrt(1.0 + 2.0 * err) - 1.0,
        }


def _rotation(angle: np.ndarray) -> np.ndarray:
    """``[..., 2, 2]`` rotation matrices with columns (cos, sin) and (-sin, cos)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([np.stack([c, -s], axis=-1), np.stack([s, c], axis=-1)], axis=-2)

"""SPAMM tagging physics: the one implementation shared by the phantom and pseudo-tagged cine.

Why physics and not a cosine: the tag profile of a binomial pulse train (1-1, 1-3-3-1) is what a
tracking method sees in real data, sharp 1-3-3-1 tags included, and the same code must later turn
annotated real cine into pseudo-tagged images. So everything here works on *reference positions*
in mm (any grid, any image), never on the phantom's internals.

Model. A tagging module is a train of RF pulses about x (flip angles from the binomial pattern,
scaled to a total of 90 degrees), with a gradient between pulses that precesses the transverse
magnetisation about z by ``gamma = 2 pi (X . n) / spacing`` at reference position X. After the
last pulse a crusher destroys the transverse magnetisation, leaving the longitudinal profile
``Mz(gamma)``. It is computed by multiplying the Bloch rotation matrices. A grid applies two
modules with orthogonal directions in sequence; since the second module acts linearly on the
longitudinal magnetisation the first one left, the grid profile is the product of the two.

Because each precession matrix has entries in {1, cos gamma, sin gamma}, ``Mz`` of an n-pulse
train is exactly a trigonometric polynomial of degree n - 1 in gamma. Its coefficients are taken
from the exact Bloch product sampled at enough phases (a DFT of a band-limited function is exact),
so images evaluate the exact profile with one cos/sin per point instead of n matrix products.

Between tagging and each frame, Mz relaxes with T1 toward M0 (tag fading); an optional readout
flip angle per frame depletes Mz further. Both are affine in the initial Mz, so a frame's
magnetisation is ``offset + gain * Mz0`` with per-frame scalars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

PATTERNS: dict[str, tuple[int, ...]] = {"1-1": (1, 1), "1-3-3-1": (1, 3, 3, 1)}
TOTAL_FLIP_DEG = 90.0


def flip_angles_deg(pattern: str, total_deg: float = TOTAL_FLIP_DEG) -> np.ndarray:
    """Flip angles of a binomial pattern scaled to ``total_deg`` (1-1 -> 45, 45 for 90)."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown tagging pattern {pattern!r}; choose one of {sorted(PATTERNS)}")
    weights = np.asarray(PATTERNS[pattern], dtype=float)
    return total_deg * weights / weights.sum()


def _rot_x(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rot_z(angle_rad: np.ndarray) -> np.ndarray:
    """``[..., 3, 3]`` precession matrices about z."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.stack(
        [np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1), np.stack([zero, zero, one], -1)],
        axis=-2,
    )


def module_mz(flips_deg: np.ndarray, precession_rad: np.ndarray) -> np.ndarray:
    """Longitudinal magnetisation (M0 = 1) after one crushed module, by Bloch rotation matrices.

    ``precession_rad`` is the gradient-induced phase between consecutive pulses at each point.
    """
    gamma = np.asarray(precession_rad, dtype=float)
    total = np.broadcast_to(np.eye(3), gamma.shape + (3, 3))
    for i, flip in enumerate(flips_deg):
        if i:
            total = _rot_z(gamma) @ total
        total = _rot_x(math.radians(float(flip))) @ total
    return total[..., 2, 2]  # (R_total @ [0, 0, 1])_z; the crusher removes Mx, My


def module_harmonics(flips_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` with ``Mz(gamma) = sum_k a_k cos(k gamma) + b_k sin(k gamma)``, k = 0..n-1.

    Exact: Mz is a trigonometric polynomial of degree n - 1, and 4n equally spaced samples of the
    Bloch result determine it without aliasing.
    """
    n = len(flips_deg)
    samples = 4 * n
    mz = module_mz(flips_deg, 2.0 * np.pi * np.arange(samples) / samples)
    spec = np.fft.rfft(mz) / samples
    a = 2.0 * spec.real[:n]
    b = -2.0 * spec.imag[:n]
    a[0] /= 2.0
    return a, b


def evaluate_harmonics(a: np.ndarray, b: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """``sum_k a_k cos(k gamma) + b_k sin(k gamma)`` with one cos/sin (angle-addition recurrence)."""
    c1, s1 = np.cos(gamma), np.sin(gamma)
    out = np.full_like(c1, a[0])
    ck, sk = c1, s1
    for k in range(1, len(a)):
        out += a[k] * ck + b[k] * sk
        ck, sk = ck * c1 - sk * s1, sk * c1 + ck * s1
    return out


@dataclass(frozen=True)
class TagGrid:
    """A SPAMM tag pattern in reference coordinates.

    ``angle_deg`` turns the first module's gradient direction from the x axis (columns); the
    second module (when ``grid``) is perpendicular. ``offset_rad`` shifts each module's phase, so
    tag lines need not pass through the image origin.
    """

    pattern: str = "1-3-3-1"
    spacing_mm: float = 1.0
    angle_deg: float = 0.0
    grid: bool = True
    offset_rad: tuple[float, float] = (0.0, 0.0)
    total_flip_deg: float = TOTAL_FLIP_DEG

    def __post_init__(self) -> None:
        if not self.spacing_mm > 0:
            raise ValueError(f"tag spacing must be positive, got {self.spacing_mm}")
        flip_angles_deg(self.pattern)

    @cached_property
    def harmonics(self) -> tuple[np.ndarray, np.ndarray]:
        return module_harmonics(flip_angles_deg(self.pattern, self.total_flip_deg))

    def directions(self) -> list[tuple[float, float]]:
        """Unit gradient directions (x, y) of the modules, in the order they are applied."""
        w = math.radians(self.angle_deg)
        first = (math.cos(w), math.sin(w))
        return [first, (-first[1], first[0])] if self.grid else [first]

    def phases(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """Precession phase of each module at reference positions (component arrays, mm)."""
        k = 2.0 * math.pi / self.spacing_mm
        return [
            k * (nx * x + ny * y) + off for (nx, ny), off in zip(self.directions(), self.offset_rad)
        ]

    def mz0(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Longitudinal magnetisation (M0 = 1) right after tagging at reference positions."""
        a, b = self.harmonics
        out: np.ndarray | None = None
        for gamma in self.phases(x, y):
            mz = evaluate_harmonics(a.astype(gamma.dtype), b.astype(gamma.dtype), gamma)
            out = mz if out is None else out * mz
        assert out is not None
        return out


def relaxation(
    times_ms: np.ndarray,
    t1_ms: float | np.ndarray,
    readout_flip_deg: float = 0.0,
    readouts_per_frame: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """``(offset, gain)`` per frame: ``Mz(t_k) = offset[k] + gain[k] * Mz0`` (M0 = 1).

    T1 recovery between events, ``Mz(t) = Mz(t0) e^(-dt/T1) + (1 - e^(-dt/T1))``, and, when
    ``readout_flip_deg`` > 0, each frame's ``readouts_per_frame`` RF pulses (the k-space lines of
    a segmented acquisition acquired in that frame of each heartbeat) leave ``cos(flip)^n`` of Mz
    after it is imaged.
    Tagging happens at t = 0; times must be non-negative and non-decreasing. ``t1_ms`` may be an
    array (a T1 map); the outputs are then ``[T, *t1.shape]``.
    """
    times = np.asarray(times_ms, dtype=float)
    if np.any(times < 0) or np.any(np.diff(times) < 0):
        raise ValueError("frame times must be non-negative and non-decreasing")
    t1 = np.asarray(t1_ms, dtype=float)
    depletion = math.cos(math.radians(readout_flip_deg)) ** readouts_per_frame
    offset = np.empty((len(times),) + t1.shape)
    gain = np.empty_like(offset)
    off, g, t_prev = np.zeros(t1.shape), np.ones(t1.shape), 0.0
    for k, t in enumerate(times):
        decay = np.exp(-(t - t_prev) / t1)
        off, g = off * decay + (1.0 - decay), g * decay
        offset[k], gain[k] = off, g
        off, g, t_prev = off * depletion, g * depletion, float(t)
    return offset, gain


def apply_tagging(
    images: np.ndarray,
    reference_mm: np.ndarray,
    times_ms: np.ndarray,
    tags: TagGrid,
    t1_ms: float | np.ndarray,
    readout_flip_deg: float = 0.0,
) -> np.ndarray:
    """Tagged version ``[T, H, W]`` of an image series, for any image (phantom or real cine).

    ``reference_mm`` holds each pixel's reference (tagging-time) position as ``[2, H, W]`` (the
    same for every frame: static tags) or ``[T, 2, H, W]`` (e.g. pixel grid minus a displacement
    field, so the tags move with the tissue). ``t1_ms`` is a scalar or an ``[H, W]`` map. The
    magnitude image shows ``|Mz|`` times the untagged signal.
    """
    imgs = np.asarray(images, dtype=np.float32)
    ref = np.asarray(reference_mm)
    if ref.ndim == 3:
        ref = np.broadcast_to(ref, (imgs.shape[0],) + ref.shape)
    offset, gain = relaxation(times_ms, t1_ms, readout_flip_deg)
    out = np.empty_like(imgs)
    for k in range(imgs.shape[0]):
        mz = offset[k] + gain[k] * tags.mz0(ref[k, 0], ref[k, 1])
        out[k] = imgs[k] * np.abs(mz)
    return out

"""Whole short-axis stacks: every slice of one LV from the base to a closed apex (paper 002).

Why: paper 002 segments a mouse's whole short-axis stack at once, and what makes that hard is a
property of the stack, not of one slice: the wall and the cavity taper toward the apex until only
epicardium is left, slices acquired in separate breath-holds sit a little off each other
(misplacement), and near the lung the myocardium loses its signal by intravoxel dephasing (signal
voids). The phantom cuts the stack from the subject's one half-ellipsoidal geometry
(``species.LVGeometry``), so every slice's myocardium is known analytically.

Placement. ``count`` slices ``gap_mm`` apart, the most apical a quarter of a gap inside the
epicardial apex, stepping toward the base (a real protocol fixes the gap and covers the
ventricle; the count is fixed here so that a cohort is planned without sampling any heart).
A heart shorter than the stack has its basal slices above the basal plane, where the geometry
continues with the basal plane's radii (the outflow level of a real stack).

The closed apex. Beyond the endocardial apex a slice cuts epicardium only: it is ``solid``, its
myocardium a full disc. The analytic cavity of the last ring slices shrinks to nothing while the
slice must still contract; so a slice's rendered cavity is at least ``CAVITY_MIN`` of its
epicardial radius (a solid slice has such a virtual cavity for its motion, filled with
myocardium), and a slice whose cavity would close before end-systole contracts by the largest
fraction of the subject's shortening that keeps it open (``feasible_motion``; the apex moves
least in real hearts too). The truth volume uses the rendered radii, so it is exact for what is
drawn.

Volume truth. A stack's myocardial volume is the sum over slices of the ED myocardial area times
the gap (the disc summation a user applies to masks): ``StackLevel.myocardium_area_mm2`` is
exact (the in-plane map is area-preserving; an infarct scar's thinning is integrated by
``myoflow.phantom.thinning.myocardium_area_mm2``), so ``stack_volume_ml`` is the truth the masks
are measured against (tests: within 2 %).

Misplacement and voids are drawn per slice from a stream of their own (``[seed, 4, subject]``),
so a stack cohort's other draws do not depend on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from myoflow.phantom.motion import LVMotion
from myoflow.phantom.species import LVGeometry
from myoflow.phantom.thinning import Thinning, myocardium_area_mm2

#: Per species: (slice gap in mm, slices). Mouse: paper 002's 0.8 mm and about 8 slices.
STACK_DEFAULTS = {"mouse": (0.8, 8), "rat": (1.0, 10), "human": (10.0, 9)}
#: Smallest rendered cavity radius, as a fraction of the slice's epicardial radius.
CAVITY_MIN = 0.3
#: The most apical slice lies this fraction of a gap inside the epicardial apex.
APEX_MARGIN = 0.25
#: Position names by depth over the endocardial long axis (basal, mid, apical thirds).
POSITION_BOUNDS = (1.0 / 3.0, 2.0 / 3.0)
#: Smallest end-systolic cavity radius over its ED radius (``feasible_motion``).
CAVITY_OPEN = 0.5
#: Fractions of the subject's contraction tried, largest first, until a slice's motion is valid.
_SCALES = np.round(np.arange(1.0, 0.0, -0.05), 2)
#: Signal voids: angular full width (degrees) and smoothing (pixels) of the dark band.
VOID_WIDTH_DEG = (40.0, 80.0)
VOID_SMOOTH_PX = 1.0


@dataclass(frozen=True)
class StackLevel:
    """One slice of a stack: its name, AHA position, depth and rendered ED radii (mm)."""

    slice_id: str
    position: str
    z_mm: float
    r_endo_mm: float
    r_epi_mm: float
    solid: bool = False
    #: The radii are the geometry's own (False at the closed apex), so through-plane motion may
    #: move the slice's level along the geometry.
    analytic: bool = True

    def myocardium_area_mm2(self, thinning: Thinning | None = None) -> float:
        """Exact ED myocardial area of the slice: a disc when solid, else an annulus less what
        the subject's infarct ``thinning`` gave to the cavity."""
        return myocardium_area_mm2(self.r_endo_mm, self.r_epi_mm, self.solid, thinning)


@dataclass(frozen=True)
class StackSettings:
    """A cohort's ``stack`` entry with the species defaults filled in."""

    gap_mm: float
    count: int
    #: Largest per-slice in-plane misplacement, in pixels (uniform in a disc).
    misplacement_px: float
    #: Fraction of slices with a signal void, and the void's depth (1 = no signal left).
    void_fraction: float
    void_depth: float


def stack_settings(cfg: dict[str, Any]) -> StackSettings | None:
    """The stack settings of a synthetic cohort entry, or None for a cohort of named slices."""
    stack = cfg.get("stack")
    if stack is None:
        return None
    gap, count = STACK_DEFAULTS[cfg.get("species", "rat")]
    return StackSettings(
        gap_mm=float(stack.get("gap_mm") or gap),
        count=int(stack.get("slices") or count),
        misplacement_px=float(stack.get("misplacement_px", 2.0)),
        void_fraction=float(stack.get("void_fraction", 0.3)),
        void_depth=float(stack.get("void_depth", 0.8)),
    )


def slices_per_subject(cfg: dict[str, Any]) -> int:
    """Slices of every subject of a synthetic cohort entry: the stack's count or the named ones."""
    settings = stack_settings(cfg)
    return len(cfg["slices"]) if settings is None else settings.count


def position_of(z_mm: float, geometry: LVGeometry) -> str:
    """basal, mid or apical by the slice's depth over the endocardial long axis."""
    f = z_mm / geometry.endo_length_mm
    if f < POSITION_BOUNDS[0]:
        return "basal"
    return "mid" if f < POSITION_BOUNDS[1] else "apical"


def level_at(geometry: LVGeometry, z_mm: float, slice_id: str) -> StackLevel:
    """The slice cut at depth ``z_mm``, its cavity at least ``CAVITY_MIN`` of its epicardium."""
    z = max(z_mm, 0.0)
    if z >= geometry.epi_length_mm:
        raise ValueError(f"depth {z_mm:.2f} mm is beyond the apex ({geometry.epi_length_mm:.2f})")
    r1 = geometry.epi_equator_mm * math.sqrt(1.0 - (z / geometry.epi_length_mm) ** 2)
    solid = z >= geometry.endo_length_mm
    r0 = 0.0 if solid else geometry.radii_at(z)[0]
    cavity = max(r0, CAVITY_MIN * r1)
    position = position_of(z_mm, geometry)
    return StackLevel(slice_id, position, z_mm, cavity, r1, solid, analytic=cavity == r0)


def stack_levels(geometry: LVGeometry, gap_mm: float, count: int) -> list[StackLevel]:
    """``count`` slices ``gap_mm`` apart, base first, the last near the apex (module docstring)."""
    last = geometry.epi_length_mm - APEX_MARGIN * gap_mm
    width = len(str(count - 1))
    return [
        level_at(geometry, last - (count - 1 - k) * gap_mm, f"{k:0{width}d}") for k in range(count)
    ]


def stack_volume_ml(
    levels: list[StackLevel], gap_mm: float, thinning: Thinning | None = None
) -> float:
    """Myocardial volume of the stack by disc summation of the exact ED areas (ml), the subject's
    infarct ``thinning`` (the same sectors at every level) included."""
    return sum(level.myocardium_area_mm2(thinning) for level in levels) * gap_mm / 1000.0


def feasible_motion(solid: bool = False, **kwargs: Any) -> LVMotion:
    """``LVMotion(**kwargs)`` with the largest fraction of its contraction (``global_scale``)
    that leaves the end-systolic cavity at least ``CAVITY_OPEN`` of its ED radius all round.

    Why a margin and not just a valid motion: the truth strain is the wall formula's, evaluated
    at the mask's boundary pixels too, and it has no real value where a nearly closed cavity
    would put a point at a negative area. A solid slice does not contract in plane (its virtual
    cavity is myocardium, where the wall formula has no meaning); it turns with the apex."""
    scale = 0.0 if solid else float(kwargs.pop("global_scale", 1.0))
    kwargs.pop("global_scale", None)
    for fraction in _SCALES if scale else (1.0,):
        try:
            motion = LVMotion(**kwargs, global_scale=scale * float(fraction))
        except ValueError:
            continue
        if _es_cavity_fraction(motion) >= CAVITY_OPEN:
            return motion
    raise ValueError(f"no contraction keeps a cavity of {kwargs['r_endo_mm']:.3f} mm open")


def _es_cavity_fraction(motion: LVMotion) -> float:
    """Smallest end-systolic over ED endocardial radius (circular coordinates)."""
    ed = motion.wall_point(np.arange(0.0, 360.0, 5.0), np.zeros(72))
    xc, yc = motion.to_circular(*motion.forward_xy(ed[:, 0], ed[:, 1], 1.0))
    return float(np.hypot(xc, yc).min() / motion.r_endo_mm)


@dataclass(frozen=True)
class StackDraws:
    """Per-slice draws of a stack: misplacement (x, y) in mm and the signal voids."""

    shift_mm: np.ndarray  # [Z, 2]
    void: np.ndarray  # [Z] bool
    void_frames: np.ndarray  # [Z, 2]: first frame (inclusive) and last (exclusive)
    void_width_deg: np.ndarray  # [Z]


def draw_stack(
    settings: StackSettings, seed: int, subject_index: int, pixel_mm: float, frames: int
) -> StackDraws:
    """The stack's per-slice draws from the ``[seed, 4, subject]`` stream."""
    rng = np.random.default_rng([seed, 4, subject_index])
    z = settings.count
    radius = settings.misplacement_px * pixel_mm * np.sqrt(rng.uniform(0.0, 1.0, z))
    angle = rng.uniform(0.0, 2.0 * math.pi, z)
    shift = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
    void = rng.uniform(0.0, 1.0, z) < settings.void_fraction
    length = np.maximum(1, np.round(rng.uniform(0.3, 0.8, z) * frames)).astype(int)
    start = (rng.uniform(0.0, 1.0, z) * (frames - length + 1)).astype(int)
    width = rng.uniform(*VOID_WIDTH_DEG, z)
    return StackDraws(shift, void, np.stack([start, start + length], 1), width)


def apply_void(
    images: np.ndarray,
    mask: np.ndarray,
    center_mm: tuple[float, float],
    pixel_mm: float,
    angle_deg: float,
    width_deg: float,
    depth: float,
    frames: tuple[int, int],
) -> np.ndarray:
    """``images`` ``[T, H, W]`` darkened in the myocardium facing ``angle_deg`` (the lung) over
    ``frames``: a smooth angular band (von Mises-like, full width ``width_deg``) inside each
    frame's myocardium, blurred by about a pixel so that its edge is not the mask's. The mask
    is untouched: an annotator draws the wall through the void."""
    # imported here: the shard plan reads this module at Snakemake's parse time
    from scipy.ndimage import gaussian_filter

    out = images.copy()
    h, w = images.shape[1:]
    rows, cols = np.indices((h, w), dtype=np.float64)
    theta = np.arctan2(rows * pixel_mm - center_mm[1], cols * pixel_mm - center_mm[0])
    kappa = math.log(2.0) / (1.0 - math.cos(math.radians(width_deg) / 2.0))
    band = np.exp(kappa * (np.cos(theta - math.radians(angle_deg)) - 1.0))
    for k in range(*frames):
        region = gaussian_filter(mask[k].astype(np.float64), VOID_SMOOTH_PX) * band
        out[k] = images[k] * (1.0 - depth * np.clip(region, 0.0, 1.0)).astype(images.dtype)
    return out


def void_facing(
    images: np.ndarray,
    mask: np.ndarray,
    center_mm: tuple[float, float],
    pixel_mm: float,
    lung_mm: tuple[float, float],
    void: tuple[float, float, int, int],
) -> np.ndarray:
    """``images`` with the slice's signal void ``(width_deg, depth, first, stop)`` in the wall
    facing the lung centred at ``lung_mm`` (``apply_void``)."""
    width, depth, first, stop = void
    angle = math.degrees(math.atan2(lung_mm[1] - center_mm[1], lung_mm[0] - center_mm[0]))
    return apply_void(images, mask, center_mm, pixel_mm, angle, width, depth, (first, stop))

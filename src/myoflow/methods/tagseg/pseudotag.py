"""Physics-driven cine -> pseudo-tagged transform (paper 001, section 2.1.2).

Annotated cine is plentiful, annotated tagged images are rare, so paper 001 pretrains its
segmentation networks on cine made to look tagged: the element-wise square root of the normalised
cine (bSSFP contrast -> a GRE-like one, whose myocardium-to-blood contrast is flatter), multiplied
by a 1-3-3-1 binomial SPAMM grid computed with Bloch rotations, total flip 70 degrees, tags 5
pixels apart, at a fixed or random grid angle.

The grid is the phantom's own tagging physics (``myoflow.phantom.tagging``: the exact Bloch
profile, T1 recovery between tagging and each frame), not a second copy, so the pseudo-tagged
cine and the phantom's tagged series differ only in what the transform cannot know. Two
additions beyond the paper, each used only when its input is known:

* tag fading: with the frame times, the tags relax with T1 after tagging at the first frame
  (the paper keeps them at full modulation in every frame);
* moving tags: with a Lagrangian displacement from the first frame (the phantom's truth, or a
  tracker's), each pixel is tagged at the position its tissue had at tagging time, so the tags
  deform with the myocardium, which the paper names as its limitation. The reference position
  of pixel x at frame t solves ``X + u_t(X) = x``; it is found by fixed-point iteration
  ``X <- x - u_t(X)``, which converges while the displacement's gradient stays below 1 (a
  deformation that folds tissue has no inverse).

Only ``numpy`` and ``scipy``: the transform runs in the preprocessing (CPU) environment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

from myoflow.phantom.tagging import TagGrid, apply_tagging

#: Fixed-point iterations of the inverse displacement (each halves the error or better while
#: the displacement's gradient is below 0.5, the case of myocardium between frames).
INVERSE_ITERATIONS = 8


@dataclass(frozen=True)
class PseudoTagSettings:
    """The transform's parameters; the defaults are paper 001's."""

    #: Tag spacing in pixels of the image transformed (paper: 5).
    spacing_px: float = 5.0
    #: Total flip angle of each SPAMM module (paper: 70 degrees).
    total_flip_deg: float = 70.0
    #: Binomial pulse train (paper: 1-3-3-1).
    pattern: Literal["1-1", "1-3-3-1"] = "1-3-3-1"
    #: Grid angle from the image's columns in degrees; None draws one per image, uniform in
    #: [0, 90) (a grid is symmetric under quarter turns).
    angle_deg: float | None = None
    #: Myocardial T1 for the fading between frames (ms; 1.5 T about 1000 ms).
    t1_ms: float = 1000.0
    #: Beyond the paper: the tags move with the tissue where the frame's displacement is known
    #: (a cohort whose ``frames2d`` profile keeps it); the paper's tags stay still.
    moving_tags: bool = False


def normalised(cine: np.ndarray, percentile: float = 99.5) -> np.ndarray:
    """``cine`` scaled to [0, 1] by its minimum and a high percentile (a few bright pixels of
    flow or fat must not darken the heart), clipped."""
    images = np.asarray(cine, dtype=np.float32)
    low = float(images.min())
    high = float(np.percentile(images, percentile))
    if not high > low:
        raise ValueError("the cine is constant: nothing to tag")
    return np.clip((images - low) / (high - low), 0.0, 1.0)


def reference_positions(
    displacement_mm: np.ndarray | None, spacing_mm: tuple[float, float], shape: tuple[int, int]
) -> np.ndarray:
    """Each pixel's position at tagging time, ``[2, H, W]`` (static) or ``[T, 2, H, W]`` (x then
    y, mm, pixel centres at ``index * spacing``).

    ``displacement_mm`` ``[T, 2, H, W]`` is Lagrangian from the first frame: tissue at ``X`` in
    frame 0 is at ``X + u_t(X)`` in frame t. Its inverse is sampled with linear interpolation
    (``ndimage.map_coordinates``, the displacement held constant beyond the image)."""
    sy, sx = spacing_mm
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    grid = np.stack([cols * sx, rows * sy])
    if displacement_mm is None:
        return grid
    u = np.asarray(displacement_mm, dtype=np.float64)
    if u.ndim != 4 or u.shape[1] != 2 or u.shape[2:] != tuple(shape):
        raise ValueError(f"displacement must be [T, 2, {shape[0]}, {shape[1]}], got {u.shape}")
    out = np.empty_like(u)
    for t in range(u.shape[0]):
        ref = grid.copy()
        for _ in range(INVERSE_ITERATIONS):
            at = np.stack([ref[1] / sy, ref[0] / sx])  # (row, column) of X
            moved = [ndimage.map_coordinates(u[t, c], at, order=1, mode="nearest") for c in (0, 1)]
            ref = grid - np.stack(moved)
        out[t] = ref
    return out


def pseudo_tagged(
    cine: np.ndarray,
    spacing_mm: tuple[float, float],
    settings: PseudoTagSettings,
    rng: np.random.Generator,
    times_ms: np.ndarray | None = None,
    displacement_mm: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """The pseudo-tagged series ``[T, H, W]`` (float32, [0, 1]) of ``cine`` ``[T, H, W]`` and the
    grid angle used (degrees).

    ``times_ms``: each frame's time after the tagging pulse (a series' frame times minus its
    first, or one frame's alone when frames are transformed one at a time); without them the
    tags keep full modulation. ``displacement_mm``: Lagrangian from the first frame, so that
    the tags move with the tissue. The grid's phase is drawn from ``rng`` too, so the tag lines
    do not always cross the same pixels."""
    images = np.asarray(cine)
    if images.ndim != 3:
        raise ValueError(f"cine must be [T, H, W], got shape {images.shape}")
    angle = settings.angle_deg if settings.angle_deg is not None else float(rng.uniform(0, 90))
    tags = TagGrid(
        pattern=settings.pattern,
        spacing_mm=settings.spacing_px * float(np.mean(spacing_mm)),
        angle_deg=angle,
        grid=True,
        offset_rad=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))),
        total_flip_deg=settings.total_flip_deg,
    )
    times = np.zeros(len(images)) if times_ms is None else np.asarray(times_ms, float)
    if times.shape != (len(images),) or np.any(times < 0):
        raise ValueError(f"times_ms must be {len(images)} times >= 0 after tagging, got {times}")
    reference = reference_positions(displacement_mm, spacing_mm, images.shape[1:])
    gre_like = np.sqrt(normalised(images))
    return apply_tagging(gre_like, reference, times, tags, settings.t1_ms), angle

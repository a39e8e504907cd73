"""Paper 003's region of interest: the enlarged ED myocardium box, its IoU, and the crop.

The localisation network regresses the box around the ED myocardium, the tracker sees every
frame cropped with that one box and resampled to ``size`` x ``size`` (paper 003: "all the images
in the cine were cropped using the same bounding box ... resampled to 128x128 pixels using bicubic
interpolation"), and the landmarks it predicts in the crop must come back to the image's
millimetres exactly, or every strain downstream inherits the mapping error.

Coordinates. A box is ``(x1, y1, x2, y2)`` in pixels of the image it was drawn on, x along
columns, with pixel ``j`` covering ``[j - 0.5, j + 0.5]`` (pixel centres at integers, as the
record's millimetre convention ``x = column * spacing``). The public code of paper 003 stores
``bbox_corners`` with pixel ``j`` covering ``[j, j + 1]``; ``from_corner_convention`` converts.

The crop covers the box exactly: crop pixel ``k`` (of ``size``) has its centre at
``x1 + (k + 0.5) * (x2 - x1) / size``. A box that is not square gives a crop whose pixels are not
square, as in the paper (a rectangle resized to a square); positions carry both scales, so
distances and strain are computed in millimetres after mapping back, never in crop pixels.

Resampling is bicubic convolution with Keys' kernel (a = -0.75), zeros outside the image: the
kernel of OpenCV's ``INTER_CUBIC``, the paper's resize, here through torch's ``grid_sample``, which
crops a whole batch of series (frames as channels) in one call on the CPU or the GPU. It was a
cubic B-spline through scipy before; the batched crop made the automatic inference about 1.4
times faster (``benchmarks/bench_tagstrain_speed.py``). torch is imported only when a crop is
made, so the evaluation and report jobs read this module without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: The paper's enlargement of the myocardium's extent: 60 % of its width and height, split
#: evenly between the two sides (the public code adds 30 % on each side).
ENLARGEMENT = 0.6


@dataclass(frozen=True)
class Box:
    """An axis-aligned box ``(x1, y1, x2, y2)`` in image pixels (centres at integers)."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        values = np.array([self.x1, self.y1, self.x2, self.y2])
        if not np.all(np.isfinite(values)):
            raise ValueError(f"box corners must be finite, got {self}")
        if not (self.x2 > self.x1 and self.y2 > self.y1):
            raise ValueError(f"box needs x2 > x1 and y2 > y1, got {self}")

    @property
    def corners(self) -> np.ndarray:
        return np.array([self.x1, self.y1, self.x2, self.y2], dtype=np.float64)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @classmethod
    def from_corners(cls, corners: ArrayLike) -> Box:
        x1, y1, x2, y2 = (float(v) for v in np.asarray(corners, dtype=np.float64).ravel())
        return cls(x1, y1, x2, y2)

    @classmethod
    def from_corner_convention(cls, corners: ArrayLike) -> Box:
        """A box stored with pixel ``j`` covering ``[j, j + 1]`` (paper 003's public code)."""
        return cls.from_corners(np.asarray(corners, dtype=np.float64) - 0.5)

    def enlarged(self, fraction: float) -> Box:
        """The box grown by ``fraction`` of its width and height, half on each side."""
        if fraction < 0:
            raise ValueError(f"enlargement must be >= 0, got {fraction}")
        dx, dy = 0.5 * fraction * self.width, 0.5 * fraction * self.height
        return Box(self.x1 - dx, self.y1 - dy, self.x2 + dx, self.y2 + dy)

    def clipped(self, shape: tuple[int, int]) -> Box:
        """The box inside an image of ``shape`` (rows, columns) pixels; raises ``ValueError``
        when nothing of it is left (a box wholly outside the image)."""
        rows, cols = shape
        return Box(
            max(self.x1, -0.5),
            max(self.y1, -0.5),
            min(self.x2, cols - 0.5),
            min(self.y2, rows - 0.5),
        )

    def dihedral(self, quarter_turns: int, mirror: bool, size: int) -> Box:
        """The box of a ``size`` x ``size`` image mirrored left-right (first, when ``mirror``)
        then turned by ``quarter_turns`` x 90 degrees as ``np.rot90`` turns it
        (``dihedral_image``): axis-aligned boxes stay axis-aligned under these eight maps, so
        the box of the transformed myocardium is the transformed box exactly."""
        last = size - 1.0
        x1, y1, x2, y2 = self.x1, self.y1, self.x2, self.y2
        if mirror:
            x1, x2 = last - x2, last - x1
        for _ in range(quarter_turns % 4):  # np.rot90: (x, y) -> (y, last - x)
            x1, y1, x2, y2 = y1, last - x2, y2, last - x1
        return Box(x1, y1, x2, y2)

    def contains(self, points_px: ArrayLike) -> np.ndarray:
        """Which of ``points_px`` (``[2, N]``, x then y) lie inside the box."""
        x, y = np.asarray(points_px, dtype=np.float64)
        return (x >= self.x1) & (x <= self.x2) & (y >= self.y1) & (y <= self.y2)


def dihedral_image(image: np.ndarray, quarter_turns: int, mirror: bool) -> np.ndarray:
    """A square image mirrored left-right (first, when ``mirror``) then turned by
    ``quarter_turns`` x 90 degrees, as ``Box.dihedral`` moves its box."""
    out = image[:, ::-1] if mirror else image
    return np.ascontiguousarray(np.rot90(out, quarter_turns))


def box_of_mask(mask: ArrayLike, enlargement: float = ENLARGEMENT) -> Box:
    """The enlarged extent of a 2-D myocardium mask, measured at pixel edges (a one-pixel mask
    is one pixel wide), as the localisation network's target."""
    rows, cols = np.nonzero(np.asarray(mask))
    if rows.size == 0:
        raise ValueError("the mask is empty: no myocardium to draw a box around")
    box = Box(cols.min() - 0.5, rows.min() - 0.5, cols.max() + 0.5, rows.max() + 0.5)
    return box.enlarged(enlargement)


def box_of_points(points_px: ArrayLike, enlargement: float = ENLARGEMENT) -> Box:
    """The enlarged extent of points ``[2, N]`` in pixels (the public code's box from its 168
    ED landmarks); the extent runs through the outermost points' centres."""
    x, y = np.asarray(points_px, dtype=np.float64)
    if x.size == 0 or not np.all(np.isfinite(x) & np.isfinite(y)):
        raise ValueError("box of points: need finite points")
    return Box(x.min(), y.min(), x.max(), y.max()).enlarged(enlargement)


def iou(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Intersection over union of boxes ``[..., 4]`` (x1, y1, x2, y2), element-wise: the area
    both cover over the area either covers (paper 003's localisation accuracy)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter)


@dataclass(frozen=True)
class BoxCrop:
    """One box resampled to ``size`` x ``size``: the crop of every frame and the exact map of
    positions between the crop's pixels and the image's pixels or millimetres."""

    box: Box
    size: int
    spacing_mm: tuple[float, float]  # the image's (row, column) pixel spacing

    @property
    def scale(self) -> np.ndarray:
        """Image pixels per crop pixel, ``(x, y)``."""
        return np.array([self.box.width, self.box.height]) / self.size

    @property
    def crop_spacing_mm(self) -> tuple[float, float]:
        """``(row, column)`` spacing of a crop pixel in mm."""
        sx, sy = self.scale
        return float(sy * self.spacing_mm[0]), float(sx * self.spacing_mm[1])

    def to_crop(self, points_px: ArrayLike) -> np.ndarray:
        """Image pixel positions ``[..., 2, N]`` (x, y on axis -2) -> crop pixel positions."""
        p = np.asarray(points_px, dtype=np.float64)
        origin = np.array([self.box.x1, self.box.y1])[:, None]
        return (p - origin) / self.scale[:, None] - 0.5

    def to_image(self, points_crop: ArrayLike) -> np.ndarray:
        """Crop pixel positions ``[..., 2, N]`` -> image pixel positions (inverse of ``to_crop``)."""
        p = np.asarray(points_crop, dtype=np.float64)
        origin = np.array([self.box.x1, self.box.y1])[:, None]
        return (p + 0.5) * self.scale[:, None] + origin

    def mm_to_crop(self, points_mm: ArrayLike) -> np.ndarray:
        """Image positions in mm ``[..., 2, N]`` -> crop pixel positions."""
        return self.to_crop(np.asarray(points_mm, dtype=np.float64) / self._mm_per_px)

    def crop_to_mm(self, points_crop: ArrayLike) -> np.ndarray:
        """Crop pixel positions ``[..., 2, N]`` -> image positions in mm."""
        return self.to_image(points_crop) * self._mm_per_px

    @property
    def _mm_per_px(self) -> np.ndarray:
        return np.array([self.spacing_mm[1], self.spacing_mm[0]])[:, None]

    def crop(self, series: ArrayLike) -> np.ndarray:
        """Frames ``[T, H, W]`` cropped with the box and resampled to ``[T, size, size]``
        (float32; zeros where the box leaves the image)."""
        return crop_series([self], [np.asarray(series)])[0]

    def sample_grid(self, shape: tuple[int, int]) -> np.ndarray:
        """``[size, size, 2]`` positions ``(x, y)`` of the crop's pixel centres in an image of
        ``shape`` (rows, columns), in ``grid_sample``'s units (-1 and 1 at the image's outer
        pixel edges, ``align_corners=False``)."""
        k = np.arange(self.size) + 0.5
        cols = self.box.x1 + k * self.scale[0]
        rows = self.box.y1 + k * self.scale[1]
        x = (2.0 * cols + 1.0) / shape[1] - 1.0
        y = (2.0 * rows + 1.0) / shape[0] - 1.0
        return np.stack(np.meshgrid(x, y, indexing="xy"), axis=-1)


def crop_series(crops: Sequence[BoxCrop], series: Sequence[np.ndarray]) -> np.ndarray:
    """Each series ``[T, H, W]`` cropped with its ``BoxCrop``: ``[B, T, size, size]`` float32, in
    one bicubic ``grid_sample`` call (frames as channels). The crops must share ``size`` and the
    series their shape."""
    import torch

    if len(crops) != len(series) or not crops:
        raise ValueError(f"need one crop per series, got {len(crops)} and {len(series)}")
    frames = torch.from_numpy(np.ascontiguousarray(np.stack(series), dtype=np.float32))
    grid = np.stack([c.sample_grid(frames.shape[-2:]) for c in crops]).astype(np.float32)
    out = torch.nn.functional.grid_sample(
        frames, torch.from_numpy(grid), mode="bicubic", padding_mode="zeros", align_corners=False
    )
    return out.numpy()

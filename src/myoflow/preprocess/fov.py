"""The ``fov`` profile (paper 003): the whole field of view at a fixed matrix, nothing resampled.

Paper 003's networks see the uncropped acquisition zero-padded to 256 x 256 and fixed to 20
frames; they find the LV themselves. Here each image axis of ``n`` pixels is brought to ``size``
by an integer shift ``off = (size - n) // 2``: source pixel ``i`` becomes pixel ``i + off``. A
positive ``off`` zero-pads (the image in the middle, an odd pixel of padding after it), a
negative one keeps the centre (a larger matrix is centre-cropped). Nothing is interpolated, so
every array keeps its values exactly: images, masks, displacement (vectors in mm, which a shift
does not change) and extras are copied, and positions in mm (landmarks, RV insertion points) move
by ``off * spacing``, the same shift as the pixels, so they stay on the same image feature. The
pixel spacing, square or not, is unchanged.

Frames: the first ``frames`` of a longer series, or empty frames appended to a shorter one
(``myoflow.preprocess.temporal.first_frames`` / ``empty_frames``), both flagged. Intensity is
normalised per series over the acquired frames and pixels only, before any padding, so padding
stays exactly 0 and does not drag the statistics.

``FovTransform`` is stored in the record's covariates (``fov_*``): ``FovTransform.from_record``
gives it back, and its ``to_source_mm`` maps a position of the profile back to the source image.
Positions are float64, and a round trip adds and subtracts the same float64 offset, so it is
exact to about 1e-13 mm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from myoflow.preprocess.intensity import normalise_record
from myoflow.preprocess.options import FovOptions
from myoflow.preprocess.temporal import empty_frames, first_frames
from myoflow.record import SliceRecord

CROPPED_FLAG = "fov_cropped"
MASK_CUT_FLAG = "fov_mask_cut"
_COVARIATES = ("fov_size", "fov_source_rows", "fov_source_cols")


def _shift(arr: np.ndarray, shape: tuple[int, int], offset: tuple[int, int]) -> np.ndarray:
    """``arr`` (``[..., H, W]``) on a zero grid of ``shape``; source pixel ``p`` lands on
    ``p + offset``; what falls outside is dropped."""
    out = np.zeros((*arr.shape[:-2], *shape), dtype=arr.dtype)
    src, dst = [], []
    for n_src, n_out, off in zip(arr.shape[-2:], shape, offset):
        lo, hi = max(0, -off), min(n_src, n_out - off)
        src.append(slice(lo, max(lo, hi)))
        dst.append(slice(lo + off, max(lo, hi) + off))
    out[..., dst[0], dst[1]] = arr[..., src[0], src[1]]
    return out


@dataclass(frozen=True)
class FovTransform:
    """The integer shift between a source image (``source_shape``) and its ``size`` x ``size``
    field of view; ``spacing_mm`` is the ``(row, column)`` pixel spacing of both."""

    source_shape: tuple[int, int]
    spacing_mm: tuple[float, float]
    size: int

    @classmethod
    def from_record(cls, rec: SliceRecord) -> FovTransform:
        """The transform a record of the ``fov`` profile was made with (from its covariates)."""
        c = rec.covariates
        return cls(
            source_shape=(int(c["fov_source_rows"]), int(c["fov_source_cols"])),
            spacing_mm=(float(rec.pixel_spacing_mm[0]), float(rec.pixel_spacing_mm[1])),
            size=int(c["fov_size"]),
        )

    @property
    def offset_px(self) -> tuple[int, int]:
        """``(row, column)`` shift in pixels: positive pads, negative crops."""
        return (self.size - self.source_shape[0]) // 2, (self.size - self.source_shape[1]) // 2

    @property
    def offset_mm(self) -> np.ndarray:
        """``(x, y)`` shift in mm (x along columns), float64."""
        rows, cols = self.offset_px
        return np.array([cols * self.spacing_mm[1], rows * self.spacing_mm[0]], dtype=np.float64)

    @property
    def cropped(self) -> bool:
        """Whether part of the source image lies outside the field of view."""
        return max(self.source_shape) > self.size

    def to_fov_mm(self, points: np.ndarray, axis: int = -1) -> np.ndarray:
        """Source positions (x, y along ``axis``, mm) -> positions in the field of view."""
        return np.asarray(points, dtype=np.float64) + _along(self.offset_mm, np.ndim(points), axis)

    def to_source_mm(self, points: np.ndarray, axis: int = -1) -> np.ndarray:
        """Positions in the field of view (x, y along ``axis``, mm) -> source positions."""
        return np.asarray(points, dtype=np.float64) - _along(self.offset_mm, np.ndim(points), axis)

    def to_fov_array(self, arr: np.ndarray) -> np.ndarray:
        """A source array ``[..., H, W]`` on the ``[..., size, size]`` grid (zeros outside)."""
        return _shift(np.asarray(arr), (self.size, self.size), self.offset_px)

    def to_source_array(self, arr: np.ndarray) -> np.ndarray:
        """A field-of-view array back on the source grid (zeros where it was cropped away)."""
        rows, cols = self.offset_px
        return _shift(np.asarray(arr), self.source_shape, (-rows, -cols))

    def to_covariates(self) -> dict[str, int]:
        return dict(zip(_COVARIATES, (self.size, *self.source_shape)))


def _along(vec: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = vec.size
    return vec.reshape(shape)


def fov_record(rec: SliceRecord, size: int = 256) -> SliceRecord:
    """Every spatial array of ``rec`` on the ``size`` x ``size`` field of view, positions shifted.

    Flags ``fov_cropped:HxW->SxS`` when the source is larger than the field of view, and
    ``fov_mask_cut:<fraction>`` when that crop loses myocardium pixels (a frame left with none
    makes the record invalid: InputError).
    """
    h, w = rec.image_shape
    t = FovTransform((h, w), rec.pixel_spacing_mm, size)
    flags = list(rec.flags)
    if t.cropped:
        flags.append(f"{CROPPED_FLAG}:{h}x{w}->{size}x{size}")

    def image(arr: np.ndarray | None) -> np.ndarray | None:
        return None if arr is None else t.to_fov_array(arr)

    def extra(arr: np.ndarray) -> np.ndarray:
        return t.to_fov_array(arr) if arr.ndim >= 2 and arr.shape[-2:] == (h, w) else arr

    mask = image(rec.mask)
    if mask is not None and rec.mask is not None:
        kept, total = int(mask.sum()), int(rec.mask.sum())
        if kept < total:
            flags.append(f"{MASK_CUT_FLAG}:{1 - kept / total:.3g}")
    landmarks = None if rec.landmarks is None else t.to_fov_mm(rec.landmarks, axis=1)
    rv = None if rec.rv_insertion_mm is None else t.to_fov_mm(rec.rv_insertion_mm, axis=-1)
    return rec.replace(
        cine=image(rec.cine),
        tagged=image(rec.tagged),
        mask=mask,
        displacement=image(rec.displacement),
        landmarks=landmarks,
        rv_insertion_mm=rv,
        extras={name: extra(np.asarray(arr)) for name, arr in rec.extras.items()},
        covariates={**rec.covariates, **t.to_covariates()},
        flags=flags,
    )


def fov_profile_record(rec: SliceRecord, opts: FovOptions | dict[str, Any]) -> SliceRecord:
    """One record through the ``fov`` profile: frames fixed, intensity, field of view; validated.

    Raises InputError when the record cannot be used (a constant image, a single frame to pad, a
    mask frame emptied by the crop).
    """
    o = opts if isinstance(opts, FovOptions) else FovOptions.from_dict(opts)
    out = first_frames(rec, o.frames)
    out = normalise_record(out, o.intensity, o.percentiles)
    out = empty_frames(out, o.frames)
    return fov_record(out, o.size).validate()

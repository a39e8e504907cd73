"""The ``stack3d`` profile (paper 002): a subject's short-axis stack as 3-D volumes, one per frame.

Paper 002 segments whole mouse stacks: 8 slices 0.8 mm apart are linearly interpolated through
plane to 0.16 mm, cropped around the LV and padded to 96 x 96 x 36. Here a subject's slices
(``myoflow.io.stacks``: one grid, ordered by position in mm) become, per frame, a volume
``[depth, size, size]``:

* Through plane, linear interpolation by a whole factor ``f = round(gap / z_spacing_mm)``: the
  planes are ``gap / f`` apart (0.16 mm for the paper's 0.8 mm), so every acquired slice is a
  plane of the volume (plane ``k f`` holds slice k unchanged) and the way back to the acquired
  slices is exact (``to_slices``). Metrics can therefore be computed on the acquired slices as
  well as on the interpolated grid. Masks are interpolated the same way and thresholded at 0.5,
  which keeps every acquired slice's mask as drawn.
* In plane, the native pixels: a ``size`` x ``size`` window centred on the LV (the centroid of
  the end-diastolic myocardium of all slices when masks are known, else the image centre), zero
  outside the image. No in-plane resampling, as in the paper, so no pixel of a slice is
  invented.
* The planes are centred in ``depth``, zero-padded at base and apex.
* Intensity: percentiles of the whole stack over all frames, scaled to [0, 1] (one scale per
  subject, so the slices keep their relative brightness, e.g. a signal void stays dark).

A stack that cannot be used is refused with an InputError naming the subject and the slice:
fewer than two slices, slice positions unknown, a missing slice (a gap about twice the others),
uneven gaps, a stack longer than ``depth`` planes, masks on only some slices or at other frame
counts than the images (``myoflow.io.stacks`` refuses slices of different grids).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoflow.errors import InputError
from myoflow.io.atomic import atomic_path
from myoflow.io.shards import read_subjects
from myoflow.io.stacks import SubjectStack, subject_stack
from myoflow.io.volumes import StackGrid, SubjectVolumes, write_volumes
from myoflow.preprocess.intensity import normalise_series
from myoflow.preprocess.options import Stack3dOptions
from myoflow.qc import qc_row_from_error, qc_table
from myoflow.record import SliceRecord

log = logging.getLogger("myoflow.preprocess")
STAGE = "preprocess-stack3d"
INDEX_COLUMNS = [
    "cohort",
    "subject",
    "group",
    "n_slices",
    "n_frames",
    "has_mask",
    "gap_mm",
    "z_spacing_mm",
    "first_plane",
    "last_plane",
    "shard",
]

#: Largest relative deviation of a slice gap from the stack's median gap.
GAP_TOLERANCE = 0.1


def _refuse(stack: SubjectStack, problem: str, slice_id: str = "-") -> InputError:
    return InputError(problem, stack.cohort, stack.subject, slice_id=slice_id)


def through_plane_factor(stack: SubjectStack, z_spacing_mm: float) -> tuple[int, float]:
    """``(f, gap)``: planes per slice gap and the gap, after checking the slice positions."""
    n = len(stack.slice_ids)
    if n < 2:
        raise _refuse(stack, f"a stack needs at least two slices, got {n}", stack.slice_ids[0])
    z = stack.slice_positions_mm
    if stack.ordered_by != "slice_location_mm" or not np.all(np.isfinite(z)):
        raise _refuse(stack, "slice positions in mm are unknown (slice_location_mm)")
    gaps = np.diff(z)
    gap = float(np.median(gaps))
    if not gap > 0:
        raise _refuse(stack, "two slices share one position")
    for k, g in enumerate(gaps):
        if abs(g - gap) <= GAP_TOLERANCE * gap:
            continue
        where = f"between slices {stack.slice_ids[k]} and {stack.slice_ids[k + 1]}"
        missing = round(g / gap) - 1
        if missing >= 1 and abs(g - (missing + 1) * gap) <= GAP_TOLERANCE * gap:
            problem = (
                f"{missing} slice position(s) missing {where} (gap {g:.3g} mm, others {gap:.3g})"
            )
        else:
            problem = f"uneven slice gaps: {g:.3g} mm {where}, the others {gap:.3g} mm"
        raise _refuse(stack, problem, stack.slice_ids[k + 1])
    return max(1, round(gap / z_spacing_mm)), gap


def interpolate_planes(volume: np.ndarray, factor: int) -> np.ndarray:
    """``[..., Z, H, W]`` -> ``[..., (Z - 1) factor + 1, H, W]``, linear between slices; plane
    ``k factor`` is slice k exactly (weights 1 and 0)."""
    z = volume.shape[-3]
    out = np.empty((*volume.shape[:-3], (z - 1) * factor + 1, *volume.shape[-2:]), np.float32)
    src = volume.astype(np.float32, copy=False)
    for j in range(factor):
        w = np.float32(j / factor)
        out[..., j : (z - 1) * factor : factor, :, :] = (1 - w) * src[..., :-1, :, :] + w * src[
            ..., 1:, :, :
        ]
    out[..., -1, :, :] = src[..., -1, :, :]
    return out


def _window(image: np.ndarray, origin: tuple[int, int], size: int) -> np.ndarray:
    """``image [..., H, W]`` seen through a ``size`` x ``size`` window at ``origin``; zeros
    outside the image."""
    out = np.zeros((*image.shape[:-2], size, size), image.dtype)
    h, w = image.shape[-2:]
    r0, c0 = origin
    rs, re = max(r0, 0), min(r0 + size, h)
    cs, ce = max(c0, 0), min(c0 + size, w)
    if rs < re and cs < ce:
        out[..., rs - r0 : re - r0, cs - c0 : ce - c0] = image[..., rs:re, cs:ce]
    return out


def _centre(stack: SubjectStack) -> tuple[float, float]:
    """The LV centre in pixels: the ED myocardium's centroid over all slices, else the middle."""
    mask = stack.arrays.get("mask")
    h, w = stack.arrays[next(iter(stack.arrays))].shape[-2:]
    if mask is not None and mask[0].any():
        rows, cols = np.nonzero(mask[0].any(axis=0))
        return float(rows.mean()), float(cols.mean())
    return (h - 1) / 2.0, (w - 1) / 2.0


def stack_volumes(
    stack: SubjectStack,
    series: str,
    z_spacing_mm: float,
    size: int,
    depth: int,
    percentiles: tuple[float, float] = (1.0, 99.0),
) -> tuple[np.ndarray, np.ndarray | None, StackGrid]:
    """``(images [T, depth, size, size] in [0, 1], masks [T or 1, depth, size, size] or None,
    grid)`` of one subject (module docstring). Raises InputError naming what is wrong."""
    if series not in stack.arrays:
        slices = ", ".join(stack.slice_ids)
        missing = "some of its slices" if series in stack.incomplete else "any slice"
        raise _refuse(stack, f"no {series} series on {missing} (slices {slices})")
    if "mask" in stack.incomplete:
        raise _refuse(stack, "masks on only some slices: a stack is labelled whole or not at all")
    images = stack.arrays[series]
    masks = stack.arrays.get("mask")
    if masks is not None and masks.shape[0] not in (1, images.shape[0]):
        raise _refuse(
            stack, f"{masks.shape[0]} mask frames against {images.shape[0]} {series} frames"
        )
    factor, gap = through_plane_factor(stack, z_spacing_mm)
    n_planes = (len(stack.slice_ids) - 1) * factor + 1
    if n_planes > depth:
        raise _refuse(
            stack,
            f"{len(stack.slice_ids)} slices {gap:.3g} mm apart make {n_planes} planes at "
            f"{gap / factor:.3g} mm, more than the depth of {depth}; raise "
            "preprocess.stack3d.z_spacing_mm or depth",
        )
    t, z, h, w = images.shape
    scaled = normalise_series(images.reshape(t * z, h, w), "percentile", percentiles)
    cy, cx = _centre(stack)
    origin = (math.floor(cy + 0.5) - size // 2, math.floor(cx + 0.5) - size // 2)
    first = (depth - n_planes) // 2
    planes = first + factor * np.arange(z)
    volume = np.zeros((t, depth, size, size), np.float32)
    volume[:, first : first + n_planes] = interpolate_planes(
        _window(scaled.reshape(t, z, h, w), origin, size), factor
    )
    mask_volume = None
    if masks is not None:
        mask_volume = np.zeros((masks.shape[0], depth, size, size), np.uint8)
        soft = interpolate_planes(_window(masks, origin, size), factor)
        mask_volume[:, first : first + n_planes] = soft >= 0.5
    spacing = (gap / factor, *stack.pixel_spacing_mm)
    grid = StackGrid(tuple(int(p) for p in planes), origin, spacing, factor, (h, w))
    return volume, mask_volume, grid


def to_slices(volume: np.ndarray, grid: StackGrid) -> np.ndarray:
    """``volume [..., depth, size, size]`` back on the acquired slices: ``[..., Z, H, W]``,
    zero where the window did not cover the image. Exact for the planes of acquired slices."""
    picked = volume[..., list(grid.planes), :, :]
    size = volume.shape[-1]
    h, w = grid.source_shape
    out = np.zeros((*picked.shape[:-2], h, w), volume.dtype)
    r0, c0 = grid.origin
    rs, re = max(r0, 0), min(r0 + size, h)
    cs, ce = max(c0, 0), min(c0 + size, w)
    if rs < re and cs < ce:
        out[..., rs:re, cs:ce] = picked[..., rs - r0 : re - r0, cs - c0 : ce - c0]
    return out


def subject_volumes(records: list[SliceRecord], opts: Stack3dOptions, file: str) -> SubjectVolumes:
    """One subject's records through the profile (module docstring); InputError names what."""
    stack = subject_stack(records, file)
    try:
        images, masks, grid = stack_volumes(
            stack, opts.series, opts.z_spacing_mm, opts.size, opts.depth, opts.percentiles
        )
    except InputError as error:
        raise error.with_context(file=file) from None
    es = Counter(r.es_frame for r in records if r.es_frame is not None).most_common(1)
    return SubjectVolumes(
        cohort=stack.cohort,
        subject=stack.subject,
        group=stack.group,
        series=opts.series,
        images=images,
        masks=masks,
        grid=grid,
        slice_ids=stack.slice_ids,
        slice_positions_mm=tuple(float(z) for z in stack.slice_positions_mm),
        frame_times_ms=stack.frame_times_ms.mean(axis=0),
        es_frame=es[0][0] if es else None,
        extra={"covariates": _shared_covariates(records)},
    )


def _shared_covariates(records: list[SliceRecord]) -> dict[str, Any]:
    """The covariates every slice of the subject shares (e.g. a phantom's volume truth)."""
    first = records[0].covariates
    return {
        k: v
        for k, v in first.items()
        if isinstance(v, (int, float, str, bool)) and all(r.covariates.get(k) == v for r in records)
    }


def stack3d_shard(
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    qc_path: str | os.PathLike[str],
    index_path: str | os.PathLike[str],
    opts: Stack3dOptions,
) -> None:
    """Every subject of the record shard ``in_path`` as volumes; shard, QC and index written
    atomically together. A subject that cannot be stacked is a QC row (``excluded``, naming
    the subject, slice and file) and the others go on."""
    shard = Path(out_path).name
    index_rows: list[dict[str, Any]] = []
    qc_rows: list[dict[str, Any]] = []

    def good() -> Iterator[SubjectVolumes]:
        for records in read_subjects(in_path):
            try:
                vol = subject_volumes(records, opts, os.fspath(in_path))
            except InputError as error:
                log.error("excluded: %s", error)
                qc_rows.append(qc_row_from_error(error, STAGE))
                continue
            planes = vol.grid.planes
            index_rows.append(
                {
                    "cohort": vol.cohort,
                    "subject": vol.subject,
                    "group": vol.group,
                    "n_slices": len(vol.slice_ids),
                    "n_frames": vol.images.shape[0],
                    "has_mask": vol.masks is not None,
                    "gap_mm": vol.grid.spacing_mm[0] * vol.grid.factor,
                    "z_spacing_mm": vol.grid.spacing_mm[0],
                    "first_plane": planes[0],
                    "last_plane": planes[-1],
                    "shard": shard,
                }
            )
            yield vol

    with contextlib.ExitStack() as stack:
        tmp_shard, tmp_index, tmp_qc = (
            stack.enter_context(atomic_path(p)) for p in (out_path, index_path, qc_path)
        )
        write_volumes(tmp_shard, good(), opts.depth, opts.size)
        pd.DataFrame(index_rows, columns=INDEX_COLUMNS).to_csv(tmp_index, sep="\t", index=False)
        qc_table(qc_rows).to_csv(tmp_qc, sep="\t", index=False)
    log.info("%s: %d subject(s) stacked, %d excluded", shard, len(index_rows), len(qc_rows))

"""Per-subject stacks: a subject's short-axis slices as one ``[T, Z, H, W]`` volume, ordered in mm.

Methods that see the heart as a volume (paper 002 segments whole per-subject stacks) need a
subject's slices together, in anatomical order. The shard plan never splits a subject, so one
record shard holds all of them; ``iter_stacks`` reads it one subject at a time.

Order along Z: by ``slice_location_mm`` (ascending) when every slice of the subject has one; the
phantom measures it from the base towards the apex, a scanner along its own slice axis. Otherwise
by position (basal, mid, apical, then unnamed) and then slice index (a numeric ``slice_id``), and
the stack says so in ``ordered_by`` with NaN positions; a partial set of locations is not mixed
with positions.

A stack needs slices on one grid: the same pixel spacing (within a relative 1e-6, float noise of
one header value; the crop profile's per-slice ROI spacing is refused, stack the records or the
fov profile), the same matrix and the same frame count; anything else is refused with an
InputError naming the subject and the slice that differs. A series (cine, tagged, mask) is
stacked when every slice has it; ``incomplete`` names those only some slices have. Masks are
stacked with their own frame count (``[1, Z, H, W]`` when known at end-diastole only) and must
agree in it. Frame times are kept per slice (``[Z, T]``): slices of one subject are acquired in
different heartbeats.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from myoflow.errors import InputError
from myoflow.io.shards import read_subjects
from myoflow.record import SLICE_POSITIONS, SliceRecord

SPACING_RTOL = 1e-6
STACKED = ("cine", "tagged", "mask")


@dataclass(frozen=True)
class SubjectStack:
    """A subject's slices on one grid; arrays ``[T, Z, H, W]`` (``mask`` ``[T or 1, Z, H, W]``)."""

    cohort: str
    subject: str
    group: str
    slice_ids: tuple[str, ...]
    slice_positions_mm: np.ndarray
    ordered_by: str
    pixel_spacing_mm: tuple[float, float]
    frame_times_ms: np.ndarray
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    incomplete: tuple[str, ...] = ()


def _fallback_key(rec: SliceRecord) -> tuple[int, float, str]:
    rank = SLICE_POSITIONS.index(rec.position) if rec.position in SLICE_POSITIONS else 3
    index = float(rec.slice_id) if rec.slice_id.isdigit() else math.inf
    return rank, index, rec.slice_id


def stack_order(records: Sequence[SliceRecord]) -> tuple[list[SliceRecord], str]:
    """The records in stack order and what decided it (``slice_location_mm`` or ``position``)."""
    located = all(
        r.slice_location_mm is not None and math.isfinite(r.slice_location_mm) for r in records
    )
    if located:
        ordered = sorted(records, key=lambda r: (r.slice_location_mm, *_fallback_key(r)))
        return ordered, "slice_location_mm"
    return sorted(records, key=_fallback_key), "position"


def _refuse(first: SliceRecord, rec: SliceRecord, what: str, file: str) -> InputError:
    return InputError(
        f"cannot stack slice {rec.slice_id} with slice {first.slice_id}: {what}",
        rec.cohort,
        rec.subject,
        file,
        rec.slice_id,
    )


def _check_grid(ordered: Sequence[SliceRecord], file: str) -> None:
    first = ordered[0]
    for rec in ordered[1:]:
        if not np.allclose(rec.pixel_spacing_mm, first.pixel_spacing_mm, rtol=SPACING_RTOL, atol=0):
            raise _refuse(
                first,
                rec,
                f"pixel spacing {tuple(rec.pixel_spacing_mm)} mm differs from "
                f"{tuple(first.pixel_spacing_mm)} mm",
                file,
            )
        if rec.image_shape != first.image_shape:
            raise _refuse(
                first, rec, f"matrix {rec.image_shape} differs from {first.image_shape}", file
            )
        if rec.n_frames != first.n_frames:
            raise _refuse(first, rec, f"{rec.n_frames} frames against {first.n_frames}", file)


def subject_stack(records: Sequence[SliceRecord], file: str = "-") -> SubjectStack:
    """One subject's records as a stack (``file``: where they come from, for error messages)."""
    if not records:
        raise ValueError("no records to stack")
    if len({(r.cohort, r.subject) for r in records}) > 1:
        raise ValueError("records of several subjects cannot form one stack")
    ordered, ordered_by = stack_order(records)
    _check_grid(ordered, file)
    arrays: dict[str, np.ndarray] = {}
    incomplete: list[str] = []
    for kind in STACKED:
        present = [getattr(r, kind) for r in ordered if getattr(r, kind) is not None]
        if len(present) < len(ordered):
            if present:
                incomplete.append(kind)
            continue
        counts = {a.shape[0] for a in present}
        if len(counts) > 1:
            odd = next(r for r in ordered if getattr(r, kind).shape[0] != present[0].shape[0])
            raise _refuse(ordered[0], odd, f"{kind} frame counts {sorted(counts)} differ", file)
        arrays[kind] = np.stack(present, axis=1)
    positions = [
        np.nan if ordered_by != "slice_location_mm" else r.slice_location_mm for r in ordered
    ]
    first = ordered[0]
    return SubjectStack(
        cohort=first.cohort,
        subject=first.subject,
        group=first.group,
        slice_ids=tuple(r.slice_id for r in ordered),
        slice_positions_mm=np.asarray(positions, dtype=np.float64),
        ordered_by=ordered_by,
        pixel_spacing_mm=(float(first.pixel_spacing_mm[0]), float(first.pixel_spacing_mm[1])),
        frame_times_ms=np.stack([np.asarray(r.frame_times_ms, np.float64) for r in ordered]),
        arrays=arrays,
        incomplete=tuple(incomplete),
    )


def iter_stacks(path: str | os.PathLike[str]) -> Iterator[SubjectStack]:
    """The stack of every subject of the record shard ``path``, one subject in memory at a time.

    Raises InputError (naming the subject, the slice and the shard) at the first subject whose
    slices do not share one grid.
    """
    for records in read_subjects(path):
        yield subject_stack(records, os.fspath(path))

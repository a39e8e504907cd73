"""Which frames of a DICOM series make the record: one slice, one cardiac cycle, in time order.

The reader (``myoflow.cohort.dicom``) turns a folder or an enhanced file into ``Frame``s, each
with its trigger time, InstanceNumber (acquisition order) and slice position, without decoding
pixels. Here the frames of the one slice the manifest asks for are chosen, checked to be one
cardiac cycle (``myoflow.cohort.cycle``) and put in temporal order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from myoflow.cohort import cycle
from myoflow.errors import InputError

LOCATION_TOLERANCE_MM = 0.05


@dataclass
class Frame:
    """One 2-D image of the series, before it is decoded."""

    pixels: Callable[[], np.ndarray]
    time_ms: float | None
    order: int | None
    slice_key: float | None
    location_mm: float | None
    spacing: tuple[float, float] | None
    slope: float
    intercept: float


def one_slice(
    frames: list[Frame], slice_index: int | None, slice_location_mm: float | None, path: Path
) -> list[Frame]:
    """The frames of the one slice the manifest asks for (all of them when there is one slice)."""
    located = [(f, round(f.slice_key, 2)) for f in frames if f.slice_key is not None]
    keys = sorted({key for _, key in located})
    if len(keys) <= 1:
        return frames
    if len(located) < len(frames):
        raise InputError("some images have a slice position and others none", file=str(path))
    listed = ", ".join(f"{k:g}" for k in keys)
    if slice_location_mm is not None:
        chosen = [f for f, key in located if abs(key - slice_location_mm) <= LOCATION_TOLERANCE_MM]
        if not chosen:
            raise InputError(
                f"no images at slice location {slice_location_mm:g} mm; the data has locations "
                f"{listed}",
                file=str(path),
            )
        return chosen
    if slice_index is None:
        raise InputError(
            f"the DICOM data holds {len(keys)} slice locations ({listed}); give slice_index "
            f"(0..{len(keys) - 1}, in this order) or slice_location_mm in the manifest",
            file=str(path),
        )
    if not 0 <= slice_index < len(keys):
        raise InputError(
            f"slice_index {slice_index} is outside 0..{len(keys) - 1} (locations {listed})",
            file=str(path),
        )
    return [f for f, key in located if key == keys[slice_index]]


def one_cycle_in_order(
    frames: list[Frame], path: Path, multi_cycle: str, nominal_ms: float | None
) -> tuple[list[Frame], bool, list[str]]:
    """Frames of one cardiac cycle in temporal order, whether trigger times gave the order, and
    notes on what was cut (``multi_cycle: first``).

    A folder's InstanceNumbers are its acquisition order, in which the trigger time of one cycle
    never restarts; an enhanced file's frame order is not (vendors store frames by dimension
    index), so only its times and NominalInterval are checked. Without trigger times, a folder's
    images follow InstanceNumber and a file's frames their order in the file.
    """
    notes: list[str] = []
    n = len(frames)
    in_folder = path.is_dir()
    if all(f.time_ms is not None for f in frames):
        if in_folder and all(f.order is not None for f in frames):
            acquired = sorted(frames, key=lambda f: cast(int, f.order))
            times = [cast(float, f.time_ms) for f in acquired]
            restart = cycle.first_restart(times)
            if restart is not None and multi_cycle != "first":
                raise cycle.restart_error(times, restart, str(path))
            frames = acquired[:restart]
        times = [cast(float, f.time_ms) for f in frames]
        if len(set(times)) < len(times):
            raise InputError(
                "several images share a trigger time: the data mixes series, slices or heartbeats",
                file=str(path),
            )
        frames = sorted(frames, key=lambda f: cast(float, f.time_ms))
        sorted_times = np.array([f.time_ms for f in frames], dtype=float)
        kept = cycle.within_nominal(sorted_times, nominal_ms)
        if kept < len(frames):
            if multi_cycle != "first":
                raise cycle.nominal_error(sorted_times, cast(float, nominal_ms), str(path))
            frames = frames[:kept]
        if len(frames) < n:
            notes.append(f"first_cycle_taken:{len(frames)}_of_{n}_images")
        return frames, True, notes
    if all(f.order is not None for f in frames):
        return sorted(frames, key=lambda f: cast(int, f.order)), False, notes
    raise InputError(
        "images have neither TriggerTime nor InstanceNumber: the frame order is unknown",
        file=str(path),
    )

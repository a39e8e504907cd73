"""Bring every record to the network's frame count (paper 000: 20 frames).

``resample`` maps the acquired window onto ``frames`` frames evenly spaced in time from the first
to the last acquired frame time, interpolating linearly along the actual frame times (so uneven
acquisitions are handled). The window is not assumed to be a whole periodic cycle: many tagged
series stop before end-diastole, so nothing is extrapolated and no wrap-around to frame 0 is
made. Frame 0 (ED, the Lagrangian reference of the displacement) is copied unchanged, and so is
the last frame. Images, displacement, landmarks and floating-point extras are interpolated;
masks and integer extras take the nearest frame in time.

``pad`` (only for series shorter than ``frames``; longer ones are always resampled) repeats the
last frame, with frame times continuing at the mean frame interval: the acquired frames keep their
timing and the network sees a still heart at the end.

Either way ``original_frames`` keeps the source's count and a flag records the change.

The ``fov`` profile follows paper 003 instead (``first_frames``, ``empty_frames``): a longer series
keeps its first ``frames`` frames, a shorter one gets empty frames appended; nothing is
interpolated, so the acquired frames stay exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from myoflow.preprocess.interp import Stencil
from myoflow.record import SliceRecord

TEMPORAL_MODES = ("resample", "pad")
#: Extra ``[T]`` uint8 of the ``fov`` profile: 1 for an acquired frame, 0 for an appended empty one.
ACQUIRED = "frame_acquired"


def _time_stencil(times: np.ndarray, new_times: np.ndarray) -> Stencil:
    """Linear stencil along frames for ``new_times`` within ``[times[0], times[-1]]``."""
    k = np.clip(np.searchsorted(times, new_times, side="right") - 1, 0, len(times) - 2)
    frac = (new_times - times[k]) / (times[k + 1] - times[k])
    return Stencil.linear(k + np.clip(frac, 0.0, 1.0), len(times))


def _is_series(arr: np.ndarray, n_frames: int) -> bool:
    """Extras with a leading frame axis: per-frame maps ``[T, H, W]`` or curves ``[T]``."""
    return arr.ndim in (1, 3) and arr.shape[0] == n_frames


def to_frames(rec: SliceRecord, frames: int = 20, mode: str = "resample") -> SliceRecord:
    """Return ``rec`` with exactly ``frames`` frames (unchanged when it already has them)."""
    if mode not in TEMPORAL_MODES:
        raise ValueError(f"temporal mode must be one of {TEMPORAL_MODES}, got {mode!r}")
    n = rec.n_frames
    if n == frames:
        return rec
    if n < 2:
        raise rec.error(f"a single-frame series cannot be brought to {frames} frames")
    times = np.asarray(rec.frame_times_ms, dtype=float)
    if mode == "pad" and n < frames:
        step = (times[-1] - times[0]) / (n - 1)
        new_times = np.concatenate([times, times[-1] + step * np.arange(1, frames - n + 1)])
        linear = Stencil.linear(np.minimum(np.arange(frames), n - 1).astype(float), n)
        flag = f"temporal_padded:{n}->{frames}"
    else:
        new_times = np.linspace(times[0], times[-1], frames)
        linear = _time_stencil(times, new_times)
        flag = f"temporal_resampled:{n}->{frames}"
    nearest = linear.nearest()

    def series(arr: np.ndarray | None) -> np.ndarray | None:
        return None if arr is None else linear.apply(np.asarray(arr), 0)

    def extra(arr: np.ndarray) -> np.ndarray:
        if not _is_series(arr, n):
            return arr
        stencil = linear if np.issubdtype(arr.dtype, np.floating) else nearest
        return stencil.apply(arr, 0)

    def nearest_frame(index: int | None) -> int | None:
        return None if index is None else int(np.argmin(np.abs(new_times - times[index])))

    mask = rec.mask
    if mask is not None and mask.shape[0] == n:
        mask = nearest.apply(mask, 0)
    return rec.replace(
        frame_times_ms=new_times,
        cine=series(rec.cine),
        tagged=series(rec.tagged),
        mask=mask,
        displacement=series(rec.displacement),
        landmarks=series(rec.landmarks),
        extras={name: extra(np.asarray(arr)) for name, arr in rec.extras.items()},
        ed_frame=nearest_frame(rec.ed_frame),
        es_frame=nearest_frame(rec.es_frame),
        flags=[*rec.flags, flag],
    )


def _per_frame(
    rec: SliceRecord, n: int, change: Callable[[np.ndarray], np.ndarray]
) -> dict[str, Any]:
    """``change`` applied to every array of ``rec`` with a frame axis of length ``n``."""

    def frames(arr: np.ndarray | None) -> np.ndarray | None:
        return None if arr is None else change(np.asarray(arr))

    mask = rec.mask
    if mask is not None and mask.shape[0] == n:
        mask = change(mask)
    return {
        "cine": frames(rec.cine),
        "tagged": frames(rec.tagged),
        "mask": mask,
        "displacement": frames(rec.displacement),
        "landmarks": frames(rec.landmarks),
        "extras": {
            name: change(arr) if _is_series(np.asarray(arr), n) else arr
            for name, arr in rec.extras.items()
        },
    }


def first_frames(rec: SliceRecord, frames: int) -> SliceRecord:
    """The first ``frames`` frames of a longer record, flagged ``frames_truncated:n->frames``.

    A record of ``frames`` frames or fewer is returned unchanged. An ES frame cut off becomes
    unknown (None).
    """
    n = rec.n_frames
    if n <= frames:
        return rec
    es = rec.es_frame if rec.es_frame is not None and rec.es_frame < frames else None
    return rec.replace(
        frame_times_ms=np.asarray(rec.frame_times_ms)[:frames],
        **_per_frame(rec, n, lambda arr: arr[:frames]),
        es_frame=es,
        flags=[*rec.flags, f"frames_truncated:{n}->{frames}"],
    )


def empty_frames(rec: SliceRecord, frames: int) -> SliceRecord:
    """``rec`` with empty frames appended up to ``frames``, and the extra ``frame_acquired``.

    Appended image frames are zeros (paper 003: "padded with empty frames"). The labels (mask,
    displacement, landmarks, per-frame extras) hold their last acquired frame instead, so that
    the record stays valid (a mask frame may not be empty) and no made-up motion appears; a loss
    or a metric keeps to the frames ``frame_acquired`` marks. Frame times continue at the mean
    interval. The padding is flagged ``frames_padded:n->frames``; a record of ``frames`` frames
    or more only gets ``frame_acquired`` (all ones).
    """
    n = rec.n_frames
    acquired = np.arange(max(n, frames)) < n
    if n >= frames:
        return rec.replace(extras={**rec.extras, ACQUIRED: acquired.astype(np.uint8)})
    if n < 2:
        raise rec.error(f"a single-frame series cannot be brought to {frames} frames")
    times = np.asarray(rec.frame_times_ms, dtype=float)
    step = (times[-1] - times[0]) / (n - 1)
    held = np.minimum(np.arange(frames), n - 1)

    def hold(arr: np.ndarray) -> np.ndarray:
        return np.take(arr, held, axis=0)

    def empty(arr: np.ndarray | None) -> np.ndarray | None:
        if arr is None:
            return None
        return np.concatenate([arr, np.zeros((frames - n, *arr.shape[1:]), arr.dtype)])

    changes = _per_frame(rec, n, hold)
    changes.update(cine=empty(rec.cine), tagged=empty(rec.tagged))
    changes["extras"][ACQUIRED] = acquired.astype(np.uint8)
    return rec.replace(
        **changes,
        frame_times_ms=np.concatenate([times, times[-1] + step * np.arange(1, frames - n + 1)]),
        flags=[*rec.flags, f"frames_padded:{n}->{frames}"],
    )

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
"""

from __future__ import annotations

import numpy as np

from myoflow.preprocess.interp import Stencil
from myoflow.record import SliceRecord

TEMPORAL_MODES = ("resample", "pad")


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

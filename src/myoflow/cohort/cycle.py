"""Is a series one cardiac cycle? Checks on frame times that catch dynamic and multi-beat series.

A first-pass perfusion or real-time series (dozens of dynamics over a minute) is read by the same
readers as a cine and would be resampled to 20 "frames" of one cycle without a word. Three signs
give it away, whatever the format:

* the frame times span more than one RR interval: longer than the series' own nominal interval
  (DICOM NominalInterval, with ``CYCLE_TOLERANCE`` for arrhythmia rejection windows), or longer
  than any heart of the species beats (``MAX_CYCLE_MS``);
* in acquisition order (InstanceNumber) the trigger time goes backwards or repeats: the trigger
  restarted with a new beat;
* the frames are closer than any cine's temporal resolution (``MIN_FRAME_INTERVAL_MS``): one
  trigger delay per beat, sorted, looks like a cycle of a few milliseconds.

Such a series is refused with the reason, or, with the cohort option ``multi_cycle: first``, the
first cycle is taken and the record says how many frames it kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from myoflow.errors import InputError

MULTI_CYCLE = ("refuse", "first")
#: Longest plausible cardiac cycle (ms) per species: heart rates below 24 (human), 100 (rat) and
#: 150 (mouse) beats per minute are not seen even under deep anaesthesia.
MAX_CYCLE_MS = {"human": 2500.0, "rat": 600.0, "mouse": 400.0}
#: The series may span its nominal RR interval by this factor (retrospective gating windows,
#: arrhythmia rejection).
CYCLE_TOLERANCE = 1.25
#: No cine is sampled faster than this (ms between frames).
MIN_FRAME_INTERVAL_MS = 1.0
_ADVICE = (
    "it is not one cardiac cycle (a dynamic, real-time or multi-beat series?); give the frames of "
    "one cycle, or set the cohort option `multi_cycle: first` to take the first cycle"
)


def span_ms(times: np.ndarray) -> float:
    """The time a series covers: first to last frame plus one median frame interval."""
    if len(times) < 2:
        return 0.0
    return float(times[-1] - times[0] + np.median(np.diff(times)))


def first_restart(times_in_acquisition_order: Sequence[float]) -> int | None:
    """Index of the first frame whose time is not later than its predecessor's, or None."""
    t = np.asarray(times_in_acquisition_order, dtype=float)
    back = np.flatnonzero(np.diff(t) <= 0)
    return None if back.size == 0 else int(back[0]) + 1


def restart_error(times: Sequence[float], k: int, path: str) -> InputError:
    """The refusal of a series whose trigger time restarts at frame ``k`` (acquisition order)."""
    return InputError(
        f"trigger times go backwards or repeat in acquisition order (image {k + 1} of "
        f"{len(times)} at {times[k]:g} ms after {times[k - 1]:g} ms): {_ADVICE}",
        file=path,
    )


def within_nominal(times: np.ndarray, nominal_ms: float | None) -> int:
    """How many leading (time-sorted) frames lie within one nominal cycle from the first."""
    if nominal_ms is None or span_ms(times) <= CYCLE_TOLERANCE * nominal_ms:
        return len(times)
    return int(np.count_nonzero(times < times[0] + nominal_ms))


def nominal_error(times: np.ndarray, nominal_ms: float, path: str) -> InputError:
    return InputError(
        f"the trigger times span {span_ms(times):.0f} ms over {len(times)} images, more than "
        f"the series' NominalInterval of {nominal_ms:g} ms: {_ADVICE}",
        file=path,
    )


def check_one_cycle(times: np.ndarray, species: str, source: str, path: str) -> None:
    """Raise unless sorted ``times`` (ms) can be one cycle of a ``species`` heart.

    ``source`` says where the times came from, for the message (a wrong header is a common cause).
    """
    if len(times) < 2:
        return
    limit = MAX_CYCLE_MS.get(species, MAX_CYCLE_MS["human"])
    span = span_ms(times)
    if span > limit:
        raise InputError(
            f"the frame times ({source}) span {span:.0f} ms over {len(times)} frames, longer "
            f"than any {species} cardiac cycle (at most {limit:g} ms): {_ADVICE}; if the times "
            "are wrong, give frame_times_ms or rr_ms in the manifest",
            file=path,
        )
    step = float(np.median(np.diff(times)))
    if step < MIN_FRAME_INTERVAL_MS:
        raise InputError(
            f"the frames ({source}) are {step:.3g} ms apart, closer than any cine is sampled "
            f"(at least {MIN_FRAME_INTERVAL_MS:g} ms): one trigger delay per heartbeat? {_ADVICE}",
            file=path,
        )

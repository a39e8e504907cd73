"""What a slice must hold for paper 003, checked before a network sees it: one bad slice is
named and left out, the others go on.

A slice is refused, with the reason, when:

* it has no tagged series, or its ED frame shows no tag pattern (a cine given as the tagged
  series, a failed acquisition): the networks would return landmarks for it all the same, with
  nothing to warn that they mean nothing;
* fewer than 2 of its frames were acquired (the ``fov`` profile pads a short series with empty
  frames, and one frame has no motion);
* for training and scoring, its landmarks leave the image (a wrong spacing, coordinates of
  another matrix) or are not ``[T, 2, 168]``.

The training job logs each refusal; the evaluation lists every one in its ``qc`` table (stage
``tagstrain``, status ``excluded``), with a ``flagged`` row for a slice whose predicted box left
ED landmarks outside (the crop then cut the myocardium, whatever the IoU says).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from myoflow.io.shards import read_record
from myoflow.methods.tagstrain.slices import USED, acquired_frames, landmarks_px
from myoflow.methods.tagstrain.tracked import with_reference
from myoflow.qc import qc_row_from_error, qc_rows_from_flags
from myoflow.record import N_LANDMARKS, SliceRecord
from myoflow.samples import SampleRef
from myoflow.tracking.spectrum import NoTagPeaksError, find_tag_peaks

log = logging.getLogger("myoflow.stages")

STAGE = "tagstrain"


def problem(rec: SliceRecord, need_landmarks: bool) -> str | None:
    """Why ``rec`` cannot be used (None when it can); ``need_landmarks`` for training and
    scoring, not for prediction."""
    if rec.tagged is None:
        return "no tagged series"
    acquired = int(acquired_frames(rec).sum())
    if acquired < 2:
        return f"{acquired} acquired frame(s): no motion to track"
    try:
        find_tag_peaks(rec.tagged[0])
    except NoTagPeaksError as error:
        return f"no tag pattern in the ED frame ({error})"
    if not need_landmarks:
        return None
    if rec.landmarks is None or rec.landmarks.shape != (rec.n_frames, 2, N_LANDMARKS):
        shape = None if rec.landmarks is None else rec.landmarks.shape
        return f"landmarks must be [{rec.n_frames}, 2, {N_LANDMARKS}], got {shape}"
    x, y = np.moveaxis(landmarks_px(rec), 1, 0)
    rows, cols = rec.image_shape
    outside = (x < -0.5) | (x > cols - 0.5) | (y < -0.5) | (y > rows - 0.5)
    if outside.any():
        frames = np.flatnonzero(outside.any(axis=1)).tolist()
        return f"landmarks leave the {rows}x{cols} image in frame(s) {frames[:5]}"
    return None


def excluded_row(rec: SliceRecord, reason: str) -> dict[str, Any]:
    """The QC row of a refused slice, naming the file its tagged series came from."""
    return qc_row_from_error(rec.error(reason, "tagged"), STAGE)


def box_flags(rec: SliceRecord, landmarks_inside: float) -> list[dict[str, Any]]:
    """A ``flagged`` row when the predicted box left part of the ED landmarks outside."""
    if not landmarks_inside < 1.0:
        return []
    flag = f"box_misses_myocardium:{1.0 - landmarks_inside:.3g} of the ED landmarks outside"
    return qc_rows_from_flags(rec, [flag], STAGE)


def reference_record(ref: SampleRef) -> tuple[SliceRecord, str | None]:
    """``ref``'s record with the landmarks it learns (a tracker's when ``ref.target`` names a
    tracking shard) and why it cannot be used (None when it can)."""
    rec = read_record(ref.shard, ref.key, only=USED)
    if ref.target is None:
        return rec, None
    scored, reason = with_reference(rec, ref.target)
    return (rec, reason) if scored is None else (scored, None)


def usable(refs: Sequence[SampleRef], need_landmarks: bool) -> list[SampleRef]:
    """The samples whose record (with its reference landmarks) passes ``problem``; each refusal
    is logged with its file."""
    kept = []
    for ref in refs:
        rec, reason = reference_record(ref)
        reason = reason or problem(rec, need_landmarks)
        if reason is None:
            kept.append(ref)
        else:
            row = excluded_row(rec, reason)
            log.warning(
                "cohort=%s subject=%s slice=%s file=%s: %s (left out)",
                rec.cohort,
                rec.subject,
                rec.slice_id,
                row["file"],
                reason,
            )
    return kept

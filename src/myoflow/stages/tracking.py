"""The tracking rule: reference motion of every slice of a preprocessed shard from its tagged series.

An experiment with ``reference: harp`` or ``sinmod`` learns and is judged against this motion, on
its training, validation and test slices alike, so every record of the shard is tracked. The
output shard holds one record per tracked slice with the input's metadata and mask and the tracked
displacement ``[T, 2, H, W]`` (mm, Lagrangian from ED) and landmarks ``[T, 2, 168]`` (mm) in place
of the record's own, and no images: the same layout as a prediction shard, so
``myoflow.io.shards.read_displacements`` and every record reader work on it.

A slice that cannot be tracked (no tagged series, no ED mask, no tag peaks: an InputError from
``myoflow.tracking.api.track_record``) is logged, listed in the QC table with the error and
left out; the others are unaffected. So is a slice the tracker followed but whose quality check
failed (``myoflow.tracking.checks``: tags faded before end-systole, or too many points off the
slice's smooth motion): a reference that follows noise must not teach a network, so it goes to
QC with its score and reason. A kept slice whose tags fade, or one of whose frames is
unreliable, after end-systole gets a ``flagged`` QC row naming the frame. A kept slice carries
the checks' per-point flags in its extras
(``tracking_flags`` ``[T, H, W]`` for the region's pixels, ``landmark_flags`` ``[T, 168]``; bits
of ``myoflow.tracking.checks``).

Three outputs, renamed into place together at the end: the tracked shard, its QC rows and its
quality table (one row per slice of the input, ``QUALITY_COLUMNS``: the checks' scores and the
slice's status ``tracked``, ``failed`` or ``not tracked``), which the report summarises.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from myoflow.errors import InputError
from myoflow.io.atomic import atomic_path
from myoflow.io.frames import FrameShard
from myoflow.io.shards import read_shard, write_shard
from myoflow.preprocess.spatial import CropTransform, regrid_mask
from myoflow.qc import qc_row_from_error, qc_rows_from_flags, qc_table
from myoflow.record import SliceRecord

log = logging.getLogger("myoflow.stages")

#: The checks' scores in the quality table (``myoflow.tracking.checks``).
SCORES = [
    "quality",
    "flagged_fraction",
    "flagged_fraction_es",
    "excluded_fraction",
    "contrast_es",
    "contrast_min",
    "first_faded_frame",
    "first_unreliable_frame",
    "field_scale_px",
    "forward_backward_px",
    "forward_backward_periods",
]
QUALITY_COLUMNS = ["cohort", "subject", "slice_id", "tracker", "status", *SCORES, "reason"]


def qc_stage(tracker: str) -> str:
    """The ``stage`` column of the tracker's QC rows."""
    return f"tracking-{tracker}"


def _quality_row(
    rec: SliceRecord, tracker: str, status: str, scores: Mapping[str, float], reason: str
) -> dict[str, Any]:
    """One row of the quality table; scores a slice never got (not tracked) are NaN."""
    row: dict[str, Any] = {
        "cohort": rec.cohort,
        "subject": rec.subject,
        "slice_id": rec.slice_id,
        "tracker": tracker,
        "status": status,
        "reason": reason,
    }
    row.update({name: float(scores.get(name, np.nan)) for name in SCORES})
    return row


def _late_trouble(scores: Mapping[str, float]) -> list[str]:
    """QC flags of a kept slice whose frames after end-systole are no measurement (tags faded,
    or too many points flagged): the slice stays a reference, its flags mark those frames
    excluded, and the QC table says so rather than leaving it to the flags alone."""
    out = []
    if scores["first_faded_frame"] > 0:
        out.append(f"tags_faded_from_frame:{int(scores['first_faded_frame'])}")
    if scores["first_unreliable_frame"] > 0:
        out.append(f"unreliable_frame:{int(scores['first_unreliable_frame'])}")
    return out


def predicted_ed_mask(rec: SliceRecord, predictions: FrameShard) -> SliceRecord:
    """``rec`` with its mask replaced by the end-diastolic myocardium of its slice in
    ``predictions`` (a segmentation model's ``frames2d`` shard), resampled from that profile's
    grid onto the record's (``preprocess.spatial.regrid_mask``), and without its landmarks:
    neither a drawn contour nor annotated points seed the tracker (the RV insertion points,
    which orient the landmarks from the septum, stay).

    Raises InputError (the slice goes to QC, the others are tracked) when the slice was not
    predicted or its predicted ED mask holds no myocardium."""
    if rec.key not in predictions.slice_keys():
        raise rec.error(f"no predicted mask of this slice in {predictions.path}", "mask")
    (pred,) = predictions.records([rec.key])
    if pred.cohort != rec.cohort or pred.mask is None:
        raise rec.error(f"{predictions.path} holds no mask of this cohort's slice", "mask")
    ed = pred.mask[pred.ed_frame if pred.mask.shape[0] > 1 else 0]
    mask = regrid_mask(
        ed,
        CropTransform.from_covariates(pred.covariates),
        CropTransform.from_covariates(rec.covariates),
    )
    if not mask.any():
        raise rec.error(
            f"the predicted end-diastolic mask ({predictions.path}) holds no myocardium", "mask"
        )
    files = {**rec.source_files, "mask": predictions.path}
    # the record's landmarks are an annotation too: the tracker seeds from the predicted mask
    return rec.replace(mask=mask[None], landmarks=None, source_files=files)


def track_stage(
    tracker: str,
    options: Mapping[str, Any] | None,
    shard: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    qc_path: str | os.PathLike[str],
    quality_path: str | os.PathLike[str],
    masks: str | os.PathLike[str] | None = None,
) -> list[str]:
    """Track every record of ``shard`` with ``tracker``; write the tracked shard, its QC rows
    and its quality table.

    Returns the keys (``subject/slice_id``) written. ``options`` are the tracker's options
    (``config.tracking.<tracker>``); an unknown option is a ConfigError before any record is read.
    ``masks``: a segmentation model's prediction shard (``frames2d`` layout) of the same slices,
    whose end-diastolic myocardium replaces each record's own mask (``predicted_ed_mask``).
    """
    from myoflow.config import checked_tracker_options
    from myoflow.tracking.api import track_record

    checked_tracker_options(tracker, dict(options or {}))
    qc_rows: list[dict[str, Any]] = []
    quality_rows: list[dict[str, Any]] = []
    predicted: FrameShard | None = None

    def tracked() -> Iterator[SliceRecord]:
        for source in read_shard(shard):
            try:
                rec = source if predicted is None else predicted_ed_mask(source, predicted)
                result = track_record(rec, tracker, options)
            except InputError as error:
                error = error.with_context(
                    cohort=source.cohort,
                    subject=source.subject,
                    slice_id=source.slice_id,
                    file=str(shard),
                )
                log.error("not tracked with %s: %s", tracker, error)
                qc_rows.append(qc_row_from_error(error, qc_stage(tracker)))
                quality_rows.append(_quality_row(source, tracker, "not tracked", {}, error.problem))
                continue
            checked = result.checked
            assert checked is not None  # track_record always checks
            if not checked.passed:
                error = rec.error(f"tracking quality check failed: {checked.reason}", "tagged")
                error = error.with_context(file=str(shard))  # where the record has no file
                log.error("%s tracked with %s but rejected: %s", rec.key, tracker, error)
                qc_rows.append(qc_row_from_error(error, qc_stage(tracker)))
                quality_rows.append(
                    _quality_row(rec, tracker, "failed", checked.scores, checked.reason)
                )
                continue
            quality_rows.append(_quality_row(rec, tracker, "tracked", checked.scores, ""))
            qc_rows.extend(
                qc_rows_from_flags(rec, _late_trouble(checked.scores), qc_stage(tracker))
            )
            periods = ", ".join(f"{p:.2f}" for p in result.peaks.periods_px)
            numbers = ", ".join(f"{k}={v:.4g}" for k, v in sorted(result.diagnostics.items()))
            log.info(
                "tracked %s (tag periods %s px; quality %.2f, %.1f%% of points flagged; %s)",
                rec.key,
                periods,
                checked.scores["quality"],
                100 * checked.scores["flagged_fraction"],
                numbers or "-",
            )
            yield rec.replace(
                cine=None,
                tagged=None,
                displacement=result.displacement,
                landmarks=result.landmarks,
                extras={
                    **rec.extras,
                    "tracking_flags": result.flags,
                    "landmark_flags": result.landmark_flags,
                },
            )

    paths = (out_path, qc_path, quality_path)
    with contextlib.ExitStack() as stack:
        if masks is not None:
            predicted = stack.enter_context(FrameShard(masks))
        tmp_shard, tmp_qc, tmp_quality = (stack.enter_context(atomic_path(p)) for p in paths)
        keys = write_shard(tmp_shard, tracked())
        qc_table(qc_rows).to_csv(tmp_qc, sep="\t", index=False)
        quality = pd.DataFrame(quality_rows, columns=QUALITY_COLUMNS)
        quality.to_csv(tmp_quality, sep="\t", index=False)
    log.info(
        "%s: %d slice(s) tracked with %s, %d not trackable or rejected (see %s)",
        out_path,
        len(keys),
        tracker,
        len(qc_rows),
        qc_path,
    )
    return keys

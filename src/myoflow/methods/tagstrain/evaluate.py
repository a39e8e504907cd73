"""Paper 003 evaluation: localisation IoU, landmark position error and landmark strain of every
method, per slice of one shard.

A CPU-only job (torch is not imported). ``experiment`` is the resolved experiment with
tagstrain's settings. The methods scored on each slice:

* ``reference``: the experiment's reference landmarks (the phantom's truth, the cohort's own,
  or the learnt tracker's: ``reference: harp`` or ``sinmod``);
* ``truth`` or ``provided``, with a tracker reference only: the record's own landmarks, scored as
  a method against the tracker and as a second reference (``against``) for every method, so
  that the phantom shows what learning a tracker costs against the exact motion;
* ``rnncnn``: the fully automatic prediction (localised, cropped, tracked, mapped back);
* ``harp``, ``sinmod`` (``compare_trackers``, less a tracker that is the reference): the tag
  trackers, seeded at the record's ED landmarks, tracked on the crop profile and mapped onto
  the field of view, paper 003's "uncorrected registration" rows;
* ``zero``: the ED reference landmarks held still over the cycle, the trivial baseline every
  position error is shown next to (its strain is zero by construction).

Every method's strain is read at the reference's ES frame (the record's, else the frame of the
reference's most negative global circumferential strain), and frames the profile appended as
empty padding are left out of every score. AHA segments follow each method's own ED landmarks
and the record's RV insertion points (``myoflow.strain.landmark_strain``); a slice whose level
is not basal, mid or apical gets the whole-slice rows only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from myoflow.io.shards import read_shard, shard_keys
from myoflow.methods.tagstrain.boxes import Box, iou
from myoflow.methods.tagstrain.inputs import STAGE, box_flags, excluded_row, problem
from myoflow.methods.tagstrain.settings import TRACKER
from myoflow.methods.tagstrain.slices import USED, acquired_frames, landmarks_px, target_box
from myoflow.methods.tagstrain.tracked import tracked_landmarks, with_reference
from myoflow.metrics.landmarks import frame_errors
from myoflow.qc import qc_rows_from_flags, qc_table
from myoflow.record import SLICE_POSITIONS, SliceRecord
from myoflow.samples import evaluated_splits, read_splits, slice_columns, split_of
from myoflow.strain.analysis import es_frame_of
from myoflow.strain.landmark_strain import segment_strain, slice_strain
from myoflow.tables import (
    LANDMARK_STRAIN_CURVES,
    LANDMARK_TRACKING_ERRORS,
    REFERENCE,
    ROI_BOXES,
    SLICE_ID,
    TRUTH,
    ZERO,
)

PathLike = str | os.PathLike[str]
#: The extra of a prediction record holding its box ``x1, y1, x2, y2`` (field-of-view pixels).
BOX_EXTRA = "roi_box"
#: The extra of a tracker's prediction holding the box its crop was cut with (the localisation
#: network's, or the last refined one: ``tracker.refine``).
CROP_EXTRA = "crop_box"
#: The ``method`` name of the tracker's prediction.
PREDICTED = TRACKER
#: The ``method`` name of a cohort's own landmarks when a tracker is the reference.
PROVIDED = "provided"
#: The QC flag of a slice of a cohort without reference landmarks: its strain is the
#: prediction's (Table 3 counts it), but no accuracy is measured on it.
UNSCORED = "no_reference_landmarks:strain predicted, accuracy not measured"


def box_row(
    rec: SliceRecord, predicted: Box, enlargement: float, crop: Box | None = None
) -> dict[str, Any]:
    """The localisation scores of one slice: target and predicted corners, IoU, and the share
    of the reference's ED landmarks the predicted box holds (a box that cuts the myocardium
    off loses landmarks whatever its IoU), and the IoU of the box the tracker's crop was cut
    with (``crop``; the predicted box unless refined); NaN where the record has neither mask
    nor landmarks."""
    corners = ("x1", "y1", "x2", "y2")
    crop = predicted if crop is None else crop
    if rec.mask is None and rec.landmarks is None:  # nothing to draw a target from
        row = {f"target_{c}": np.nan for c in corners}
        row["iou"] = row["crop_iou"] = np.nan
    else:
        target = target_box(rec, enlargement)
        row = {f"target_{c}": v for c, v in zip(corners, target.corners)}
        row["iou"] = float(iou(target.corners, predicted.corners))
        row["crop_iou"] = float(iou(target.corners, crop.corners))
    row.update({f"pred_{c}": v for c, v in zip(corners, predicted.corners)})
    inside = predicted.contains(landmarks_px(rec)[0]) if rec.landmarks is not None else None
    row["landmarks_inside"] = float(np.mean(inside)) if inside is not None else np.nan
    return row


def strain_curves(
    landmarks: Mapping[str, np.ndarray],
    rec: SliceRecord,
    frames: np.ndarray,
    es_from: str = REFERENCE,
) -> pd.DataFrame:
    """Slice and AHA-segment landmark strain of each method over the acquired ``frames``, with
    the ES frame they are all read at (``es_frame``): the record's, else the frame of the most
    negative global circumferential strain of method ``es_from``."""
    tables = []
    for method, marks in landmarks.items():
        kept = marks[frames]
        parts = [slice_strain(kept)]
        if rec.position in SLICE_POSITIONS:  # AHA segments need the slice's level
            parts.append(segment_strain(kept, rec.position, rv_insertion_mm=rec.rv_insertion_mm))
        table = pd.concat(parts, ignore_index=True)
        table["frame"] = frames[table["frame"].to_numpy()]
        table.insert(0, "method", method)
        tables.append(table)
    curves = pd.concat(tables, ignore_index=True)
    es = rec.es_frame
    if es is None or es not in frames:
        es = es_frame_of(curves[curves["method"] == es_from])
    curves["es_frame"] = int(es)
    times = np.asarray(rec.frame_times_ms, dtype=float)
    curves["time_ms"] = times[curves["frame"].to_numpy()]
    return curves


def evaluate_record(
    experiment: Mapping[str, Any],
    rec: SliceRecord,
    split: str,
    predicted: SliceRecord,
    box: Box,
    tracked: Mapping[str, np.ndarray] | None = None,
    own: np.ndarray | None = None,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The box row, landmark errors and strain curves of one slice. ``rec`` holds the
    reference landmarks (a tracker's when the experiment learns one, ``tracked.with_reference``),
    or none on a cohort that brought none: then the slice's strain is the prediction's and the
    compared trackers', read at the record's ES frame or the prediction's, and no error is
    measured. ``tracked``: the compared trackers' landmarks on this record's field of view, by
    tracker; ``own``: with a tracker reference, the record's own landmarks (the phantom's truth,
    or the cohort's), scored as a method and as a second reference every method is also scored
    against."""
    if predicted.landmarks is None or predicted.landmarks.shape[0] != rec.n_frames:
        raise rec.error("the prediction holds no landmarks of the record's frames")
    ids = slice_columns(experiment, rec, split)
    own_label = None if own is None else own_method(experiment, rec)
    methods = {
        PREDICTED: np.asarray(predicted.landmarks, dtype=np.float64),
        **{name: np.asarray(marks, dtype=np.float64) for name, marks in (tracked or {}).items()},
    }
    if rec.landmarks is not None:
        reference = np.asarray(rec.landmarks, dtype=np.float64)
        methods = {
            REFERENCE: reference,
            **methods,
            **({} if own_label is None else {own_label: np.asarray(own, dtype=np.float64)}),
            ZERO: np.repeat(reference[:1], rec.n_frames, axis=0),
        }
    acquired = acquired_frames(rec)
    frames = np.flatnonzero(acquired)
    references = [m for m in (REFERENCE, own_label) if m in methods]
    error_table = _errors(methods, references, acquired, rec)
    curves = strain_curves(methods, rec, frames, REFERENCE if references else PREDICTED)
    enlargement = float(experiment["settings"]["roi"]["enlargement"])
    crop = predicted.extras.get(CROP_EXTRA)
    crop_box = None if crop is None else Box.from_corners(crop)
    box_values = {**ids, **box_row(rec, box, enlargement, crop_box)}
    for table in (error_table, curves):
        for key, value in reversed(list(ids.items())):
            table.insert(0, key, value)
    return (
        box_values,
        error_table[LANDMARK_TRACKING_ERRORS],
        curves[LANDMARK_STRAIN_CURVES],
    )


def _errors(
    methods: Mapping[str, np.ndarray],
    references: Sequence[str],
    acquired: np.ndarray,
    rec: SliceRecord,
) -> pd.DataFrame:
    """Whole-slice landmark errors per acquired frame of every method against each of
    ``references`` (an empty table when there is none), in mm and in image pixels."""
    errors = []
    for against in references:
        for method in [m for m in methods if m != against]:
            table = frame_errors(methods[method], methods[against], acquired)
            table = table[table["region"] == "slice"]
            table.insert(0, "against", against)
            table.insert(0, "method", method)
            errors.append(table)
    if not errors:
        return pd.DataFrame(columns=[c for c in LANDMARK_TRACKING_ERRORS if c not in SLICE_ID])
    error_table = pd.concat(errors, ignore_index=True)
    error_table["time_ms"] = np.asarray(rec.frame_times_ms, float)[error_table["frame"]]
    error_table["rmse_px"] = error_table["rmse_mm"] / float(np.mean(rec.pixel_spacing_mm))
    return error_table


def own_method(experiment: Mapping[str, Any], rec: SliceRecord) -> str:
    """The ``method`` name of a record's own landmarks when a tracker is the reference:
    ``truth`` on a phantom, ``provided`` on a cohort that brought its own."""
    return TRUTH if experiment["synthetic"].get(rec.cohort, False) else PROVIDED


def _compared(
    rec: SliceRecord,
    tracked: Mapping[str, tuple[PathLike, set[str]]],
    qc: list[dict[str, Any]],
) -> dict[str, np.ndarray]:
    """Each compared tracker's landmarks of ``rec`` on its field of view; a tracker that could
    not follow the slice, or whose frames are other phases, is a ``flagged`` QC row. Only
    ``rec``'s own tracked landmarks are read, not the shard's displacement fields; ``tracked``
    maps a tracker to its shard and the keys it holds."""
    out = {}
    for tracker, (path, keys) in tracked.items():
        marks, reason = tracked_landmarks(path if rec.key in keys else None, rec)
        if marks is not None:
            out[tracker] = marks
        else:
            qc += qc_rows_from_flags(rec, [f"{tracker}_not_compared:{reason}"], STAGE)
    return out


def evaluate_stage(
    experiment: Mapping[str, Any],
    shard: PathLike,
    splits: PathLike,
    roi_predictions: PathLike,
    tracker_predictions: PathLike,
    tracked: Sequence[PathLike] = (),
) -> dict[str, pd.DataFrame]:
    """The tables ``boxes``, ``landmark_errors``, ``strain_curves`` and ``qc`` of one shard:
    a slice that cannot be scored (``inputs.problem``) or has no prediction is a QC row, not
    an error, so the other slices are scored. ``tracked``: tracking shards of this shard, one
    per compared tracker (the tracker is the name of the shard's folder)."""
    lookup = split_of(read_splits([splits]))
    wanted = set(evaluated_splits(experiment))
    boxes = {rec.key: rec.extras[BOX_EXTRA] for rec in read_shard(roi_predictions)}
    predicted = {rec.key: rec for rec in read_shard(tracker_predictions)}
    by_tracker = {Path(p).parent.name: (p, set(shard_keys(p))) for p in tracked}
    learnt = experiment.get("tracker")
    reference_shard = by_tracker.pop(learnt) if learnt else None
    rows, errors, curves, qc = [], [], [], []
    for rec in read_shard(shard, only=USED):
        split = lookup.get((rec.cohort, rec.subject))
        if split not in wanted:
            continue
        scored, own, reason = _reference(rec, reference_shard)
        unscored = reason is None and scored.landmarks is None
        reason = reason or problem(scored, need_landmarks=not unscored)
        if reason is None and (rec.key not in predicted or rec.key not in boxes):
            reason = "no prediction (see the prediction job's log)"
        if reason is not None:
            qc.append(excluded_row(rec, reason))
            continue
        if unscored:
            qc += qc_rows_from_flags(rec, [UNSCORED], STAGE)
        row, error, curve = evaluate_record(
            experiment,
            scored,
            str(split),
            predicted[rec.key],
            Box.from_corners(boxes[rec.key]),
            _compared(rec, by_tracker, qc),
            own,
        )
        qc += box_flags(rec, row["landmarks_inside"])
        rows.append(row)
        errors.append(error)
        curves.append(curve)
    return {
        "boxes": pd.DataFrame(rows, columns=ROI_BOXES),
        "landmark_errors": _concat(errors, LANDMARK_TRACKING_ERRORS),
        "strain_curves": _concat(curves, LANDMARK_STRAIN_CURVES),
        "qc": qc_table(qc),
    }


def _reference(
    rec: SliceRecord, reference_shard: tuple[PathLike, set[str]] | None
) -> tuple[SliceRecord, np.ndarray | None, str | None]:
    """``(record scored, its own landmarks, why it cannot be scored)``: the record itself when
    its landmarks are the reference, else the record with the learnt tracker's landmarks (from
    ``reference_shard``: the shard and its keys), its own landmarks kept aside."""
    if reference_shard is None:
        return rec, None, None
    path, keys = reference_shard
    scored, reason = with_reference(rec, path if rec.key in keys else None)
    if scored is None:
        return rec, None, reason
    return scored, rec.landmarks, None


def _concat(tables: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not tables:
        return pd.DataFrame(columns=columns)
    return pd.concat(tables, ignore_index=True)[columns]

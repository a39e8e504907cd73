"""Tag trackers' landmarks on paper 003's field of view: the "uncorrected registration" rows.

The trackers run on the ``crop`` profile (the LV crop, where the tags are resolvable), paper 003's
networks on the ``fov`` profile (the whole field of view). Both come from the same canonical
record, and each stores its transform in the record's covariates, so a tracked landmark in crop
millimetres goes back to the source image (``CropTransform.to_source_mm``) and on to the field of
view (``FovTransform.to_fov_mm``) exactly: two float64 shifts.

Frames must be the same frames. The crop profile brings a series to its frame count by
resampling (``temporal: resample``) while the fov profile keeps the first frames or pads, so the
two agree only where the series was acquired with that many frames already (UK Biobank: 20). Where
they do not, frame t of one is another cardiac phase than frame t of the other, and the slice is
left out with the reason rather than compared at the wrong phase.

The same landmarks are the reference of an experiment that learns a tracker (``reference: harp``
or ``sinmod``, the way paper 003 learned a registration tool's output): ``tracked_landmarks``
reads them for training and for scoring.
"""

from __future__ import annotations

import os

import numpy as np

from myoflow.io.shards import read_record
from myoflow.preprocess.fov import FovTransform
from myoflow.preprocess.spatial import CropTransform
from myoflow.record import SliceRecord


def frame_mismatch(crop_rec: SliceRecord, fov_rec: SliceRecord) -> str | None:
    """Why the two profiles' frames of one slice are not the same phases (None when they are)."""
    if crop_rec.key != fov_rec.key or crop_rec.cohort != fov_rec.cohort:
        return (
            f"different slices: {crop_rec.cohort} {crop_rec.key} and {fov_rec.cohort} {fov_rec.key}"
        )
    if crop_rec.n_frames != fov_rec.n_frames:
        return f"{crop_rec.n_frames} crop frames against {fov_rec.n_frames} in the field of view"
    if crop_rec.original_frames != crop_rec.n_frames:
        return (
            f"the crop profile resampled {crop_rec.original_frames} acquired frames to "
            f"{crop_rec.n_frames}, the field of view kept the first ones"
        )
    return None


def crop_to_fov_mm(
    landmarks_mm: np.ndarray, crop_rec: SliceRecord, fov_rec: SliceRecord
) -> np.ndarray:
    """Landmarks ``[T, 2, 168]`` in the crop profile's mm -> the fov profile's mm (float64).

    Raises ``ValueError`` naming the slice when the frames are not the same phases
    (``frame_mismatch``).
    """
    problem = frame_mismatch(crop_rec, fov_rec)
    if problem is not None:
        raise ValueError(f"{fov_rec.cohort} {fov_rec.key}: {problem}")
    source = CropTransform.from_covariates(crop_rec.covariates).to_source_mm(
        np.asarray(landmarks_mm, dtype=np.float64), axis=1
    )
    return FovTransform.from_record(fov_rec).to_fov_mm(source, axis=1)


#: What is read of a tracking record: its landmarks (the displacement fields are most of its
#: bytes).
_NEEDED = ("landmarks",)
NOT_TRACKED = "not tracked (the tracking QC says why)"


def tracked_landmarks(
    tracked: str | os.PathLike[str] | None, fov_rec: SliceRecord
) -> tuple[np.ndarray | None, str | None]:
    """``(landmarks [T, 2, 168] on fov_rec's field of view in mm, None)`` from the tracking shard
    ``tracked``, or ``(None, why not)``: no shard holds the slice, the tracker could not follow
    it, or its frames are other phases (``frame_mismatch``)."""
    crop = None if tracked is None else read_record(tracked, fov_rec.key, only=_NEEDED)
    if crop is None or crop.landmarks is None:
        return None, NOT_TRACKED
    reason = frame_mismatch(crop, fov_rec)
    if reason is not None:
        return None, reason
    return crop_to_fov_mm(crop.landmarks, crop, fov_rec), None


def with_reference(
    rec: SliceRecord, tracked: str | os.PathLike[str] | None
) -> tuple[SliceRecord | None, str | None]:
    """``(rec with the tracker's landmarks as its own, None)``, or ``(None, why not)``: the
    record a tracker-reference experiment trains on and scores against. The image, the mask and
    the RV insertion points stay the record's."""
    marks, reason = tracked_landmarks(tracked, rec)
    if marks is None:
        return None, f"no tracker reference: {reason}"
    return rec.replace(landmarks=marks), None

"""What paper 003 reads off a record, torch-free: its landmarks in pixels, the localisation
target, the tagged series and which frames were acquired.

Shared by the training data (``data``), the checks (``inputs``), the evaluation and the report,
which run in the CPU environment without torch.
"""

from __future__ import annotations

import numpy as np

from myoflow.methods.tagstrain.boxes import Box, box_of_mask, box_of_points
from myoflow.preprocess.temporal import ACQUIRED
from myoflow.record import SliceRecord

#: What paper 003's jobs read of a record (``read_record(..., only=USED)``): a preprocessed
#: record also holds the cine, the true displacement and strain maps, eight times these bytes.
USED = ("tagged", "mask", "landmarks", "rv_insertion_mm", ACQUIRED)


def landmarks_px(rec: SliceRecord) -> np.ndarray:
    """The record's landmarks ``[T, 2, 168]`` in image pixels (x = mm / column spacing)."""
    if rec.landmarks is None:
        raise rec.error("paper 003 needs landmarks (none in the record)", "landmarks")
    sy, sx = rec.pixel_spacing_mm
    return np.asarray(rec.landmarks, dtype=np.float64) / np.array([sx, sy])[None, :, None]


def target_box(rec: SliceRecord, enlargement: float) -> Box:
    """The localisation target: the ED myocardium's extent grown by ``enlargement``, inside the
    image; from the ED landmarks when there is no mask."""
    if rec.mask is not None:
        box = box_of_mask(rec.mask[0], enlargement)
    else:
        box = box_of_points(landmarks_px(rec)[0], enlargement)
    return box.clipped(rec.image_shape)


def tagged_series(rec: SliceRecord) -> np.ndarray:
    if rec.tagged is None:
        raise rec.error("paper 003 needs a tagged series (none in the record)", "tagged")
    return np.asarray(rec.tagged, dtype=np.float32)


def acquired_frames(rec: SliceRecord) -> np.ndarray:
    """``[T]`` bool: frames that hold an acquired image (not the profile's empty padding)."""
    flags = rec.extras.get(ACQUIRED)
    if flags is None:
        return np.ones(rec.n_frames, bool)
    return np.asarray(flags).astype(bool)

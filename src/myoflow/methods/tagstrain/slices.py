"""What paper 003 reads off a record, torch-free: its landmarks in pixels, the localisation
target and input, the tagged series and which frames were acquired.

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


def motion_image(rec: SliceRecord) -> np.ndarray:
    """``[S, S]`` float32: the standard deviation over the acquired frames of the tagged series,
    divided by its maximum (zeros for a series that does not change).

    Beyond the paper, the localisation network's second input channel. The ED frame alone shows
    the heart through a tag grid that also covers the chest wall and the liver; over the cycle the
    myocardium's tags move and the blood's wash out, while still tissue only fades, so this image
    is bright where the heart is. Padded frames (empty, not acquired) are left out: they would
    light up every tissue alike. Rounded to half precision, in which training keeps a cohort's
    images in memory, so training and prediction see the same values. Both reach it only with
    records ``inputs.problem`` passed, which have at least two acquired frames."""
    series = tagged_series(rec)[acquired_frames(rec)].astype(np.float64)
    spread = series.std(axis=0)
    # rounding leaves a still series a spread of ~1e-17 of its intensity: that is no motion
    if float(spread.max()) <= 1e-6 * float(np.abs(series).max()):
        return np.zeros(spread.shape, np.float32)
    return (spread / spread.max()).astype(np.float16).astype(np.float32)


def roi_input(rec: SliceRecord, motion: bool) -> np.ndarray:
    """The localisation network's input ``[C, S, S]``: the ED frame, and with ``motion`` the
    ``motion_image`` as a second channel."""
    ed = tagged_series(rec)[0]
    return np.stack([ed, motion_image(rec)]) if motion else ed[None]

"""The ``frames2d`` profile (paper 001): every frame of a slice on a ``size`` x ``size`` grid.

Paper 001 segments the myocardium frame by frame in images resized to 256 x 256. Resizing the
matrix straight to 256 x 256 would stretch a non-square field of view or non-square pixels, so
here the record's whole field of view is centred in a square of side ``max(rows x row spacing,
columns x column spacing)`` mm, zero-padded along its shorter side, and resampled onto ``size`` x
``size`` square pixels with the crop profile's resampler (``myoflow.preprocess.spatial``: images
linear, the mask linear then thresholded at 0.5): a round ventricle stays round whatever the
matrix and pixel shape. The transform is kept in the covariates
(``CropTransform.from_covariates``) to map a segmentation back onto the source image.

Intensity: each series is clipped to its percentiles and scaled to [0, 1] over the source pixels
and all frames together, never per frame (``myoflow.preprocess.intensity``: fading tags are
signal). Only the images and the mask are kept, and the displacement when ``displacement`` is
set (so that paper 001's physics transform can move its tags with the tissue); landmarks and
extras are dropped before resampling (a 2-D segmentation needs none of them). ED/ES-only records are kept: two frames
are two samples. ``myoflow.io.frames`` writes the result as flat 2-D samples, one per frame.
"""

from __future__ import annotations

from typing import Any

from myoflow.preprocess.intensity import normalise_record
from myoflow.preprocess.options import Frames2dOptions
from myoflow.preprocess.roi import RoiBox
from myoflow.preprocess.spatial import CropTransform, crop_record
from myoflow.record import SliceRecord


def square_transform(rec: SliceRecord, size: int) -> CropTransform:
    """The map from the record's image onto ``size`` x ``size`` square pixels covering its whole
    field of view, centred, the shorter side zero-padded."""
    h, w = rec.image_shape
    sy, sx = rec.pixel_spacing_mm
    box = RoiBox(center_mm=((w - 1) / 2.0 * sx, (h - 1) / 2.0 * sy), side_mm=max(h * sy, w * sx))
    return CropTransform.from_box(box, size, (h, w), (sy, sx))


def frames2d_record(rec: SliceRecord, opts: Frames2dOptions | dict[str, Any]) -> SliceRecord:
    """One record on the profile's square grid with images in [0, 1]; validated.

    Raises InputError for a constant image or a mask emptied by the resampling.
    """
    o = opts if isinstance(opts, Frames2dOptions) else Frames2dOptions.from_dict(opts)
    transform = square_transform(rec, o.size)
    kept = rec.replace(landmarks=None, rv_insertion_mm=None, extras={})
    if not o.displacement:
        kept = kept.replace(displacement=None)
    out = crop_record(kept, transform)
    out = normalise_record(out, "percentile", o.percentiles, transform.inside_source())
    # The padding of a non-square field of view is the rule here, not news for the QC table.
    return out.replace(flags=list(rec.flags)).validate()

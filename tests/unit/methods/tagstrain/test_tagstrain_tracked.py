"""Landmarks tracked on the crop profile land on the field of view's landmarks exactly."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.methods.tagstrain.tracked import crop_to_fov_mm, frame_mismatch
from myoflow.phantom.cohort import generate, plan
from myoflow.preprocess.fov import fov_profile_record
from myoflow.preprocess.pipeline import preprocess_record


def _profiles(frames: int) -> tuple:
    cfg = {"species": "human", "seed": 8, "subjects": 1, "slices": ["mid"], "frames": frames}
    rec = generate(plan("h", cfg)[0])
    crop = preprocess_record(rec, {"size": 64, "frames": 20})
    fov = fov_profile_record(rec, {"size": 256, "frames": 20})
    return crop, fov


def test_the_truth_through_the_crop_comes_back_on_the_field_of_views_truth() -> None:
    crop, fov = _profiles(20)
    assert frame_mismatch(crop, fov) is None
    mapped = crop_to_fov_mm(crop.landmarks, crop, fov)
    # both profiles store float32 positions: agreement to float32 rounding of ~200 mm
    assert np.abs(mapped - fov.landmarks).max() < 1e-4


def test_resampled_frames_are_refused_with_the_reason() -> None:
    crop, fov = _profiles(24)
    assert "resampled 24 acquired frames" in frame_mismatch(crop, fov)
    with pytest.raises(ValueError, match="h-s0001/mid: the crop profile resampled"):
        crop_to_fov_mm(crop.landmarks, crop, fov)

"""Bad slices are named and left out by paper 003's stages; the others go on."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.methods.tagstrain.inputs import box_flags, excluded_row, problem
from myoflow.phantom.cohort import generate, plan
from myoflow.preprocess.fov import fov_profile_record


@pytest.fixture(scope="module")
def good():
    cfg = {"species": "human", "seed": 2, "subjects": 1, "slices": ["mid"], "frames": 8}
    rec = generate(plan("h", cfg)[0])
    return fov_profile_record(rec, {"size": 128, "frames": 8}).replace(
        source_files={"tagged": "scan.h5"}
    )


def test_a_phantom_slice_is_usable(good) -> None:
    assert problem(good, need_landmarks=True) is None


def test_a_cine_given_as_the_tagged_series_is_refused(good) -> None:
    assert "no tag pattern" in problem(good.replace(tagged=good.cine), need_landmarks=False)
    assert problem(good.replace(tagged=None), need_landmarks=False) == "no tagged series"


def test_a_single_acquired_frame_is_refused(good) -> None:
    one = np.zeros(good.n_frames, np.uint8)
    one[0] = 1
    extras = {**good.extras, "frame_acquired": one}
    assert "1 acquired frame" in problem(good.replace(extras=extras), need_landmarks=False)


def test_landmarks_leaving_the_image_are_refused_for_training_only(good) -> None:
    far = good.landmarks.copy()
    far[3, 0, 10] = 1e4
    moved = good.replace(landmarks=far)
    assert "leave the 128x128 image in frame(s) [3]" in problem(moved, need_landmarks=True)
    assert problem(moved, need_landmarks=False) is None  # prediction needs no landmarks
    short = good.replace(landmarks=good.landmarks[:, :, :100])
    assert "got (8, 2, 100)" in problem(short, need_landmarks=True)


def test_qc_rows_name_cohort_subject_slice_and_file(good) -> None:
    row = excluded_row(good, "no tagged series")
    assert (row["cohort"], row["subject"], row["slice_id"], row["file"]) == (
        "h",
        "h-s0001",
        "mid",
        "scan.h5",
    )
    assert row["status"] == "excluded"
    assert box_flags(good, 1.0) == []
    (flag,) = box_flags(good, 0.75)
    assert flag["status"] == "flagged" and "0.25 of the ED landmarks outside" in flag["reason"]

"""The record entry point on phantom slices: units, landmarks, strain, and refusals that name the
subject and the problem."""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.errors import InputError
from myoflow.phantom.cohort import generate, plan
from myoflow.tracking.api import track_record
from myoflow.tracking.common import extend_nearest, seed_landmarks


@pytest.fixture(scope="module")
def rat():
    return generate(plan("rats", {"species": "rat", "subjects": 1, "snr": 20, "seed": 4})[1])


@pytest.fixture(scope="module")
def tracked(rat):
    return track_record(rat, "harp")


def test_harp_recovers_the_phantom_motion_in_mm(rat, tracked) -> None:
    mask = rat.mask[0].astype(bool)
    px = rat.pixel_spacing_mm[0]
    es = rat.es_frame
    err = np.hypot(*(tracked.displacement[es] - rat.displacement[es])[:, mask]) / px
    zero = np.hypot(*rat.displacement[es][:, mask]) / px
    assert zero.mean() > 3.0  # the motion is several pixels (5.6 px) ...
    # ... and HARP meets docs/tracking.md's aim at SNR 20 ("Tracking validation": mean ES error at
    # most 0.3 px; this mid slice, 160 px, 20 frames, 4.6 px tags, is the benchmark's setting).
    # Measured 0.203 px; a tracker returning 0.6 x the motion errs by about 2.2 px.
    assert err.mean() <= 0.3
    assert tracked.displacement.shape == rat.displacement.shape
    assert tracked.displacement.dtype == np.float32
    lm_err = np.hypot(*(tracked.landmarks[es] - rat.landmarks[es])) / px
    assert np.median(lm_err) < 0.5  # no documented aim for landmarks; measured 0.135 px


def test_harp_strain_from_phase_gradients(rat, tracked) -> None:
    maps = tracked.strain_maps(rat.pixel_spacing_mm)
    mask = rat.mask[0].astype(bool)
    es = rat.es_frame
    ecc = np.nanmean(maps["ecc_green"][es][mask])
    # docs/tracking.md aim |ES Ecc error| <= 0.02 at SNR 20; measured +0.008 (HARP phase-gradient
    # strain)
    assert ecc == pytest.approx(np.nanmean(rat.extras["ecc_green"][es][mask]), abs=0.02)
    assert np.nanmean(maps["ecc_green"][0][mask]) == pytest.approx(0.0, abs=1e-6)


def test_outside_the_myocardium_is_the_nearest_tracked_value(rat, tracked) -> None:
    mask = rat.mask[0].astype(bool)
    field = np.zeros((1, 2, 5, 5))
    region = np.zeros((5, 5), bool)
    region[2, 2] = True
    field[0, :, 2, 2] = (1.5, -2.0)
    extended = extend_nearest(field, region)
    assert np.all(extended[0, 0] == 1.5) and np.all(extended[0, 1] == -2.0)
    assert np.isfinite(tracked.displacement[:, :, ~mask]).all()


def test_landmarks_seeded_from_the_mask_match_the_phantom(rat) -> None:
    seeds = seed_landmarks(rat.mask[0], rat.pixel_spacing_mm, rat.rv_insertion_mm)
    px = rat.pixel_spacing_mm[0]
    # same convention (septum first, endo to epi) up to the mask's pixel staircase
    assert np.median(np.hypot(*(seeds - rat.landmarks[0]))) / px < 0.8


def test_record_without_landmarks_is_tracked_from_seeds(rat) -> None:
    result = track_record(rat.replace(landmarks=None), "harp")
    assert result.landmarks.shape == (rat.n_frames, 2, 168)


def test_cine_given_as_tagged_is_refused_by_name(rat) -> None:
    with pytest.raises(InputError, match="no tag peaks found") as info:
        track_record(rat.replace(tagged=rat.cine), "harp")
    assert info.value.subject == rat.subject and info.value.cohort == "rats"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tagged": None}, "needs a tagged series"),
        ({"mask": None}, "needs a myocardium mask"),
    ],
)
def test_missing_inputs_are_refused(rat, change, message) -> None:
    with pytest.raises(InputError, match=message):
        track_record(rat.replace(**change), "harp")


def test_mask_without_a_ring_is_refused_by_name(rat) -> None:
    # two blobs in opposite corners: most rays from their common centroid meet neither
    blob = np.zeros_like(rat.mask)
    blob[:, :4, :4] = 1
    blob[:, -4:, -4:] = 1
    with pytest.raises(InputError, match="cannot place the 168 landmarks") as info:
        track_record(rat.replace(mask=blob, landmarks=None), "harp")
    assert info.value.subject == rat.subject


def test_unknown_tracker_is_refused(rat) -> None:
    with pytest.raises(ValueError, match="unknown tracker"):
        track_record(rat, "optical-flow")

"""Tracker landmark seeding: what mutation testing (``make mutants``) found untested.

``seed_landmarks`` walks rays from the LV centre to find where the myocardium starts and ends.
The only test compared its seeds with the phantom's on a near-circular wall, where every ray sees
the same radii: a mutant that walked the mirror-image ray (x negated), or a ray step ten times
coarser, still passed. Here the wall's thickness varies around the ring (thin at one side, thick
at the other, in x and in y), on anisotropic pixels, and each seed is compared with the analytic
boundary; on mouse-sized pixels too, where a ray step fixed in millimetres instead of pixels
misses the wall's edges by several pixels.
Also: the checks of the tracker's inputs (at least two tagged frames, finite, ED at frame 0, a
non-empty ED mask), each reported against the file at fault, were untested.
"""

from __future__ import annotations

import numpy as np
import pytest

from myoflow.errors import InputError
from myoflow.record import LANDMARK_LINES, LANDMARK_POINTS, SliceRecord
from myoflow.strain.aha import landmark_line_angles_deg
from myoflow.tracking.common import ed_region, seed_landmarks, tagged_series

SPACING = (0.8, 0.6)  # (row, col) mm: rays cross unequal pixel sides
CENTRE = np.array([28.8, 40.0])  # (x, y) mm
R_IN = 7.0


def _r_out(theta: np.ndarray) -> np.ndarray:
    """Epicardial radius (mm), different in each quadrant (9.1 to 16.9 mm): a ray mirrored in x
    or in y errs by up to 6 or 5 mm."""
    return 13.0 + 3.0 * np.cos(theta) + 2.5 * np.sin(theta)


def _mask() -> np.ndarray:
    rows, cols = np.indices((96, 96))
    x, y = cols * SPACING[1] - CENTRE[0], rows * SPACING[0] - CENTRE[1]
    r = np.hypot(x, y)
    return ((r >= R_IN) & (r <= _r_out(np.arctan2(y, x)))).astype(np.uint8)


@pytest.mark.parametrize("scale", [1.0, 1.0 / 6.0])
def test_seeds_lie_on_the_walls_boundaries_along_each_documented_line(scale: float) -> None:
    """``scale`` 1/6: the same wall on 0.13 x 0.1 mm pixels, a mouse heart at 11.7 T (every
    length in mm scales, the mask in pixels does not)."""
    spacing = (SPACING[0] * scale, SPACING[1] * scale)
    centre = CENTRE * scale
    seeds = seed_landmarks(_mask(), spacing, None).reshape(2, LANDMARK_LINES, LANDMARK_POINTS)
    angles = np.radians(landmark_line_angles_deg(centre, None, LANDMARK_LINES))
    offset = seeds - centre[:, None, None]
    radius = np.hypot(offset[0], offset[1])
    # The mask resolves a boundary to within half a pixel diagonal (0.5 mm here), and the ray is
    # sampled every 0.1 pixel (0.06 mm): a seed may be off by their sum.
    tolerance = 0.5 * np.hypot(*spacing) + 0.1 * min(spacing)
    np.testing.assert_array_less(np.abs(radius[:, 0] - R_IN * scale), tolerance)
    np.testing.assert_array_less(np.abs(radius[:, -1] - _r_out(angles) * scale), tolerance)
    # every point of a line on its documented angle; the blood-pool centroid of a pixelated
    # disc is within ~0.1 pixel of the true centre: under 1 degree at the endocardium
    drift = np.degrees(np.arctan2(offset[1], offset[0]) - angles[:, None])
    np.testing.assert_array_less(np.abs((drift + 180.0) % 360.0 - 180.0), 1.0)
    # endocardium to epicardium, evenly spaced along the line
    assert np.all(np.diff(radius, axis=1) > 0)
    gaps = np.hypot(*np.diff(seeds, axis=2))
    np.testing.assert_allclose(gaps, np.broadcast_to(gaps[:, :1], gaps.shape), atol=1e-9)


def _record(frames: int = 3, **changes: object) -> SliceRecord:
    """A bare tagged record with a small square of myocardium in every frame."""
    mask = np.zeros((frames, 8, 8), np.uint8)
    mask[:, 3:5, 3:5] = 1
    rec = SliceRecord(
        cohort="c",
        subject="s01",
        slice_id="mid",
        position="mid",
        group="all",
        pixel_spacing_mm=(1.0, 1.0),
        frame_times_ms=np.arange(frames) * 40.0,
        original_frames=frames,
        tagged=np.ones((frames, 8, 8), np.float64),
        mask=mask,
        source_files={
            "cine": "s01_cine.nii.gz",
            "tagged": "s01_tagged.nii.gz",
            "mask": "s01_mask.nii.gz",
        },
    )
    return rec.replace(**changes)


def test_two_tagged_frames_are_enough_and_come_back_as_float32() -> None:
    tagged = tagged_series(_record(frames=2))
    assert tagged.shape == (2, 8, 8) and tagged.dtype == np.float32


@pytest.mark.parametrize(
    "frames, changes, message",
    [
        (1, {}, r"must be \[T >= 2, H, W\], got \(1, 8, 8\)"),
        (3, {"tagged": np.ones((3, 8), np.float32)}, r"must be \[T >= 2, H, W\]"),
        (
            3,
            {"tagged": np.full((3, 8, 8), np.nan)},
            ": the tagged series contains NaN or Inf values$",
        ),
        (3, {"ed_frame": 1}, "end-diastole \\(tagging\\) at frame 0"),
    ],
)
def test_unusable_tagged_series_are_reported_against_the_tagged_file(
    frames: int, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message) as info:
        tagged_series(_record(frames, **changes))
    assert info.value.file == "s01_tagged.nii.gz"


def test_a_record_without_tags_or_mask_is_reported_against_that_file() -> None:
    with pytest.raises(
        InputError, match=": tracking needs a tagged series; the record has none$"
    ) as info:
        tagged_series(_record(tagged=None))
    assert info.value.file == "s01_tagged.nii.gz"
    with pytest.raises(
        InputError, match=r": tracking needs a myocardium mask \(at least at ED\)$"
    ) as info:
        ed_region(_record(mask=None))
    assert info.value.file == "s01_mask.nii.gz"


def test_an_empty_ed_mask_is_reported_against_the_mask_file() -> None:
    rec = _record()
    rec.mask[0] = 0  # myocardium in later frames only: the ED frame is empty
    with pytest.raises(InputError, match=": the ED myocardium mask is empty$") as info:
        ed_region(rec)
    assert info.value.file == "s01_mask.nii.gz"

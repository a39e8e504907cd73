"""Per-subject stacks: slices ordered by their position in mm, one grid, clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from myoflow.errors import InputError
from myoflow.io.shards import write_shard
from myoflow.io.stacks import iter_stacks, subject_stack
from myoflow.record import SliceRecord


def _slice(
    slice_id: str,
    location: float | None,
    subject: str = "s1",
    frames: int = 4,
    shape: tuple[int, int] = (6, 5),
    spacing: tuple[float, float] = (1.5, 1.2),
    position: str | None = None,
) -> SliceRecord:
    """A slice whose cine is filled with a value telling which slice it is."""
    value = float(slice_id) if slice_id.isdigit() else float(len(slice_id))
    return SliceRecord(
        cohort="c",
        subject=subject,
        slice_id=slice_id,
        position=position or slice_id,
        group="g",
        pixel_spacing_mm=spacing,
        frame_times_ms=np.arange(frames) * 30.0,
        original_frames=frames,
        cine=np.full((frames, *shape), value, np.float32),
        mask=np.ones((frames, *shape), np.uint8),
        slice_location_mm=location,
    ).validate()


def test_slices_are_ordered_by_their_location_in_mm() -> None:
    records = [_slice("7", 12.5), _slice("3", -4.0), _slice("12", 30.0), _slice("5", 4.25)]
    stack = subject_stack(records)
    assert stack.ordered_by == "slice_location_mm"
    assert stack.slice_ids == ("3", "5", "7", "12")
    np.testing.assert_array_equal(stack.slice_positions_mm, [-4.0, 4.25, 12.5, 30.0])
    cine = stack.arrays["cine"]
    assert cine.shape == (4, 4, 6, 5)  # [T, Z, H, W]
    assert cine[:, :, 0, 0].tolist() == [[3.0, 5.0, 7.0, 12.0]] * 4
    assert stack.arrays["mask"].shape == (4, 4, 6, 5) and stack.frame_times_ms.shape == (4, 4)
    assert stack.pixel_spacing_mm == (1.5, 1.2)
    assert "tagged" not in stack.arrays and stack.incomplete == (), "no slice has tagged"


def test_without_every_location_the_order_is_basal_to_apical_then_index() -> None:
    records = [
        _slice("apical", 3.0),
        _slice("10", None),
        _slice("basal", 1.0),
        _slice("mid", None),
        _slice("2", None),
    ]
    stack = subject_stack(records)
    assert stack.ordered_by == "position"
    assert stack.slice_ids == ("basal", "mid", "apical", "2", "10")
    assert np.isnan(stack.slice_positions_mm).all(), "no half-known positions"


@pytest.mark.parametrize(
    "odd, message",
    [
        ({"spacing": (1.5, 1.25)}, "pixel spacing"),
        ({"shape": (6, 7)}, "matrix"),
        ({"frames": 5}, "frames"),
    ],
)
def test_slices_on_different_grids_are_refused(odd: dict, message: str) -> None:
    records = [_slice("1", 0.0), _slice("2", 8.0, **odd), _slice("3", 16.0)]
    with pytest.raises(InputError, match=message) as caught:
        subject_stack(records, "shard-000.h5")
    error = caught.value
    assert (error.subject, error.slice_id, error.file) == ("s1", "2", "shard-000.h5")


def test_series_only_some_slices_have_are_named() -> None:
    ed_only = _slice("2", 8.0)
    ed_only = ed_only.replace(mask=ed_only.mask[:1])
    with pytest.raises(InputError, match=r"mask frame counts \[1, 4\]"):
        subject_stack([_slice("1", 0.0), ed_only])
    no_mask = _slice("2", 8.0).replace(mask=None)
    stack = subject_stack([_slice("1", 0.0), no_mask])
    assert stack.incomplete == ("mask",) and "mask" not in stack.arrays


def test_a_shard_gives_one_stack_per_subject(tmp_path: Path) -> None:
    path = tmp_path / "shard-000.h5"
    records = [
        _slice("2", 5.0, subject="a"),
        _slice("1", 0.0, subject="a"),
        _slice("1", 0.0, subject="b"),
    ]
    write_shard(path, records)
    stacks = list(iter_stacks(path))
    assert [(s.subject, s.slice_ids) for s in stacks] == [("a", ("1", "2")), ("b", ("1",))]

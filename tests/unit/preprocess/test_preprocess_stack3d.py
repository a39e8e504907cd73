"""The stack3d profile (paper 002): through-plane interpolation whose acquired planes are exact, a
native-pixel window, the way back to the acquired slices, and each bad stack refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from myoflow.errors import InputError
from myoflow.io.shards import write_shard
from myoflow.io.stacks import subject_stack
from myoflow.io.volumes import VolumeShard
from myoflow.phantom.cohort import generate, plan
from myoflow.preprocess.intensity import normalise_series
from myoflow.preprocess.options import Stack3dOptions
from myoflow.preprocess.stack3d import (
    interpolate_planes,
    stack3d_shard,
    stack_volumes,
    subject_volumes,
    to_slices,
)

MICE = {
    "species": "mouse",
    "subjects": 2,
    "frames": 3,
    "matrix": 128,
    "snr": 15,
    "seed": 11,
    "stack": {"gap_mm": 0.8, "slices": 8},
}
OPTS = Stack3dOptions()


@pytest.fixture(scope="module")
def mice() -> dict[str, list]:
    out: dict[str, list] = {}
    for spec in plan("mice", MICE):
        rec = generate(spec)
        out.setdefault(rec.subject, []).append(rec)
    return out


def test_interpolation_keeps_the_slices_and_is_linear_between() -> None:
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    out = interpolate_planes(volume, 5)
    assert out.shape == (2, 11, 4, 5)
    np.testing.assert_array_equal(out[:, ::5], volume)
    np.testing.assert_allclose(out[:, 2], 0.6 * volume[:, 0] + 0.4 * volume[:, 1], rtol=1e-6)
    np.testing.assert_array_equal(interpolate_planes(volume, 1), volume)


def test_the_paper_grid_and_the_exact_way_back(mice: dict[str, list]) -> None:
    records = next(iter(mice.values()))
    stack = subject_stack(records)
    images, masks, grid = stack_volumes(stack, "cine", 0.16, 96, 36)
    # 8 slices 0.8 mm apart: 5 planes per gap, 36 planes at 0.16 mm, the paper's input
    assert images.shape == (3, 36, 96, 96) and masks.shape == (3, 36, 96, 96)
    assert grid.factor == 5 and grid.planes == tuple(range(0, 36, 5))
    assert grid.spacing_mm[0] == pytest.approx(0.16)
    assert 0.0 <= images.min() and images.max() <= 1.0
    back = to_slices(masks, grid)
    np.testing.assert_array_equal(back, stack.arrays["mask"])  # every myocardium pixel returns
    scaled = normalise_series(stack.arrays["cine"].reshape(-1, 128, 128)).reshape(3, 8, 128, 128)
    r0, c0 = grid.origin
    window = (slice(max(r0, 0), r0 + 96), slice(max(c0, 0), c0 + 96))
    np.testing.assert_array_equal(
        to_slices(images, grid)[..., window[0], window[1]], scaled[..., window[0], window[1]]
    )
    # the window is centred on the LV: the myocardium's centroid is the window's middle
    rows, cols = np.nonzero(masks[0].any(axis=0))
    assert abs(rows.mean() - 47.5) < 1.0 and abs(cols.mean() - 47.5) < 1.0


def test_interpolated_masks_are_a_stack_not_a_pile_of_slices(mice: dict[str, list]) -> None:
    records = next(iter(mice.values()))
    _, masks, grid = stack_volumes(subject_stack(records), "cine", 0.16, 96, 36)
    areas = masks[0].sum(axis=(1, 2))
    # between two acquired slices the area lies between theirs (linear interpolation, 0.5 cut)
    for a, b in zip(grid.planes[:-1], grid.planes[1:]):
        lo, hi = sorted((areas[a], areas[b]))
        assert np.all((areas[a + 1 : b] >= 0.9 * lo) & (areas[a + 1 : b] <= 1.1 * hi))


def test_a_shorter_stack_is_centred_and_zero_padded(mice: dict[str, list]) -> None:
    records = next(iter(mice.values()))[:4]
    images, masks, grid = stack_volumes(subject_stack(records), "cine", 0.16, 96, 36)
    assert grid.planes == (10, 15, 20, 25)
    assert not images[:, :10].any() and not images[:, 26:].any()
    assert not masks[:, :10].any()


def _refusal(records: list, match: str, opts: Stack3dOptions = OPTS) -> InputError:
    with pytest.raises(InputError, match=match) as caught:
        subject_volumes(records, opts, "shard-000.h5")
    assert caught.value.subject == records[0].subject
    assert caught.value.file == "shard-000.h5"
    return caught.value


def test_bad_stacks_are_refused_by_name(mice: dict[str, list]) -> None:
    records = next(iter(mice.values()))
    _refusal(records[:1], "at least two slices")
    error = _refusal(
        records[:3] + records[4:], r"1 slice position\(s\) missing between slices 2 and 4"
    )
    assert error.slice_id == "4"
    shifted = records[5].replace(slice_location_mm=records[5].slice_location_mm + 0.3)
    _refusal(records[:5] + [shifted] + records[6:], "uneven slice gaps")
    _refusal(records, "more than the depth of 30", Stack3dOptions(depth=30))
    coarse = records[3].replace(pixel_spacing_mm=(0.2, 0.2))
    _refusal(records[:3] + [coarse] + records[4:], "pixel spacing")
    unlabelled = records[2].replace(mask=None)
    _refusal(records[:2] + [unlabelled] + records[3:], "masks on only some slices")
    ed_only = [r.replace(mask=r.mask[:1]) for r in records]
    ed_only[0] = records[0].replace(mask=records[0].mask[:2])
    _refusal(ed_only, "mask frame counts")
    no_position = [r.replace(slice_location_mm=None) for r in records]
    _refusal(no_position, "slice positions in mm are unknown")


def test_one_bad_subject_goes_to_qc_and_the_others_are_written(
    mice: dict[str, list], tmp_path: Path
) -> None:
    good, bad = mice.values()
    write_shard(tmp_path / "in.h5", [*good, *bad[:3], *bad[4:]])
    out, qc, index = (tmp_path / n for n in ("shard-000.h5", "qc.tsv", "index.tsv"))
    stack3d_shard(tmp_path / "in.h5", out, qc, index, OPTS)
    qc_table = pd.read_csv(qc, sep="\t")
    assert list(qc_table["subject"]) == [bad[0].subject]
    assert "missing" in qc_table["reason"].iloc[0] and qc_table["status"].iloc[0] == "excluded"
    assert list(pd.read_csv(index, sep="\t")["subject"]) == [good[0].subject]
    with VolumeShard(out) as shard:
        assert len(shard) == 3
        (vol,) = shard.subjects()
        assert vol.subject == good[0].subject and vol.slice_ids == tuple(str(k) for k in range(8))
        assert vol.extra["covariates"]["stack_myocardial_volume_ml"] > 0
        np.testing.assert_array_equal(
            to_slices(vol.masks, vol.grid), subject_stack(good).arrays["mask"]
        )
        table = shard.table()
        assert list(table["frame"]) == [0, 1, 2] and table["is_ed"].tolist() == [1, 0, 0]
        assert table["is_es"].sum() == 1

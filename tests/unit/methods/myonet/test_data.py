"""Training samples: split selection, target scaling round trip, flips and shifts that keep the
physics and stay reproducible."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from myoflow.io.shards import read_shard, write_shard
from myoflow.methods.myonet.data import DisplacementDataset, flip, shift
from myoflow.preprocess.scaling import NETWORK_MIN, to_mm
from myoflow.samples import ed_mask, read_splits, select, tracked_index, with_tracked
from myoflow.strain.aha import lv_centroid_mm
from myoflow.strain.green import radial_circumferential


def _global_strain(u: np.ndarray, mask: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    maps = radial_circumferential(u, spacing, lv_centroid_mm(mask, spacing), mask)
    return np.array([np.nanmean(maps[k][:, mask], axis=1) for k in ("ecc_green", "err_green")])


def test_flip_negates_the_mirrored_component_only() -> None:
    rng = np.random.default_rng(0)
    cine = rng.random((3, 5, 6))
    u = rng.normal(size=(3, 2, 5, 6))
    mask = rng.random((5, 6)) > 0.5
    c, v, m = flip(cine, u, mask, flip_x=True, flip_y=False)
    np.testing.assert_array_equal(v[:, 0], -u[:, 0, :, ::-1])
    np.testing.assert_array_equal(v[:, 1], u[:, 1, :, ::-1])
    np.testing.assert_array_equal(c, cine[..., ::-1])
    c, v, m = flip(cine, u, mask, flip_x=False, flip_y=True)
    np.testing.assert_array_equal(v[:, 0], u[:, 0, ::-1, :])
    np.testing.assert_array_equal(v[:, 1], -u[:, 1, ::-1, :])
    np.testing.assert_array_equal(m, mask[::-1, :])
    twice = flip(*flip(cine, u, mask, True, True), True, True)
    for back, orig in zip(twice, (cine, u, mask)):
        np.testing.assert_array_equal(back, orig)


@pytest.mark.parametrize(("fx", "fy"), [(True, False), (False, True), (True, True)])
def test_flipped_phantom_has_the_same_strain(tiny_cohort: tuple[Path, Path], fx, fy) -> None:
    """A mirrored heart deforms the same way: its global Ecc/Err curves are unchanged.

    Getting the sign of the negated component wrong would turn contraction into shear and
    change both curves, so this checks the flip against the physics, not against itself.
    """
    rec = next(read_shard(tiny_cohort[0]))
    mask = ed_mask(rec)
    _, u, m = flip(rec.cine, rec.displacement.astype(float), mask, fx, fy)
    before = _global_strain(rec.displacement.astype(float), mask, rec.pixel_spacing_mm)
    after = _global_strain(u, m, rec.pixel_spacing_mm)
    assert np.abs(before).max() > 0.05
    np.testing.assert_allclose(after, before, atol=1e-9)


def test_selection_follows_subject_splits(tiny_cohort: tuple[Path, Path]) -> None:
    shard, splits_path = tiny_cohort
    splits = read_splits([splits_path])
    by_split = {name: select([shard], splits, [name]) for name in ("train", "val", "test")}
    subjects = {n: {r.key.split("/")[0] for r in refs} for n, refs in by_split.items()}
    assert subjects["train"] and subjects["val"] and subjects["test"]
    assert not (subjects["train"] & subjects["val"]) and not (subjects["train"] & subjects["test"])
    expected = set(splits.loc[splits["split"] == "train", "subject"])
    assert subjects["train"] == expected


def test_samples_scale_targets_inside_the_ed_myocardium(tiny_cohort: tuple[Path, Path]) -> None:
    shard, splits_path = tiny_cohort
    refs = select([shard], read_splits([splits_path]), ["train"])
    d = 3.0
    cine, target, mask = DisplacementDataset(refs, d)[0]
    rec = next(r for r in read_shard(shard) if r.key == refs[0].key)
    t, h, w = rec.cine.shape
    assert (
        cine.shape == (1, t, h, w) and target.shape == (2, t, h, w) and mask.shape == (1, 1, h, w)
    )
    inside = mask[0, 0].numpy().astype(bool)
    np.testing.assert_array_equal(inside, ed_mask(rec))
    v = target.numpy()
    assert (v[:, :, ~inside] == 0).all()
    assert v[:, :, inside].min() >= NETWORK_MIN - 1e-7 and v.max() <= 1.0
    back = np.moveaxis(to_mm(v, d), 0, 1)
    np.testing.assert_allclose(back[:, :, inside], rec.displacement[:, :, inside], atol=1e-5)


def test_clipped_fraction_counts_the_myocardial_values_beyond_d(
    tiny_cohort: tuple[Path, Path],
) -> None:
    shard, splits_path = tiny_cohort
    refs = select([shard], read_splits([splits_path]), ["train"])
    records = {r.key: r for r in read_shard(shard)}
    values = np.concatenate(
        [
            np.abs(records[ref.key].displacement)
            .transpose(1, 0, 2, 3)[:, :, ed_mask(records[ref.key])]
            .ravel()
            for ref in refs
        ]
    )
    d = float(np.quantile(values, 0.9))
    expected = float((values > d).mean())
    assert 0.05 < expected < 0.15
    assert DisplacementDataset(refs, d).clipped_fraction() == pytest.approx(expected, rel=1e-9)
    assert DisplacementDataset(refs, float(values.max()) * 1.01).clipped_fraction() == 0.0


def test_augmentation_depends_only_on_seed_epoch_and_index(tiny_cohort: tuple[Path, Path]) -> None:
    shard, splits_path = tiny_cohort
    refs = select([shard], read_splits([splits_path]), ["train"])
    a = DisplacementDataset(refs, 3.0, augment=True, seed=4)
    b = DisplacementDataset(refs, 3.0, augment=True, seed=4)
    seen = set()
    for epoch in range(1, 7):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        xa, ya, _ = a[0]
        xb, yb, _ = b[0]
        assert torch_equal(xa, xb) and torch_equal(ya, yb)
        seen.add(xa.numpy().tobytes())
    assert len(seen) > 1, "flips never changed over six epochs"


def torch_equal(a, b) -> bool:
    return bool((a == b).all())


def test_target_margin_keeps_the_reference_beyond_the_myocardium(
    tiny_cohort: tuple[Path, Path],
) -> None:
    shard, splits_path = tiny_cohort
    refs = select([shard], read_splits([splits_path]), ["train"])
    d = 3.0
    _, target, mask = DisplacementDataset(refs, d, margin_px=2)[0]
    rec = next(r for r in read_shard(shard) if r.key == refs[0].key)
    myo = ed_mask(rec)
    np.testing.assert_array_equal(mask[0, 0].numpy().astype(bool), myo)  # the loss mask is kept
    v = target.numpy()
    ring = ndimage.binary_dilation(myo, iterations=2) & ~myo
    support = myo | ring
    assert ring.sum() > 0.5 * myo.sum() ** 0.5
    assert (v[:, :, ~support] == 0).all() and (v[:, :, support] >= NETWORK_MIN - 1e-7).all()
    back = np.moveaxis(to_mm(v, d), 0, 1)
    np.testing.assert_allclose(back[:, :, ring], rec.displacement[:, :, ring], atol=1e-5)


def test_tracked_targets_replace_the_record_displacement(
    tiny_cohort: tuple[Path, Path], tmp_path: Path
) -> None:
    """With a tracking shard the target is the tracked displacement (here: half the motion),
    matched by cohort and slice; a slice missing from the tracking shards is reported."""
    shard, splits_path = tiny_cohort
    refs = select([shard], read_splits([splits_path]), ["train"])
    assert len(refs) >= 2
    untracked = refs[-1].key
    tracked_path = tmp_path / "tracking" / "harp" / "shard-000.h5"
    write_shard(
        tracked_path,
        [
            r.replace(cine=None, tagged=None, displacement=0.5 * r.displacement)
            for r in read_shard(shard)
            if r.key != untracked
        ],
    )
    index = tracked_index([tracked_path])
    assert index[(refs[0].cohort, refs[0].key)] == str(tracked_path)
    kept, missing = with_tracked(refs, index)
    assert [r.key for r in missing] == [untracked]
    assert [r.key for r in kept] == [r.key for r in refs[:-1]]
    assert all(r.target == str(tracked_path) and r.shard == str(shard) for r in kept)
    d = 3.0
    cine, target, mask = DisplacementDataset(kept, d)[0]
    own_cine, _, own_mask = DisplacementDataset(refs, d)[0]
    assert torch_equal(cine, own_cine) and torch_equal(mask, own_mask), "cine and mask kept"
    rec = next(r for r in read_shard(shard) if r.key == kept[0].key)
    inside = ed_mask(rec)
    back = np.moveaxis(to_mm(target.numpy(), d), 0, 1)
    np.testing.assert_allclose(back[:, :, inside], 0.5 * rec.displacement[:, :, inside], atol=1e-5)
    # another cohort's slice with the same key is not matched
    assert with_tracked([replace(refs[0], cohort="other")], index)[0] == []


def test_a_slice_tracked_twice_is_an_error(tiny_cohort: tuple[Path, Path], tmp_path: Path) -> None:
    shard, _ = tiny_cohort
    rec = next(read_shard(shard))
    paths = [tmp_path / "a.h5", tmp_path / "b.h5"]
    for path in paths:
        write_shard(path, [rec.replace(cine=None, tagged=None)])
    with pytest.raises(ValueError, match=f"slice {rec.key} of cohort {rec.cohort} is in two"):
        tracked_index(paths)


@pytest.mark.parametrize(("dy", "dx"), [(3, 0), (0, -4), (-2, 3)])
def test_shifted_phantom_has_the_same_strain(tiny_cohort: tuple[Path, Path], dy, dx) -> None:
    """A heart moved within the crop deforms the same way: its strain curves are unchanged,
    and the cine moved with it (the myocardium's image lies under the moved mask)."""
    rec = next(read_shard(tiny_cohort[0]))
    mask = ed_mask(rec)
    u = rec.displacement.astype(float)
    c, v, m = shift(rec.cine, u, mask, dy, dx)
    assert c.shape == rec.cine.shape and v.shape == u.shape and m.shape == mask.shape
    assert m.sum() == mask.sum(), "the phantom's myocardium stays inside the crop"
    np.testing.assert_array_equal(c[:, m], rec.cine[:, mask])
    np.testing.assert_array_equal(v[:, :, m], u[:, :, mask])
    before = _global_strain(u, mask, rec.pixel_spacing_mm)
    after = _global_strain(v, m, rec.pixel_spacing_mm)
    assert np.abs(before).max() > 0.05
    np.testing.assert_allclose(after, before, atol=1e-9)


def test_shift_pads_the_cine_by_reflection_and_the_field_by_zeros() -> None:
    cine = np.arange(2 * 5 * 6, dtype=float).reshape(2, 5, 6)
    u = np.ones((2, 2, 5, 6))
    mask = np.ones((5, 6), dtype=bool)
    c, v, m = shift(cine, u, mask, 1, -2)
    np.testing.assert_array_equal(c[:, 1:, :4], cine[:, :4, 2:])
    np.testing.assert_array_equal(c[:, 0], cine[:, 1, [2, 3, 4, 5, 4, 3]])  # row -1 is row 1
    assert (v[:, :, 0] == 0).all() and (v[:, :, :, 4:] == 0).all() and v[:, :, 1:, :4].all()
    assert not m[0].any() and not m[:, 4:].any() and m[1:, :4].all()
    np.testing.assert_array_equal(shift(cine, u, mask, 0, 0)[0], cine)
    with pytest.raises(ValueError, match="does not fit"):
        shift(cine, u, mask, 5, 0)


def test_dataset_shifts_are_bounded_and_reproducible(tiny_cohort: tuple[Path, Path]) -> None:
    """Each epoch moves a sample by at most ``shift_px`` (read off the moved mask), the same
    way for the same seed, epoch and index, and the target moves with the mask."""
    shard, splits_path = tiny_cohort
    refs = select([shard], read_splits([splits_path]), ["train"])
    rec = next(r for r in read_shard(shard) if r.key == refs[0].key)
    rows, cols = np.nonzero(ed_mask(rec))
    a = DisplacementDataset(refs, 3.0, shift_px=3, seed=2)
    b = DisplacementDataset(refs, 3.0, shift_px=3, seed=2)
    offsets = set()
    for epoch in range(8):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        cine, target, mask = a[0]
        again = b[0]
        assert all(bool((x == y).all()) for x, y in zip((cine, target, mask), again))
        r, c = np.nonzero(mask[0, 0].numpy())
        dy, dx = r.min() - rows.min(), c.min() - cols.min()
        assert max(abs(dy), abs(dx)) <= 3 and len(r) == len(rows)
        offsets.add((int(dy), int(dx)))
        back = np.moveaxis(to_mm(target.numpy(), 3.0), 0, 1)[:, :, r, c]
        np.testing.assert_allclose(back, rec.displacement[:, :, rows, cols], atol=1e-5)
    assert len(offsets) > 3, f"eight epochs drew only {offsets}"

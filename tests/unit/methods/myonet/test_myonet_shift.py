"""Training shifts: a sample moved within its crop keeps its physics and stays reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from myoflow.io.shards import read_shard
from myoflow.methods.myonet.data import DisplacementDataset, shift
from myoflow.preprocess.scaling import to_mm
from myoflow.samples import ed_mask, read_splits, select
from myoflow.strain.aha import lv_centroid_mm
from myoflow.strain.green import radial_circumferential


def _global_strain(u: np.ndarray, mask: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    maps = radial_circumferential(u, spacing, lv_centroid_mm(mask, spacing), mask)
    return np.array([np.nanmean(maps[k][:, mask], axis=1) for k in ("ecc_green", "err_green")])


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

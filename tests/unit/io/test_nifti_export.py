"""NIfTI export: arrays, spacing, units and landmark positions survive a read-back with nibabel."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from myoflow.io.nifti_export import export_record_nifti, export_shard_nifti
from myoflow.io.shards import write_shard
from myoflow.io.tables import read_tsv
from myoflow.qc import QC_COLUMNS
from myoflow.record import SliceRecord


def _record(subject: str = "s01", n_frames: int = 6, ed_mask_only: bool = False) -> SliceRecord:
    h, w = 24, 32
    rng = np.random.default_rng(0)
    rows, cols = np.indices((h, w))
    mask = ((np.hypot(rows - 12, cols - 15) > 4) & (np.hypot(rows - 12, cols - 15) < 8)).astype(
        np.uint8
    )
    return SliceRecord(
        cohort="c1",
        subject=subject,
        slice_id="mid",
        position="mid",
        group="control",
        pixel_spacing_mm=(1.25, 0.8),
        frame_times_ms=np.arange(n_frames) * 30.0 + 12.0,
        original_frames=n_frames,
        cine=rng.random((n_frames, h, w), dtype=np.float32),
        tagged=rng.random((n_frames, h, w), dtype=np.float32),
        mask=mask[None] if ed_mask_only else np.repeat(mask[None], n_frames, 0),
        displacement=rng.normal(size=(n_frames, 2, h, w)).astype(np.float32),
        landmarks=rng.uniform(0, 20, size=(n_frames, 2, 168)),
        slice_location_mm=-7.5,
        covariates={"slice_thickness_mm": 8.0},
    ).validate()


def test_round_trip_arrays_spacing_and_units(tmp_path: Path) -> None:
    rec = _record()
    files = export_record_nifti(rec, tmp_path)
    names = sorted(p.name for p in files)
    assert names == sorted(
        f"mid_{k}"
        for k in (
            "cine.nii.gz",
            "tagged.nii.gz",
            "mask.nii.gz",
            "displacement_x.nii.gz",
            "displacement_y.nii.gz",
            "landmarks.tsv",
        )
    )
    assert all(p.parent == tmp_path / "s01" for p in files)
    for kind, series in (
        ("cine", rec.cine),
        ("tagged", rec.tagged),
        ("mask", rec.mask),
        ("displacement_x", rec.displacement[:, 0]),
        ("displacement_y", rec.displacement[:, 1]),
    ):
        img = nib.load(tmp_path / "s01" / f"mid_{kind}.nii.gz")
        data = np.asarray(img.dataobj)
        assert data.shape == (32, 24, 1, rec.n_frames), kind
        # Voxel (i, j) is column i, row j: back to [T, H, W] with one transpose.
        np.testing.assert_array_equal(
            np.transpose(data[:, :, 0, :], (2, 1, 0)), series, err_msg=kind
        )
        assert data.dtype == series.dtype
        assert img.header.get_zooms() == pytest.approx((0.8, 1.25, 8.0, 30.0))
        assert img.header.get_xyzt_units() == ("mm", "msec")
        np.testing.assert_allclose(
            img.affine, [[0.8, 0, 0, 0], [0, 1.25, 0, 0], [0, 0, 8.0, -7.5], [0, 0, 0, 1]]
        )
        assert float(img.header["toffset"]) == 12.0


def test_world_coordinates_are_the_record_mm_coordinates(tmp_path: Path) -> None:
    rec = _record()
    export_record_nifti(rec, tmp_path)
    img = nib.load(tmp_path / "s01" / "mid_cine.nii.gz")
    col, row = 7, 5
    x, y, _ = nib.affines.apply_affine(img.affine, [col, row, 0])
    assert (x, y) == pytest.approx((col * 0.8, row * 1.25))
    table = pd.read_csv(tmp_path / "s01" / "mid_landmarks.tsv", sep="\t")
    assert list(table.columns) == ["frame", "line", "point", "x_mm", "y_mm"]
    assert len(table) == rec.n_frames * 168
    pick = table[(table["frame"] == 3) & (table["line"] == 5) & (table["point"] == 2)].iloc[0]
    assert (pick["x_mm"], pick["y_mm"]) == pytest.approx(tuple(rec.landmarks[3, :, 5 * 7 + 2]))


def test_ed_only_mask_and_missing_series(tmp_path: Path) -> None:
    rec = _record(ed_mask_only=True).replace(tagged=None, landmarks=None)
    files = export_record_nifti(rec, tmp_path)
    assert {p.name for p in files} == {
        "mid_cine.nii.gz",
        "mid_mask.nii.gz",
        "mid_displacement_x.nii.gz",
        "mid_displacement_y.nii.gz",
    }
    assert nib.load(tmp_path / "s01" / "mid_mask.nii.gz").shape == (32, 24, 1, 1)


def test_shard_export_is_complete_or_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shard = tmp_path / "shard-000.h5"
    write_shard(shard, [_record("a"), _record("b")])
    out = tmp_path / "nifti" / "shard-000"
    assert export_shard_nifti(shard, out) == 2
    assert sorted(p.name for p in out.iterdir()) == ["a", "b"]
    assert export_shard_nifti(shard, out) == 2, "a previous export is replaced"
    assert sorted(p.name for p in out.parent.iterdir()) == ["shard-000"], "nothing left over"

    from myoflow.io import nifti_export

    real = nifti_export.export_record_nifti

    def fail_on_b(rec, out_dir):
        if rec.subject == "b":
            raise RuntimeError("disk full")
        return real(rec, out_dir)

    monkeypatch.setattr(nifti_export, "export_record_nifti", fail_on_b)
    fresh = tmp_path / "nifti" / "shard-001"
    with pytest.raises(RuntimeError, match="disk full"):
        export_shard_nifti(shard, fresh)
    assert sorted(p.name for p in fresh.parent.iterdir()) == ["shard-000"]


def test_a_record_excluded_later_is_not_exported_but_listed(tmp_path: Path) -> None:
    """Files in the export folder must be usable: an excluded slice is listed, not written."""
    shard = tmp_path / "shard-000.h5"
    write_shard(shard, [_record("a"), _record("b")])
    qc = pd.DataFrame(
        [["c1", "b", "mid", "preprocess", "excluded", "image is constant", "b.nii.gz"]],
        columns=QC_COLUMNS,
    )
    out = tmp_path / "nifti" / "shard-000"
    assert export_shard_nifti(shard, out, qc) == 1
    assert sorted(p.name for p in out.iterdir()) == ["a", "excluded.tsv"]
    listed = read_tsv(out / "excluded.tsv")
    assert listed[["subject", "reason"]].values.tolist() == [["b", "image is constant"]]

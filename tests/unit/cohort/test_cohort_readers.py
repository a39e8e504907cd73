"""The same slice written in every supported format reads back as the same canonical record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from myoflow.cohort.ingest import ingest_row, ingest_shard
from myoflow.cohort.nifti import read_nifti
from myoflow.io.shards import read_shard, write_shard

OPTIONS = {"source": "manifest", "name": "demo"}


def _formats(tmp_path: Path, s, write) -> dict[str, dict[str, str]]:
    """Manifest rows (paths) for each format, all holding ``s``."""
    dt = float(s.times[1] - s.times[0])
    nifti_dir = tmp_path / "nifti"
    nifti_dir.mkdir()
    nifti = {
        "cine": write.nifti(nifti_dir / "cine.nii.gz", s.cine, s.spacing, dt, t0=s.times[0]),
        "mask": write.nifti(nifti_dir / "mask.nii", s.mask, s.spacing, dt, t0=s.times[0]),
        "displacement": write.nifti_displacement(nifti_dir / "u.nii.gz", s.displacement, s.spacing),
    }
    np.save(tmp_path / "u.npy", s.displacement)
    folder = {
        "cine": write.dicom_folder(tmp_path / "dicom" / "cine", s.stored, s.spacing, s.times),
        "mask": write.dicom_folder(
            tmp_path / "dicom" / "mask", s.mask, s.spacing, s.times, slope=1, intercept=0
        ),
        "displacement": tmp_path / "u.npy",
    }
    (tmp_path / "enh").mkdir()
    enhanced = {
        "cine": write.enhanced_dicom(tmp_path / "enh" / "CINE0001", s.stored, s.spacing, s.times),
        "mask": write.enhanced_dicom(
            tmp_path / "enh" / "mask.dcm", s.mask, s.spacing, s.times, slope=1, intercept=0
        ),
        "displacement": tmp_path / "u.npy",
    }
    h5 = write.h5(
        tmp_path / "slice.h5",
        s.spacing,
        s.times,
        cine=s.cine,
        mask=s.mask,
        displacement=s.displacement,
    )
    npz = write.npz(
        tmp_path / "slice.npz",
        s.spacing,
        s.times,
        cine=s.cine,
        mask=s.mask,
        displacement=s.displacement,
    )
    return {
        "nifti": nifti,
        "dicom_folder": folder,
        "enhanced_dicom": enhanced,
        "hdf5": {"cine": h5, "mask": h5, "displacement": h5},
        "npz": {"cine": npz, "mask": npz, "displacement": npz},
    }


def test_every_format_gives_the_same_record(tmp_path: Path, reference_slice, write) -> None:
    s = reference_slice
    for fmt, paths in _formats(tmp_path, s, write).items():
        row = {"subject": "s01", "slice": "mid", **{k: str(v) for k, v in paths.items()}}
        rec = ingest_row(row, "demo", OPTIONS)
        assert rec.image_shape == (24, 20), fmt
        np.testing.assert_array_equal(rec.cine, s.cine, err_msg=fmt)
        np.testing.assert_array_equal(rec.mask, s.mask, err_msg=fmt)
        np.testing.assert_array_equal(rec.displacement, s.displacement, err_msg=fmt)
        np.testing.assert_allclose(rec.pixel_spacing_mm, s.spacing, atol=1e-6, err_msg=fmt)
        np.testing.assert_allclose(rec.frame_times_ms, s.times, atol=1e-6, err_msg=fmt)
        # The marker sits in row 2, third column from the right: not swapped, not flipped.
        assert rec.cine[0, 2, 17] == 1000 * 0.5 - 10, fmt
        assert rec.original_frames == 6 and rec.ed_frame == 0
        assert rec.source_files == {k: str(v) for k, v in paths.items()}, fmt


def test_dicom_keeps_only_whitelisted_acquisition_numbers(
    tmp_path: Path, reference_slice, write
) -> None:
    s = reference_slice
    folder = write.dicom_folder(tmp_path / "cine", s.stored, s.spacing, s.times)
    rec = ingest_row({"subject": "s01", "slice": "mid", "cine": str(folder)}, "demo", OPTIONS)
    assert rec.covariates == {"cine_field_strength_t": 1.5}
    assert rec.flags == [], "spacing and times from the files: nothing to flag"


def test_nifti_4d_reads_the_requested_slice(tmp_path: Path, write) -> None:
    stack = np.stack([write.make_slice().cine + 100 * z for z in range(3)])  # [Z, T, H, W]
    path = write.nifti(tmp_path / "4d.nii.gz", stack, (0.7, 0.5), 40.0, slice_mm=6.0)
    series = read_nifti(path, slice_index=2)
    np.testing.assert_array_equal(series.data, stack[2])
    assert series.slice_location_mm == pytest.approx(12.0)
    with pytest.raises(Exception, match="stack of 3 slices.*slice_index"):
        read_nifti(path)


def test_nifti_3d_space_option_reads_a_stack(tmp_path: Path, write) -> None:
    frames = write.make_slice().cine  # use the 6 frames as 6 z-slices
    path = write.nifti(tmp_path / "stack.nii", frames, (0.7, 0.5), None)
    series = read_nifti(path, slice_index=4, nifti_3d="space")
    np.testing.assert_array_equal(series.data, frames[4:5])
    assert series.frame_times_ms is None


def test_nifti_units_convert_to_mm_and_ms(tmp_path: Path, write) -> None:
    frames = write.make_slice().cine
    path = write.nifti(tmp_path / "m.nii", frames, (0.0007, 0.0005), 0.04, units=("meter", "sec"))
    series = read_nifti(path)
    np.testing.assert_allclose(series.spacing_mm, (0.7, 0.5), rtol=1e-6)
    np.testing.assert_allclose(series.frame_times_ms, np.arange(6) * 40.0, rtol=1e-6)


def test_dicom_folder_with_several_slices_needs_a_choice(
    tmp_path: Path, reference_slice, write
) -> None:
    s = reference_slice
    folder = tmp_path / "multi"
    write.dicom_folder(folder, s.stored, s.spacing, s.times, location=10.0)
    write.dicom_folder(folder, s.stored + 1, s.spacing, s.times, location=18.0, first_instance=7)
    row = {"subject": "s01", "slice": "mid", "cine": str(folder)}
    with pytest.raises(Exception, match=r"2 slice locations \(10, 18\).*slice_index"):
        ingest_row(row, "demo", OPTIONS)
    rec = ingest_row({**row, "slice_index": 1}, "demo", OPTIONS)
    np.testing.assert_array_equal(rec.cine, (s.stored + 1) * 0.5 - 10)
    rec = ingest_row({**row, "slice_location_mm": "10"}, "demo", OPTIONS)
    np.testing.assert_array_equal(rec.cine, s.cine)
    assert rec.slice_location_mm == 10.0


def test_time_last_layout_and_custom_keys(tmp_path: Path, reference_slice, write) -> None:
    s = reference_slice
    path = write.h5(
        tmp_path / "a.h5",
        None,
        None,
        images=np.moveaxis(s.cine, 0, -1),
        seg=np.moveaxis(s.mask, 0, -1),
    )
    options = {**OPTIONS, "layout": "hwt", "keys": {"cine": "images", "mask": "seg"}}
    row = {
        "subject": "s01",
        "slice": "3",
        "cine": str(path),
        "mask": str(path),
        "spacing_mm": "0.7, 0.5",
        "rr_ms": "600",
    }
    rec = ingest_row(row, "demo", options)
    np.testing.assert_array_equal(rec.cine, s.cine)
    np.testing.assert_array_equal(rec.mask, s.mask)
    assert rec.pixel_spacing_mm == (0.7, 0.5)
    np.testing.assert_allclose(rec.frame_times_ms, np.arange(6) * 100.0)
    assert rec.position == "3"
    assert rec.flags == ["spacing_from_manifest", "frame_times_from_rr_ms"]


def test_single_array_npy_and_ed_mask(tmp_path: Path, reference_slice) -> None:
    s = reference_slice
    np.save(tmp_path / "cine.npy", s.cine)
    np.save(tmp_path / "mask_ed.npy", s.mask[0] * 2)
    row = {
        "subject": "s01",
        "slice": "basal",
        "cine": str(tmp_path / "cine.npy"),
        "mask": str(tmp_path / "mask_ed.npy"),
        "spacing_mm": 0.6,
        "frame_times_ms": ",".join(f"{t:g}" for t in s.times),
        "group": "HCM; DCM",
        "cov_age_years": 61,
    }
    rec = ingest_row(row, "demo", {**OPTIONS, "mask_label": 2})
    assert rec.mask.shape == (1, 24, 20) and rec.mask.max() == 1
    assert rec.pixel_spacing_mm == (0.6, 0.6)
    assert rec.group == "HCM"
    assert rec.covariates == {"age_years": 61, "groups": ["HCM", "DCM"]}


def test_ed_frame_rotates_series(tmp_path: Path, reference_slice) -> None:
    s = reference_slice
    np.save(tmp_path / "cine.npy", s.cine)
    row = {
        "subject": "s01",
        "slice": "mid",
        "cine": str(tmp_path / "cine.npy"),
        "spacing_mm": "0.7",
        "rr_ms": 240.0,
        "ed_frame": 2,
        "es_frame": 1,
    }
    rec = ingest_row(row, "demo", OPTIONS)
    np.testing.assert_array_equal(rec.cine, np.roll(s.cine, -2, axis=0))
    np.testing.assert_allclose(rec.frame_times_ms, np.arange(6) * 40.0)
    assert rec.ed_frame == 0 and rec.es_frame == 5
    assert "rotated_to_ed:2" in rec.flags


def test_rv_insertion_from_manifest(tmp_path: Path, reference_slice) -> None:
    s = reference_slice
    np.save(tmp_path / "cine.npy", s.cine)
    row = {
        "subject": "s01",
        "slice": "mid",
        "cine": str(tmp_path / "cine.npy"),
        "spacing_mm": 1,
        "rr_ms": 600,
        "rv_ant_x_mm": 1,
        "rv_ant_y_mm": 2,
        "rv_inf_x_mm": 3,
        "rv_inf_y_mm": 4,
    }
    rec = ingest_row(row, "demo", OPTIONS)
    np.testing.assert_array_equal(rec.rv_insertion_mm, [[1, 2], [3, 4]])


def test_records_survive_the_shard_format(tmp_path: Path, reference_slice, write) -> None:
    """Covariates read from a table (numpy scalars) must still be JSON for the shard metadata."""
    s = reference_slice
    folder = write.dicom_folder(tmp_path / "cine", s.stored, s.spacing, s.times)
    rows = pd.DataFrame(
        [
            {
                "subject": "s01",
                "slice": "2",
                "cine": str(folder),
                "group": "a;b",
                "cov_age": 61,
                "cov_bmi": 22.5,
                "cov_smoker": True,
            }
        ]
    )
    records, qc = ingest_shard(rows, "demo", OPTIONS)
    assert qc.empty
    write_shard(tmp_path / "shard-000.h5", records)
    (back,) = read_shard(tmp_path / "shard-000.h5")
    assert back.covariates == {
        "age": 61,
        "bmi": 22.5,
        "smoker": True,
        "groups": ["a", "b"],
        "cine_field_strength_t": 1.5,
    }
    assert back.group == "a" and back.slice_id == "2" and back.position == "2"
    np.testing.assert_array_equal(back.cine, s.cine)

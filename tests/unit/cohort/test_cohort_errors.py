"""Bad input: every message names the cohort, the subject, the file and what is wrong."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from myoflow.cohort.ingest import ingest_row, ingest_shard
from myoflow.errors import InputError

COHORT = "trial"
OPTIONS = {"source": "manifest", "name": COHORT}


def _fails(row: dict, file: Path | str, problem: str, options: dict | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        ingest_row(row, COHORT, options or OPTIONS)
    error = caught.value
    text = str(error)
    assert f"cohort={COHORT}" in text
    assert f"subject={row['subject']}" in text
    assert f"file={file}" in text
    assert re.search(problem, error.problem), error.problem
    return error


def _row(**paths) -> dict:
    return {"subject": "s07", "slice": "mid", **{k: str(v) for k, v in paths.items()}}


def _nifti_slice(tmp_path: Path, write, name: str = "cine.nii.gz", **changes) -> Path:
    s = write.make_slice()
    cine = changes.get("cine", s.cine)
    return write.nifti(tmp_path / name, cine, s.spacing, 40.0)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "cine.nii.gz"
    _fails(_row(cine=path), path, r"cine file not found")


def test_truncated_nifti(tmp_path: Path, write) -> None:
    path = _nifti_slice(tmp_path, write)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _fails(_row(cine=path), path, r"not a readable NIfTI file \(truncated or corrupt\): \w+")


def test_truncated_uncompressed_nifti(tmp_path: Path, write) -> None:
    path = _nifti_slice(tmp_path, write, "cine.nii")
    path.write_bytes(path.read_bytes()[:1000])
    _fails(_row(cine=path), path, r"not a readable NIfTI file \(truncated or corrupt\)")


def test_corrupt_dicom(tmp_path: Path, write) -> None:
    s = write.make_slice()
    path = write.enhanced_dicom(tmp_path / "cine.dcm", s.stored, s.spacing, s.times)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[: len(data) - 500]))
    _fails(_row(cine=path), path, r"pixel data cannot be decoded")
    path.write_bytes(b"\0" * 128 + b"NOPE" + bytes(data[132:400]))
    _fails(_row(cine=path), path, r"not a DICOM file")


def test_corrupt_file_in_dicom_folder_is_named(tmp_path: Path, write) -> None:
    s = write.make_slice()
    folder = write.dicom_folder(tmp_path / "cine", s.stored, s.spacing, s.times)
    victim = sorted(folder.iterdir())[2]
    victim.write_bytes(victim.read_bytes()[:200])
    _fails(_row(cine=folder), folder, rf"file 3 of 6 \({re.escape(victim.name)}\) .*truncated")


def test_a_uid_in_a_dicom_file_name_is_not_shown(tmp_path: Path, write) -> None:
    """Exports often name files by their SOPInstanceUID; the message names the file without it."""
    s = write.make_slice()
    folder = write.dicom_folder(tmp_path / "cine", s.stored, s.spacing, s.times)
    victim = sorted(folder.iterdir())[2]
    uid_name = folder / "1.2.826.0.1.3680043.8.498.33333.dcm"
    victim.rename(uid_name)
    uid_name.write_bytes(uid_name.read_bytes()[:200])
    error = _fails(_row(cine=folder), folder, r"file 1 of 6 \(<n>\.dcm\) .*truncated")
    assert "3680043" not in str(error)


def test_corrupt_hdf5_and_npz(tmp_path: Path, write) -> None:
    s = write.make_slice()
    h5 = write.h5(tmp_path / "a.h5", s.spacing, s.times, cine=s.cine)
    h5.write_bytes(h5.read_bytes()[:300])
    _fails(_row(cine=h5), h5, r"not a readable HDF5 file \(truncated or corrupt\)")
    npz = write.npz(tmp_path / "a.npz", s.spacing, s.times, cine=s.cine)
    npz.write_bytes(npz.read_bytes()[:300])
    _fails(_row(cine=npz), npz, r"not a readable NPZ file \(truncated or corrupt\)")


def test_wrong_dimensions_array(tmp_path: Path) -> None:
    path = tmp_path / "cine.npy"
    np.save(path, np.ones((2, 3, 4, 5), np.float32))
    _fails(
        {**_row(cine=path), "spacing_mm": 1, "rr_ms": 900},
        path,
        r"wrong dimensions: expected image \[T, H, W\], got \(2, 3, 4, 5\)",
    )


def test_wrong_dimensions_nifti_and_displacement(tmp_path: Path, write) -> None:
    path = tmp_path / "cine.nii"
    nib.save(nib.Nifti1Image(np.ones((20, 24, 1, 6, 2), np.float32), np.eye(4)), str(path))
    _fails(
        _row(cine=path),
        path,
        r"wrong dimensions: expected a 2-D, 3-D or 4-D NIfTI image, got shape \(20, 24, 1, 6, 2\)",
    )
    cine = _nifti_slice(tmp_path, write)
    u = tmp_path / "u.npy"
    np.save(u, np.zeros((6, 3, 24, 20), np.float32))
    _fails(
        _row(cine=cine, displacement=u),
        u,
        r"wrong dimensions: expected displacement \[T, 2, H, W\], got \(6, 3, 24, 20\)",
    )


def test_stack_without_slice_index(tmp_path: Path, write) -> None:
    stack = np.stack([write.make_slice().cine] * 3)  # [Z, T, H, W]
    path = write.nifti(tmp_path / "4d.nii.gz", stack, (0.7, 0.5), 40.0)
    _fails(_row(cine=path), path, r"stack of 3 slices .*give slice_index \(0\.\.2\)")


def test_frame_counts_disagree(tmp_path: Path, write) -> None:
    cine = _nifti_slice(tmp_path, write)
    mask = tmp_path / "mask.npy"
    np.save(mask, np.ones((5, 24, 20), np.uint8))
    error = _fails(_row(cine=cine, mask=mask), mask, r"cine has 6 frames but mask has 5")
    assert str(cine) in error.problem and str(mask) in error.problem


def test_image_sizes_disagree(tmp_path: Path, write) -> None:
    cine = _nifti_slice(tmp_path, write)
    mask = tmp_path / "mask.npy"
    np.save(mask, np.ones((6, 20, 24), np.uint8))
    _fails(_row(cine=cine, mask=mask), mask, r"mask is 20x24 pixels but cine is 24x20")


def test_spacing_disagrees(tmp_path: Path, write) -> None:
    s = write.make_slice()
    cine = _nifti_slice(tmp_path, write)
    tagged = write.npz(tmp_path / "tagged.npz", (0.72, 0.5), None, tagged=s.cine)
    _fails(
        _row(cine=cine, tagged=tagged),
        tagged,
        r"pixel spacing differs by more than 1% between cine .* and tagged",
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_image(tmp_path: Path, write, bad) -> None:
    cine = write.make_slice().cine
    cine[3, 5, 7] = bad
    path = _nifti_slice(tmp_path, write, cine=cine)
    _fails(
        _row(cine=path),
        path,
        r"image contains 1 NaN or Inf value\(s\), the first at index \(3, 5, 7\)",
    )


def test_empty_mask(tmp_path: Path, write) -> None:
    cine = _nifti_slice(tmp_path, write)
    mask = tmp_path / "mask.npy"
    labels = np.zeros((6, 24, 20), np.uint8)
    labels[:, 3:6, 3:6] = 3
    labels[2:, 10:12, 10:12] = 2
    np.save(mask, labels)
    _fails(
        {**_row(cine=cine, mask=mask), "mask_label": 2},
        mask,
        r"myocardium mask is empty: no pixels with label 2 in frame\(s\) \[0, 1\] "
        r"\(labels present: \[0, 2, 3\]\)",
    )


def test_invalid_manifest_value_names_the_column(tmp_path: Path, write) -> None:
    cine = _nifti_slice(tmp_path, write)
    options = {**OPTIONS, "manifest": str(tmp_path / "m.tsv")}
    _fails(
        {**_row(cine=cine), "mask_frames": "some"},
        tmp_path / "m.tsv",
        r"column mask_frames: 'some' is not valid",
        options,
    )
    _fails(
        {**_row(cine=cine), "rv_ant_x_mm": 3.0},
        tmp_path / "m.tsv",
        r"give all four of rv_ant_x_mm",
        options,
    )


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "cine.mha"
    path.write_text("x")
    _fails(_row(cine=path), path, r"unsupported file type '.mha'")


def test_displacement_must_start_at_zero(tmp_path: Path, write) -> None:
    s = write.make_slice()
    cine = _nifti_slice(tmp_path, write)
    u = tmp_path / "u.npy"
    np.save(u, s.displacement + 1.0)
    _fails(_row(cine=cine, displacement=u), u, r"displacement frame 0 is not zero")


def test_ingest_shard_keeps_good_rows_and_lists_the_bad_one(tmp_path: Path, write, caplog) -> None:
    good = _nifti_slice(tmp_path, write)
    missing = tmp_path / "gone.nii.gz"
    rows = pd.DataFrame(
        [
            {"subject": "s01", "slice": "mid", "cine": str(good)},
            {"subject": "s02", "slice": "mid", "cine": str(missing)},
            {"subject": "s03", "slice": "apical", "cine": str(good), "group": "DCM"},
        ]
    )
    with caplog.at_level(logging.ERROR, logger="myoflow.cohort"):
        records, qc = ingest_shard(rows, COHORT, OPTIONS)
    assert [r.key for r in records] == ["s01/mid", "s03/apical"]
    assert records[1].group == "DCM" and records[0].group == "all"
    assert list(qc.columns) == [
        "cohort",
        "subject",
        "slice_id",
        "stage",
        "status",
        "reason",
        "file",
    ]
    assert qc.to_dict("records") == [
        {
            "cohort": COHORT,
            "subject": "s02",
            "slice_id": "mid",
            "stage": "ingest",
            "status": "excluded",
            "reason": "cine file not found",
            "file": str(missing),
        }
    ]
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert (
        f"cohort={COHORT} subject=s02 slice=mid file={missing}: cine file not found" in caplog.text
    )

"""Writers of small test files in every supported format, and a reference slice to write.

Each test writes its own files in tmp_path; the writers here encode each format's conventions
(NIfTI (X, Y, T) with pixdim, DICOM PixelSpacing (row, col) and trigger times, ...) once, so the
tests can check that the readers undo them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4.1"
#: Identifying values written with ``identity=True``. Each one, and each piece of it (family and
#: given names, ID letters and digits, institution words, the digits after pydicom's UID root), is
#: distinctive: long and unusual enough that a search of a run's outputs for it, case-insensitive
#: for letters (tests/support/dicom_cohort.py), cannot match anything by chance.
IDENTITY = {
    "PatientName": "Vandersloot^Johnathaniel^Quincey",
    "PatientID": "MRNQZX-8842139057",
    "PatientBirthDate": "19610417",
    "OtherPatientIDs": "ALTKVW-5512093746",
    "AccessionNumber": "ACCZQW7741902368",
    "InstitutionName": "Xandrovia Quillmere Heartworks",
    "ReferringPhysicianName": "Housewright^Gregorius",
    "OperatorsName": "Ottenbrucker^Marisabel",
    "StudyDate": "20190923",
    "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.7731904528816402957713",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.8.498.5520918374460019283746",
}
SLOPE, INTERCEPT = 0.5, -10.0


@dataclass
class Slice:
    """One 2D+t slice: what every format must read back identically."""

    stored: np.ndarray  # [T, H, W] uint16 values as stored in DICOM
    mask: np.ndarray  # [T, H, W] uint8 labels (myocardium 1)
    displacement: np.ndarray  # [T, 2, H, W] mm, zero at frame 0
    spacing: tuple[float, float]  # (row, col) mm
    times: np.ndarray  # ms

    @property
    def cine(self) -> np.ndarray:
        return (self.stored * SLOPE + INTERCEPT).astype(np.float32)


def make_slice(frames: int = 6, height: int = 24, width: int = 20) -> Slice:
    """Non-square, random, with a marker pixel so that a swap or flip cannot go unnoticed."""
    rng = np.random.default_rng(7)
    stored = rng.integers(0, 400, (frames, height, width)).astype(np.uint16)
    stored[:, 2, width - 3] = 1000
    yy, xx = np.mgrid[:height, :width]
    r = np.hypot(yy - height / 2, xx - width / 2)
    mask = np.repeat(((r > 4) & (r < 8))[None], frames, axis=0).astype(np.uint8)
    displacement = rng.normal(0, 0.5, (frames, 2, height, width)).astype(np.float32)
    displacement[0] = 0
    return Slice(stored, mask, displacement, (0.7, 0.5), np.arange(frames) * 40.0 + 10.0)


# ------------------------------------------------------------------------------------------ NIfTI


def write_nifti(
    path: Path,
    series: np.ndarray,
    spacing: tuple[float, float],
    dt_ms: float | None = None,
    slice_mm: float = 8.0,
    units: tuple[str, str] = ("mm", "msec"),
    t0: float = 0.0,
) -> Path:
    """``series`` is [T, H, W] (written as (X, Y, T); with ``dt_ms`` None as a stack (X, Y, Z)),
    [Z, T, H, W] (as (X, Y, Z, T)) or [H, W]."""
    zooms = [spacing[1], spacing[0]]
    if series.ndim == 2:
        data = series.T
    elif series.ndim == 3:
        data = series.transpose(2, 1, 0)
        zooms.append(dt_ms if dt_ms is not None else slice_mm)
    else:
        data = series.transpose(3, 2, 0, 1)
        zooms += [slice_mm, dt_ms or 0.0]
    img = nib.Nifti1Image(
        np.ascontiguousarray(data), np.diag([spacing[1], spacing[0], slice_mm, 1])
    )
    img.header.set_zooms(zooms)
    img.header.set_xyzt_units(*units)
    img.header["toffset"] = t0
    nib.save(img, str(path))
    return path


def write_nifti_displacement(path: Path, u: np.ndarray, spacing: tuple[float, float]) -> Path:
    """[T, 2, H, W] -> (X, Y, 1, T, 2)."""
    data = np.ascontiguousarray(u.transpose(3, 2, 0, 1)[:, :, None])
    img = nib.Nifti1Image(data, np.diag([spacing[1], spacing[0], 1, 1]))
    img.header.set_zooms([spacing[1], spacing[0], 1.0, 1.0, 1.0])
    img.header.set_xyzt_units("mm", "msec")
    img.header.set_intent("vector")
    nib.save(img, str(path))
    return path


# ------------------------------------------------------------------------------------------ DICOM


def _dataset(sop_class: str, identity: bool) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "MR"
    ds.MagneticFieldStrength = 1.5
    if identity:
        for keyword, value in IDENTITY.items():
            setattr(ds, keyword, value)
    return ds


def write_dicom_folder(
    folder: Path,
    stored: np.ndarray,
    spacing: tuple[float, float],
    times: np.ndarray,
    slope: float = SLOPE,
    intercept: float = INTERCEPT,
    location: float = 12.5,
    identity: bool = False,
    first_instance: int = 1,
) -> Path:
    """One classic MR file per frame, named so that name order is not time order."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(stored)
    for t in range(n):
        ds = _dataset(MR_IMAGE, identity)
        ds.set_pixel_data(np.ascontiguousarray(stored[t], dtype=np.uint16), "MONOCHROME2", 16)
        ds.PixelSpacing = [f"{spacing[0]:g}", f"{spacing[1]:g}"]
        ds.TriggerTime = f"{times[t]:g}"
        ds.InstanceNumber = first_instance + t
        ds.SliceLocation = f"{location:g}"
        ds.RescaleSlope = f"{slope:g}"
        ds.RescaleIntercept = f"{intercept:g}"
        ds.save_as(folder / f"im_{(n - t) * 7 % 97:03d}_{location:g}.dcm", enforce_file_format=True)
    return folder


def write_enhanced_dicom(
    path: Path,
    stored: np.ndarray,
    spacing: tuple[float, float],
    times: np.ndarray,
    slope: float = SLOPE,
    intercept: float = INTERCEPT,
    identity: bool = False,
) -> Path:
    """One enhanced MR multi-frame file, frames stored in reverse temporal order."""
    ds = _dataset(ENHANCED_MR_IMAGE, identity)
    order = np.arange(len(stored))[::-1]
    ds.set_pixel_data(np.ascontiguousarray(stored[order], dtype=np.uint16), "MONOCHROME2", 16)
    measures = Dataset()
    measures.PixelSpacing = [f"{spacing[0]:g}", f"{spacing[1]:g}"]
    measures.SliceThickness = "8"
    transform = Dataset()
    transform.RescaleSlope = f"{slope:g}"
    transform.RescaleIntercept = f"{intercept:g}"
    shared = Dataset()
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.PixelValueTransformationSequence = Sequence([transform])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per_frame = []
    for t in order:
        sync = Dataset()
        sync.NominalCardiacTriggerDelayTime = float(times[t])
        item = Dataset()
        item.CardiacSynchronizationSequence = Sequence([sync])
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    ds.save_as(path, enforce_file_format=True)
    return path


# ------------------------------------------------------------------------------------------ arrays


def write_h5(
    path: Path, spacing: tuple[float, float] | None, times: np.ndarray | None, **arrays: np.ndarray
) -> Path:
    with h5py.File(path, "w") as h5:
        for key, value in arrays.items():
            h5.create_dataset(key, data=value)
        if spacing is not None:
            h5.create_dataset("spacing", data=np.asarray(spacing))
        if times is not None:
            h5.create_dataset("frame_times", data=times)
    return path


def write_npz(
    path: Path, spacing: tuple[float, float] | None, times: np.ndarray | None, **arrays: np.ndarray
) -> Path:
    extra = {}
    if spacing is not None:
        extra["spacing"] = np.asarray(spacing)
    if times is not None:
        extra["frame_times"] = times
    np.savez(path, **arrays, **extra)
    return path


def write_manifest(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, sep="\t" if path.suffix == ".tsv" else ",", index=False)
    return path

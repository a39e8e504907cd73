"""DICOM reader: a folder of single-frame images of one slice, or one (enhanced multi-frame) file.

Privacy comes first. Files are read with pydicom's ``specific_tags``, so identifying elements
(PatientName, PatientID, dates, UIDs, institution, physicians, ...) are skipped, never decoded and
can reach neither the record nor a message. A file inside a folder is named by its rank and its
name with UID- and date-like runs replaced ("file 3 of 25 (IM_<n>.dcm)"), since file names of
DICOM exports often are the instance UID. Library messages are scrubbed of quoted text and UID- or
date-like numbers before they are shown, and chained with ``from None`` so no traceback carries
the raw message. Acquisition metadata is kept only through the whitelist of ``acquisition.SAFE_TAGS``.

Folders hold more than images: contour files, exports, structured reports. A file without the
DICOM marker, or a DICOM object of a class that is not an image (no pixel data), is skipped and
listed in ``Series.skipped`` (it becomes a flagged QC row naming the file); a DICOM image that
cannot be read still refuses the series, since a missing frame would shift the cycle.

Geometry and timing:

* pixel arrays are ``[Rows, Columns]`` = ``[H, W]``; PixelSpacing is ``(row, col)`` mm, exactly
  the canonical order; RescaleSlope/Intercept are applied.
* a folder's images are ordered by TriggerTime (ms), falling back to InstanceNumber, and must be
  one cardiac cycle (``myoflow.cohort.cycle``: no restart of the trigger time in InstanceNumber
  order, no span beyond NominalInterval), else refused or, with ``multi_cycle: first``, cut to
  the first cycle. When they
  lie at several slice locations (SliceLocation, else ImagePositionPatient projected on the slice
  normal) the manifest must pick one with ``slice_location_mm`` or ``slice_index`` (the index
  into the sorted locations).
* an enhanced file's frames take their trigger time from the per-frame
  CardiacSynchronizationSequence (NominalCardiacTriggerDelayTime), their spacing and rescale from
  the per-frame or shared functional groups, their position from PlanePositionSequence (or the
  FrameContentSequence's InStackPositionNumber); frames are ordered by trigger time, else kept in
  file order. A classic single-frame file is one frame.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from myoflow.cohort.acquisition import SAFE_TAGS, acquisition_metadata
from myoflow.cohort.dicom_frames import Frame, one_cycle_in_order, one_slice
from myoflow.cohort.series import Series, check_canonical
from myoflow.errors import InputError

_PIXEL_TAGS = [
    "Rows",
    "Columns",
    "SamplesPerPixel",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PhotometricInterpretation",
    "PlanarConfiguration",
    "NumberOfFrames",
    "PixelData",
]
_GEOMETRY_TAGS = [
    "PixelSpacing",
    "TriggerTime",
    "InstanceNumber",
    "SliceLocation",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "RescaleSlope",
    "RescaleIntercept",
    "SharedFunctionalGroupsSequence",
    "PerFrameFunctionalGroupsSequence",
]
READ_TAGS: list[str] = ["SOPClassUID", *_PIXEL_TAGS, *_GEOMETRY_TAGS, *SAFE_TAGS]

_QUOTED = re.compile(r"b?'[^']*'|b?\"[^\"]*\"")
_UID_OR_DATE = re.compile(r"\d+(?:\.\d+){2,}|\b\d{8}\b")


def _scrubbed(error: BaseException) -> str:
    """A library message with quoted values and UID-/date-like numbers removed."""
    text = _UID_OR_DATE.sub("<n>", _QUOTED.sub("'...'", str(error)))
    return f"{type(error).__name__}: {text[:200]}"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _functional(items: Sequence[Dataset | None], sequence: str, keyword: str) -> Any:
    """``keyword`` from the first of ``items`` (per-frame, then shared groups) that has it."""
    for item in items:
        if item is None:
            continue
        seq = item.get(sequence)
        if seq and keyword in seq[0] and seq[0].get(keyword) not in (None, ""):
            return seq[0].get(keyword)
    return None


def _location(position: Any, orientation: Any) -> float | None:
    """Position along the slice normal (mm), from ImagePositionPatient and ImageOrientationPatient."""
    if position is None or orientation is None or len(position) != 3 or len(orientation) != 6:
        return None
    iop = np.asarray(orientation, dtype=float)
    return float(np.dot(np.asarray(position, dtype=float), np.cross(iop[:3], iop[3:])))


def _spacing(value: Any) -> tuple[float, float] | None:
    if value is None or len(value) != 2:
        return None
    return float(value[0]), float(value[1])


class NotAnImage(Exception):
    """A file in a DICOM folder that is not a DICOM image: skipped, with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def safe_file_name(file: Path) -> str:
    """A file's name with UID- and date-like runs replaced, fit for a message or a QC row."""
    return _UID_OR_DATE.sub("<n>", file.name)


def _dcmread(file: Path, label: str, user_path: Path) -> Dataset:
    """Read the whitelisted tags of one file.

    Raises NotAnImage for a file without the DICOM marker or a DICOM object that is not an image
    (its SOP class has no "Image" in its name and it has no pixel data); InputError for a DICOM
    image that is truncated or corrupt (pydicom reads a truncated file silently, so an image
    without pixel data is reported here as truncated).
    """
    try:
        ds = pydicom.dcmread(file, specific_tags=READ_TAGS)
    except InvalidDicomError:
        raise NotAnImage("not a DICOM file (no 'DICM' marker in its header)") from None
    except Exception as error:  # noqa: BLE001 (any parser failure; not chained, for privacy)
        raise InputError(
            f"{label} is not a readable DICOM file (truncated or corrupt): {_scrubbed(error)}",
            file=str(user_path),
        ) from None
    if "PixelData" not in ds:
        sop_class = ds.get("SOPClassUID")
        name = getattr(sop_class, "name", "") if sop_class else ""
        if name and name != str(sop_class) and "Image" not in name:
            raise NotAnImage(f"a DICOM {name} object, not an image")
        raise InputError(
            f"{label} is not a readable DICOM file (truncated or corrupt): it has no pixel data",
            file=str(user_path),
        )
    return ds


def _decoder(ds: Dataset, label: str, user_path: Path) -> Callable[[], np.ndarray]:
    """Decode ``ds``'s pixel data once, on first use, to ``[frames, rows, cols]``."""

    @functools.cache
    def decode() -> np.ndarray:
        if int(ds.get("SamplesPerPixel", 1)) != 1:
            raise InputError(
                f"{label} holds colour images; grey-scale expected", file=str(user_path)
            )
        try:
            arr = ds.pixel_array
        except Exception as error:  # noqa: BLE001 (any decoder failure; not chained, for privacy)
            raise InputError(
                f"{label}: pixel data cannot be decoded (truncated, corrupt or an unsupported "
                f"compression): {_scrubbed(error)}",
                file=str(user_path),
            ) from None
        return arr.reshape((-1,) + arr.shape[-2:])

    return decode


def _frame_of(decode: Callable[[], np.ndarray], k: int) -> np.ndarray:
    return decode()[k]


def _folder_frames(folder: Path) -> tuple[list[Frame], Dataset, list[tuple[str, str]]]:
    """The folder's images, its first dataset, and the files passed over as ``(file, reason)``."""
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name.upper() != "DICOMDIR"
    )
    if not files:
        raise InputError("the DICOM folder holds no files", file=str(folder))
    datasets: list[Dataset] = []
    labels: list[str] = []
    skipped: list[tuple[str, str]] = []
    for rank, file in enumerate(files, start=1):
        label = f"file {rank} of {len(files)} ({safe_file_name(file)})"
        try:
            datasets.append(_dcmread(file, label, folder))
        except NotAnImage as passed:
            skipped.append((str(folder / safe_file_name(file)), f"skipped: {passed.reason}"))
            continue
        labels.append(label)
    if not datasets:
        raise InputError(
            f"the folder holds no DICOM image: all {len(files)} file(s) skipped "
            f"({skipped[0][1].removeprefix('skipped: ')}, ...)",
            file=str(folder),
        )
    frames: list[Frame] = []
    for ds, label in zip(datasets, labels):
        if int(ds.get("NumberOfFrames") or 1) > 1:
            raise InputError(
                f"{label} is a multi-frame file; give such a file itself in the manifest, not its "
                "folder",
                file=str(folder),
            )
        location = _number(ds.get("SliceLocation"))
        if location is None:
            location = _location(ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient"))
        frames.append(
            Frame(
                pixels=functools.partial(_frame_of, _decoder(ds, label, folder), 0),
                time_ms=_number(ds.get("TriggerTime")),
                order=None if ds.get("InstanceNumber") is None else int(ds.InstanceNumber),
                slice_key=location,
                location_mm=location,
                spacing=_spacing(ds.get("PixelSpacing")),
                slope=_number(ds.get("RescaleSlope")) or 1.0,
                intercept=_number(ds.get("RescaleIntercept")) or 0.0,
            )
        )
    return frames, datasets[0], skipped


def _file_frames(path: Path) -> tuple[list[Frame], Dataset, list[tuple[str, str]]]:
    label = "the file"
    try:
        ds = _dcmread(path, label, path)
    except NotAnImage as passed:
        raise InputError(f"the file is {passed.reason}", file=str(path)) from None
    n = int(ds.get("NumberOfFrames") or 1)
    decode = _decoder(ds, label, path)
    shared_seq = ds.get("SharedFunctionalGroupsSequence")
    shared = shared_seq[0] if shared_seq else None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if per_frame and len(per_frame) != n:
        raise InputError(
            f"NumberOfFrames is {n} but PerFrameFunctionalGroupsSequence has {len(per_frame)} items",
            file=str(path),
        )
    frames = []
    for k in range(n):
        items = [per_frame[k] if per_frame else None, shared]
        time = _functional(
            items, "CardiacSynchronizationSequence", "NominalCardiacTriggerDelayTime"
        )
        if time is None and n == 1:
            time = ds.get("TriggerTime")
        location = _location(
            _functional(items, "PlanePositionSequence", "ImagePositionPatient"),
            _functional(items, "PlaneOrientationSequence", "ImageOrientationPatient"),
        )
        stack = _number(_functional(items, "FrameContentSequence", "InStackPositionNumber"))
        spacing = _functional(items, "PixelMeasuresSequence", "PixelSpacing")
        slope = _functional(items, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = _functional(items, "PixelValueTransformationSequence", "RescaleIntercept")
        frames.append(
            Frame(
                pixels=functools.partial(_frame_of, decode, k),
                time_ms=_number(time),
                order=k,
                slice_key=location if location is not None else stack,
                location_mm=location,
                spacing=_spacing(spacing if spacing is not None else ds.get("PixelSpacing")),
                slope=_number(slope if slope is not None else ds.get("RescaleSlope")) or 1.0,
                intercept=_number(
                    intercept if intercept is not None else ds.get("RescaleIntercept")
                )
                or 0.0,
            )
        )
    return frames, ds, []


def read_dicom(
    path: str | Path,
    *,
    slice_index: int | None = None,
    slice_location_mm: float | None = None,
    multi_cycle: str = "refuse",
) -> Series:
    """Read one slice's series from a DICOM folder or file into canonical ``[T, H, W]``.

    ``multi_cycle`` (``refuse`` or ``first``): what to do with a series that spans several
    heartbeats (see ``myoflow.cohort.cycle``).
    """
    path = Path(path)
    try:
        frames, first, skipped = _folder_frames(path) if path.is_dir() else _file_frames(path)
        frames = one_slice(frames, slice_index, slice_location_mm, path)
        metadata, notes = acquisition_metadata(first)
        frames, timed, cycle_notes = one_cycle_in_order(
            frames, path, multi_cycle, metadata.get("nominal_interval_ms")
        )
        spacings = {f.spacing for f in frames}
        if len(spacings) > 1:
            raise InputError("the images have different PixelSpacing values", file=str(path))
        images = [f.pixels() for f in frames]
        if len({im.shape for im in images}) > 1:
            raise InputError("the images have different sizes (Rows x Columns)", file=str(path))
        data = np.stack(
            [im.astype(np.float64) * f.slope + f.intercept for im, f in zip(images, frames)]
        ).astype(np.float32)
    except InputError:
        raise
    except Exception as error:  # noqa: BLE001 (any parser failure; not chained, for privacy)
        raise InputError(
            f"the DICOM data cannot be read: {_scrubbed(error)}", file=str(path)
        ) from None
    return Series(
        check_canonical(data, "image", path),
        spacings.pop(),
        np.array([f.time_ms for f in frames], dtype=float) if timed else None,
        frames[0].location_mm,
        metadata,
        notes + cycle_notes,
        skipped,
    )

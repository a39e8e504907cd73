"""NIfTI reader (.nii, .nii.gz) for 2D+t series, single frames, stacks and 4-D volumes.

Orientation: the voxel array is used in its stored index order and the affine is *not* applied.
NIfTI axis i (X) becomes image columns (W) and axis j (Y) image rows (H), i.e. ``(X, Y)`` is
transposed to ``(H=Y, W=X)``, so the spacing is ``(row, col) = (pixdim[2], pixdim[1])``. This is
the reading viewers such as ITK-SNAP use when they show a short-axis slice without reorienting;
note that converters (dcm2niix) may flip the rows relative to the DICOM they came from.

Which axes mean what:

* 2-D ``(X, Y)``: one frame.
* 3-D: ambiguous, so the reader option ``nifti_3d`` decides. ``time`` (the default for manifests)
  reads ``(X, Y, T)``, a 2D+t series; ``space`` (used by the ACDC adapter, whose ``_frameNN``
  images and masks are stacks) reads ``(X, Y, Z)`` and takes the z-slice ``slice_index``.
* 4-D ``(X, Y, Z, T)``: the series of z-slice ``slice_index`` (not needed when Z is 1).
* 5-D ``(X, Y, Z, T, 2)``: a displacement field (NIfTI vector intent), components ``(x, y)`` in
  the header's spatial unit.

Spatial units come from ``xyzt_units`` (metre, mm, micron; unknown is taken as mm, the NIfTI
default in practice, and flagged). Frame times are ``toffset + k * dt`` converted to ms, where dt
is ``pixdim[4]`` (``pixdim[3]`` for a 3-D file read as 2D+t, whose third axis is time); they are
used only when the time unit is stated (s, ms, us) and ``dt > 0``, otherwise the file states no
times.
Only the needed slice is read, through nibabel's lazy ``dataobj``.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from myoflow.cohort.series import ArrayKind, Series, check_canonical, unreadable
from myoflow.errors import InputError

NIFTI_3D = ("time", "space")
_SPACE_TO_MM = {"meter": 1000.0, "mm": 1.0, "micron": 1e-3, "unknown": 1.0}
_TIME_TO_MS = {"sec": 1000.0, "msec": 1.0, "usec": 1e-3}


def _pick_slice(n_slices: int, slice_index: int | None, shape: tuple[int, ...], path: Path) -> int:
    if slice_index is None:
        if n_slices == 1:
            return 0
        raise InputError(
            f"the file is a stack of {n_slices} slices (shape {shape}); give slice_index "
            f"(0..{n_slices - 1}) in the manifest",
            file=str(path),
        )
    if not 0 <= slice_index < n_slices:
        raise InputError(
            f"slice_index {slice_index} is outside 0..{n_slices - 1} (shape {shape})",
            file=str(path),
        )
    return slice_index


def _layout(
    shape: tuple[int, ...], kind: ArrayKind, nifti_3d: str, slice_index: int | None, path: Path
) -> tuple[tuple[int | slice, ...], tuple[int, ...], int | None]:
    """``(index into dataobj, transpose to canonical, z-slice read or None)`` for a file's shape."""
    full = slice(None)
    if kind == "landmarks":
        raise InputError("landmarks must be an HDF5, NPZ or NPY array, not NIfTI", file=str(path))
    if kind == "displacement":
        if len(shape) != 5 or shape[4] != 2:
            raise InputError(
                f"wrong dimensions: a NIfTI displacement must be 5-D (X, Y, Z, T, 2), got {shape}",
                file=str(path),
            )
        z = _pick_slice(shape[2], slice_index, shape, path)
        return (full, full, z, full, full), (2, 3, 1, 0), z
    if len(shape) == 2:
        return (full, full), (1, 0), None
    if len(shape) == 3 and nifti_3d == "time":
        if slice_index not in (None, 0):
            raise InputError(
                f"slice_index {slice_index} given but this 3-D file is read as 2D+t (X, Y, T) "
                "under nifti_3d: time; set nifti_3d: space for a 3-D stack",
                file=str(path),
            )
        return (full, full, full), (2, 1, 0), None
    if len(shape) == 3:
        z = _pick_slice(shape[2], slice_index, shape, path)
        return (full, full, z), (1, 0), z
    if len(shape) == 4:
        z = _pick_slice(shape[2], slice_index, shape, path)
        return (full, full, z, full), (2, 1, 0), z
    raise InputError(
        f"wrong dimensions: expected a 2-D, 3-D or 4-D NIfTI image, got shape {shape}",
        file=str(path),
    )


def load_nifti(path: Path) -> nib.Nifti1Image | nib.Nifti2Image:
    """Open a NIfTI file lazily (header only), turning any failure into an InputError."""
    try:
        img = nib.load(str(path))
    except Exception as error:
        raise unreadable("NIfTI", path, error) from error
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise InputError(
            f"not a NIfTI image (nibabel read it as {type(img).__name__})", file=str(path)
        )
    return img


def read_nifti(
    path: str | Path,
    kind: ArrayKind = "image",
    *,
    slice_index: int | None = None,
    nifti_3d: str = "time",
) -> Series:
    """Read one slice's series from a NIfTI file into canonical layout (see the module docstring)."""
    path = Path(path)
    img = load_nifti(path)
    try:
        header = img.header
        shape = tuple(int(n) for n in img.shape)
        pixdim = [float(v) for v in header["pixdim"]]
        space_unit, time_unit = header.get_xyzt_units()
        toffset = float(header["toffset"])
    except Exception as error:
        raise unreadable("NIfTI", path, error) from error
    index, axes, z = _layout(shape, kind, nifti_3d, slice_index, path)
    try:
        raw = np.asanyarray(img.dataobj[index])
    except Exception as error:
        raise unreadable("NIfTI", path, error) from error
    data = np.transpose(raw, axes)
    if data.ndim == 2:
        data = data[None]

    to_mm = _SPACE_TO_MM.get(space_unit)
    notes = ["nifti_unit_assumed_mm"] if space_unit == "unknown" else []
    if kind == "displacement":
        if to_mm is None:
            raise InputError(
                f"displacement in unsupported spatial unit {space_unit!r}", file=str(path)
            )
        data = data * to_mm
    data = check_canonical(np.asarray(data), kind, path)

    spacing = None
    if to_mm is not None and pixdim[1] > 0 and pixdim[2] > 0:
        spacing = (pixdim[2] * to_mm, pixdim[1] * to_mm)
    location = None
    if z is not None and to_mm is not None and pixdim[3] > 0:
        location = z * pixdim[3] * to_mm
    times = None
    if len(shape) >= 4:
        dt = pixdim[4]
    elif len(shape) == 3 and nifti_3d == "time":
        dt = pixdim[3]  # a 2D+t file stored as 3-D keeps its frame interval with its third axis
    else:
        dt = 0.0
    to_ms = _TIME_TO_MS.get(time_unit)
    if to_ms is not None and dt > 0:
        times = (toffset + np.arange(data.shape[0]) * dt) * to_ms
    return Series(data, spacing, times, location, notes=notes)

"""NIfTI copies of records for viewers (ITK-SNAP, 3D Slicer, FSLeyes) and for users' own scripts.

Layout under ``out_dir``::

    <subject>/<slice_id>_cine.nii.gz              (X=W, Y=H, 1, T) float32
    <subject>/<slice_id>_tagged.nii.gz            (X=W, Y=H, 1, T) float32
    <subject>/<slice_id>_mask.nii.gz              (X=W, Y=H, 1, T or 1) uint8
    <subject>/<slice_id>_displacement_x.nii.gz    (X=W, Y=H, 1, T) float32, mm, along columns
    <subject>/<slice_id>_displacement_y.nii.gz    (X=W, Y=H, 1, T) float32, mm, along rows
    <subject>/<slice_id>_landmarks.tsv            frame, line, point, x_mm, y_mm

Each file is written only for what the record has. Every image shares one header: pixdim
``(column spacing, row spacing, slice thickness, frame interval)`` with units mm and ms, and an
affine with the spacings on the diagonal and no offset in-plane, so the world coordinates of a
voxel are the record's own mm coordinates (``x = col * spacing``) and the landmark TSV overlays
directly. The slice thickness is the covariate ``slice_thickness_mm`` when a reader stored one,
else 1; the z offset is the slice location when known.

Displacement is written as two 4-D series, one per component, rather than one 5-D vector image:
a 2D+t vector field in 5-D (X, Y, 1, T, 2) is read correctly by nibabel but not by ITK-SNAP or 3D
Slicer, which either refuse it or drop the time axis, whereas a 4-D series opens everywhere and
overlays on the cine as a time series.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from myoflow.io.atomic import atomic_path
from myoflow.io.shards import read_shard
from myoflow.qc import QC_COLUMNS
from myoflow.record import LANDMARK_LINES, LANDMARK_POINTS, SliceRecord

log = logging.getLogger("myoflow.io.nifti_export")
_ALIGNED = 2  # NIfTI xform code: coordinates aligned to the record's image plane


def _geometry(rec: SliceRecord) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    sy, sx = (float(v) for v in rec.pixel_spacing_mm)
    thickness = rec.covariates.get("slice_thickness_mm")
    dz = float(thickness) if isinstance(thickness, (int, float)) and thickness > 0 else 1.0
    times = np.asarray(rec.frame_times_ms, dtype=float)
    dt = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    affine = np.diag([sx, sy, dz, 1.0])
    affine[2, 3] = rec.slice_location_mm or 0.0
    return affine, (sx, sy, dz, dt)


def _save(series: np.ndarray, rec: SliceRecord, path: Path, description: str) -> Path:
    """Write a ``[T, H, W]`` series as (X=W, Y=H, 1, T) NIfTI, atomically."""
    affine, zooms = _geometry(rec)
    data = np.ascontiguousarray(np.transpose(series, (2, 1, 0))[:, :, None, :])
    img = nib.Nifti1Image(data, affine)
    img.set_qform(affine, code=_ALIGNED)
    img.set_sform(affine, code=_ALIGNED)
    hdr = img.header
    hdr.set_zooms(zooms)
    hdr.set_xyzt_units("mm", "msec")
    hdr["toffset"] = float(np.asarray(rec.frame_times_ms)[0])
    hdr["descrip"] = description[:79].encode()
    with atomic_path(path) as tmp:
        tmp.write_bytes(gzip.compress(img.to_bytes(), compresslevel=1, mtime=0))
    return path


def _landmark_table(landmarks: np.ndarray) -> pd.DataFrame:
    n_t = landmarks.shape[0]
    n = LANDMARK_LINES * LANDMARK_POINTS
    index = np.arange(n)
    return pd.DataFrame(
        {
            "frame": np.repeat(np.arange(n_t), n),
            "line": np.tile(index // LANDMARK_POINTS, n_t),
            "point": np.tile(index % LANDMARK_POINTS, n_t),
            "x_mm": landmarks[:, 0, :].ravel(),
            "y_mm": landmarks[:, 1, :].ravel(),
        }
    )


def export_record_nifti(rec: SliceRecord, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the record's images, mask, displacement and landmarks; return the files written."""
    folder = Path(out_dir) / rec.subject
    stem = folder / rec.slice_id
    written: list[Path] = []
    for kind in ("cine", "tagged"):
        series = getattr(rec, kind)
        if series is not None:
            path = Path(f"{stem}_{kind}.nii.gz")
            written.append(_save(np.asarray(series, np.float32), rec, path, f"myoflow {kind}"))
    if rec.mask is not None:
        path = Path(f"{stem}_mask.nii.gz")
        written.append(_save(np.asarray(rec.mask, np.uint8), rec, path, "myoflow myocardium mask"))
    if rec.displacement is not None:
        for channel, axis in enumerate(("x", "y")):
            path = Path(f"{stem}_displacement_{axis}.nii.gz")
            description = f"myoflow displacement {axis} mm, Lagrangian from frame 0"
            written.append(
                _save(np.asarray(rec.displacement[:, channel], np.float32), rec, path, description)
            )
    if rec.landmarks is not None:
        path = Path(f"{stem}_landmarks.tsv")
        with atomic_path(path) as tmp:
            _landmark_table(np.asarray(rec.landmarks)).to_csv(tmp, sep="\t", index=False)
        written.append(path)
    return written


def export_shard_nifti(
    shard_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    excluded: pd.DataFrame | None = None,
) -> int:
    """Export the usable records of a shard into ``out_dir``; return the number exported.

    ``excluded`` holds QC rows (``subject``, ``slice_id``, ``stage``, ``status``, ``reason``) of
    records that a later stage excluded: a file in the export folder must be usable, so those are
    not exported but listed, with the reason, in ``excluded.tsv`` in the folder.
    Everything is written into a temporary sibling folder that is renamed onto ``out_dir`` at the
    end, so ``out_dir`` is either complete or absent (a previous export is replaced).
    """
    target = Path(out_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    bad = pd.DataFrame(columns=QC_COLUMNS) if excluded is None else excluded
    bad = bad[bad["status"] == "excluded"]
    left_out = set(zip(bad["subject"], bad["slice_id"]))
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}.", dir=target.parent))
    try:
        count = 0
        for rec in read_shard(shard_path):
            if (rec.subject, rec.slice_id) in left_out:
                log.warning("%s not exported: excluded later (see excluded.tsv)", rec.key)
                continue
            export_record_nifti(rec, tmp)
            count += 1
        if len(bad):
            bad.to_csv(tmp / "excluded.tsv", sep="\t", index=False)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".old-{target.name}.", dir=target.parent))
            os.replace(target, old / target.name)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("%s: %d record(s) exported to %s", shard_path, count, target)
    return count

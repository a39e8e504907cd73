"""Paper 003's HDF5 files (``source: tagging_h5``): its tagged data brought in unchanged.

Ferdian et al. 2020 (github EdwardFerdian/mri-tagging-strain, ``prepare_data.py``) keep a cohort
of tagged series in one HDF5 file, one row per slice along the first axis of every dataset:
``_patients``, ``_models`` and ``_slices`` (strings), ``image_seqs`` [N, 20, 256, 256],
``landmark_coords`` [N, 20, 2, 168] (pixels of that image, row 0 = x along columns),
``px_spaces`` [N] (mm), ``ed_frame_idx`` and ``es_frame_idx`` [N], plus derived datasets that
myoflow remakes itself and so ignores (``bbox_corners``, ``cropped_*``, ``regions``: the AHA
segments are assigned from the landmarks' geometry, as for every other cohort).

``tagging_h5_manifest`` turns the file into manifest-shaped rows from its small string datasets
only (a 10^4-row file is planned in well under a second); ``read_tagging_h5_row`` reads one row in
the ingest job, where a bad row becomes a QC exclusion instead of stopping the run.

What the layout does not say, and what is assumed instead:

* Pixel coordinates: the producer flips CIM's y as ``height - imageY`` and crops boxes with
  ``img[floor(y1):ceil(y2)]``, i.e. pixel ``j`` covers ``[j, j + 1]``. myoflow puts pixel centres
  at integer indices, so a position becomes ``(coordinate - 0.5) * spacing`` mm. Were the file's
  centres at integers after all, every landmark would sit half a pixel off, the same shift for
  all of them: a translation, which no strain (a ratio of lengths) sees.
* Frame times: none are stored, so frames are spaced ``frame_interval_ms`` apart (default 41 ms,
  UK Biobank's tagging protocol), flagged ``frame_times_assumed:<ms>ms``.
* Padding: a series shorter than 20 frames is followed by all-zero frames. Trailing empty frames
  are dropped (flagged ``h5_padded_frames:<k>``), so the record holds the acquired frames; the
  ``fov`` profile pads them again and marks them itself. An empty frame *inside* the acquired
  ones (an image missing from the source, which the producer also writes as zeros, with
  landmarks at 0) is refused: its landmarks are not positions.
* ED: ``ed_frame_idx`` is 0-based on the file's frame axis; a series not starting at ED is
  rotated so that frame 0 is ED (flagged ``rotated_to_ed:<frame>``). Without the dataset, frame 0
  is taken as ED (flagged ``ed_frame_assumed:0``).

Identifiers: subjects are kept exactly as written (``"007"`` and ``"NA"`` stay strings). A slice
ID is ``_slices`` as written; when two rows of a subject share it, their IDs become
``<slice>@<model>`` (``_models``, when that tells them apart) or else ``<slice>@row<i>`` (the HDF5
row). Without ``_slices`` a slice is named ``row<i>``.

Groups and positions: the optional ``groups`` table (TSV or CSV) has a ``subject`` column and
``group`` (several as ``a;b``), and may have ``slice`` (a slice ID, or ``_slices`` as written)
with ``position`` (basal, mid or apical). Subjects it does not list get the group ``all``; a
slice without a position has its slice ID as position, as in a manifest.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from myoflow.cohort.manifest import DEFAULT_GROUP
from myoflow.errors import ConfigError, InputError
from myoflow.record import N_LANDMARKS, SLICE_POSITIONS, SliceRecord

log = logging.getLogger("myoflow.cohort")

SOURCE = "tagging_h5"
REQUIRED = ("_patients", "image_seqs", "landmark_coords", "px_spaces")
#: Datasets whose first axis must be the file's rows (those present of them).
ROW_DATASETS = (*REQUIRED, "_slices", "_models", "ed_frame_idx", "es_frame_idx")
DEFAULT_FRAME_INTERVAL_MS = 41.0
#: Where the file's pixel ``j`` (covering ``[j, j + 1]``) has its centre in myoflow's coordinates.
PIXEL_CENTRE = 0.5
_MAX_LISTED = 10


def _strings(dataset: h5py.Dataset, where: str) -> list[str]:
    """A 1-D dataset as text, exactly as written (numbers as their plain text)."""
    if dataset.ndim != 1:
        raise ConfigError(f"{where}: {dataset.name} must be 1-D, got shape {dataset.shape}")
    if h5py.check_string_dtype(dataset.dtype) is not None:
        try:
            return [str(v) for v in dataset.asstr()[()]]
        except UnicodeDecodeError as error:
            raise ConfigError(f"{where}: {dataset.name} is not UTF-8 text: {error}") from error
    return [str(v.item() if isinstance(v, np.generic) else v) for v in dataset[()]]


def _unique_slices(table: pd.DataFrame) -> pd.Series:
    """Slice IDs unique per subject: ``_slices``, else ``@<model>``, else ``@row<i>`` appended."""
    slices = table["h5_slice"].copy()
    clash = table.assign(slice=slices).duplicated(["subject", "slice"], keep=False)
    if clash.any() and "model" in table:
        slices[clash] = table["h5_slice"][clash] + "@" + table["model"][clash]
        clash = table.assign(slice=slices).duplicated(["subject", "slice"], keep=False)
    if clash.any():
        slices[clash] = table["h5_slice"][clash] + "@row" + table["h5_row"][clash].astype(str)
    return slices


def _read_groups(path: Path, cohort: str) -> pd.DataFrame:
    """The groups table: text cells stripped, ``position`` lower-cased; structure checked."""
    where = f"cohort {cohort}: groups table {path}"
    if not path.is_file():
        raise ConfigError(f"{where} not found")
    suffix = path.suffix.lower()
    if suffix not in (".tsv", ".txt", ".csv"):
        raise ConfigError(f"{where}: unknown extension; use .tsv (tab-separated) or .csv")
    try:
        table = pd.read_csv(
            path, sep="," if suffix == ".csv" else "\t", dtype=str, keep_default_na=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ConfigError(f"{where}: not a readable table: {error}") from error
    table.columns = [str(c).strip() for c in table.columns]
    allowed = ["subject", "group", "slice", "position"]
    unknown = [c for c in table.columns if c not in allowed]
    if unknown or "subject" not in table:
        raise ConfigError(
            f"{where}: columns {table.columns.tolist()}; it needs subject and may have group, "
            "slice and position"
        )
    if "position" in table and "slice" not in table:
        raise ConfigError(f"{where}: a position column needs a slice column")
    table = table.apply(lambda column: column.str.strip())
    if (table["subject"] == "").any():
        raise ConfigError(f"{where}: empty subject on {_lines(table['subject'] == '')}")
    if "position" in table:
        table["position"] = table["position"].str.lower()
        bad = ~table["position"].isin(["", *SLICE_POSITIONS])
        if bad.any():
            raise ConfigError(f"{where}: position must be one of {SLICE_POSITIONS} ({_lines(bad)})")
    keys = ["subject", "slice"] if "slice" in table else ["subject"]
    if table.duplicated(keys).any():
        raise ConfigError(
            f"{where}: duplicate {'/'.join(keys)} on {_lines(table.duplicated(keys))}"
        )
    return table


def _lines(mask: pd.Series) -> str:
    lines = (mask.index[mask] + 2).tolist()  # line 1 is the header
    return "line(s) " + ", ".join(str(n) for n in lines[:_MAX_LISTED])


def _apply_groups(table: pd.DataFrame, path: Path, cohort: str) -> pd.DataFrame:
    """``group`` (and ``position``) of every row from the groups table."""
    groups = _read_groups(path, cohort)
    if "group" in groups:
        named = groups[groups["group"] != ""]
        per_subject = named.drop_duplicates(["subject", "group"])
        conflicting = per_subject["subject"][per_subject["subject"].duplicated()]
        if len(conflicting):
            raise ConfigError(
                f"cohort {cohort}: groups table {path}: subject(s) with different groups: "
                f"{sorted(set(conflicting))[:_MAX_LISTED]}"
            )
        cleaned = per_subject["group"].str.replace(r"\s*;\s*", ";", regex=True).str.strip(" ;")
        mapping = dict(zip(per_subject["subject"], cleaned))
        table["group"] = (
            table["subject"].map(mapping).fillna(DEFAULT_GROUP).replace("", DEFAULT_GROUP)
        )
    unlisted = sorted(set(table["subject"]) - set(groups["subject"]))
    if unlisted:
        log.warning(
            "cohort %s: %d subject(s) not in %s get group %s: %s",
            cohort,
            len(unlisted),
            path,
            DEFAULT_GROUP,
            unlisted[:_MAX_LISTED],
        )
    if "position" in groups:
        placed = groups[groups["position"] != ""]
        given = dict(zip(zip(placed["subject"], placed["slice"]), placed["position"]))
        by_id = pd.Series(list(zip(table["subject"], table["slice"]))).map(given)
        by_name = pd.Series(list(zip(table["subject"], table["h5_slice"]))).map(given)
        table["position"] = by_id.fillna(by_name).to_numpy()
    return table


def tagging_h5_manifest(
    path: str | os.PathLike[str],
    cohort_name: str,
    groups_path: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Manifest-shaped rows (``subject``, ``slice``, ``group``, ``tagged``, ``h5_row``, ...), one
    per HDF5 row, sorted stably by subject (the shard plan cuts the table into runs of subjects).

    Reads only the string datasets and the datasets' shapes. Raises ConfigError naming the cohort
    and the file when the file is missing, unreadable or lacks a dataset of the layout.
    """
    path = Path(path)
    where = f"cohort {cohort_name}: tagging HDF5 file {path}"
    if not path.is_file():
        raise ConfigError(f"{where} not found")
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise ConfigError(f"{where} is not a readable HDF5 file: {error}") from error
    with h5:
        missing = [name for name in REQUIRED if name not in h5]
        if missing:
            raise ConfigError(
                f"{where} lacks dataset(s) {missing} of paper 003's layout (prepare_data.py: "
                f"{', '.join(REQUIRED)}); it holds {sorted(h5.keys())}"
            )
        lengths = {n: h5[n].shape[0] if h5[n].ndim else 0 for n in ROW_DATASETS if n in h5}
        if len(set(lengths.values())) > 1:
            raise ConfigError(f"{where}: datasets disagree on the number of rows: {lengths}")
        subjects = _strings(h5["_patients"], where)
        rows = np.arange(len(subjects))
        slices = _strings(h5["_slices"], where) if "_slices" in h5 else [f"row{i}" for i in rows]
        table = pd.DataFrame(
            {"subject": subjects, "h5_slice": slices, "h5_row": rows, "tagged": str(path)},
            dtype=object,
        )
        if "_models" in h5:
            table["model"] = _strings(h5["_models"], where)
    table["h5_row"] = rows
    table.insert(1, "slice", _unique_slices(table))
    table["group"] = DEFAULT_GROUP
    if groups_path is not None:
        table = _apply_groups(table, Path(groups_path), cohort_name)
    return table.sort_values("subject", kind="stable").reset_index(drop=True)


_BAD_NAME = re.compile(r"^$|^\.$|/")


def read_tagging_h5_row(
    path: str | os.PathLike[str],
    row: int,
    fields: Mapping[str, Any],
    cohort: str,
    frame_interval_ms: float = DEFAULT_FRAME_INTERVAL_MS,
) -> SliceRecord:
    """The validated record of HDF5 row ``row``; ``fields`` is its manifest row (subject, slice,
    group, position, model, h5_slice). Raises InputError naming cohort, subject, slice and file."""
    subject, slice_id = str(fields["subject"]), str(fields["slice"])
    file = str(path)

    def fail(problem: str) -> InputError:
        return InputError(f"row {row}: {problem}", cohort, subject, file, slice_id)

    for what, name in (("subject", subject), ("slice", slice_id)):
        if _BAD_NAME.search(name):
            raise fail(f"{what} ID {name!r} cannot name a record (empty, '.' or with '/')")
    try:
        with h5py.File(path, "r") as h5:
            images = np.asarray(h5["image_seqs"][row], dtype=np.float32)
            coords = np.asarray(h5["landmark_coords"][row], dtype=np.float64)
            spacing = float(h5["px_spaces"][row])
            ed = int(h5["ed_frame_idx"][row]) if "ed_frame_idx" in h5 else None
            es = int(h5["es_frame_idx"][row]) if "es_frame_idx" in h5 else None
    except (OSError, KeyError, ValueError, TypeError, IndexError) as error:
        raise fail(f"cannot be read: {type(error).__name__}: {error}") from error

    if images.ndim != 3:
        raise fail(f"image_seqs row has shape {images.shape}; expected [frames, H, W]")
    if coords.shape != (images.shape[0], 2, N_LANDMARKS):
        raise fail(
            f"landmark_coords row has shape {coords.shape}; expected "
            f"[{images.shape[0]}, 2, {N_LANDMARKS}] (frames, x/y, landmarks)"
        )
    filled: np.ndarray = np.any(images.reshape(len(images), -1), axis=1)
    n = int(np.flatnonzero(filled)[-1]) + 1 if filled.any() else 0
    if n < 2:
        raise fail(f"{n} acquired (non-empty) frame(s) of {len(images)}; a series needs 2")
    empty = np.flatnonzero(~filled[:n]).tolist()
    if empty:
        raise fail(f"frame(s) {empty[:_MAX_LISTED]} are empty images inside the acquired series")
    padded = len(images) - n
    images, coords = images[:n], coords[:n]
    bad = np.flatnonzero(~np.isfinite(coords).all(axis=(1, 2))).tolist()
    if bad:
        raise fail(f"landmark_coords contain NaN or Inf in frame(s) {bad[:_MAX_LISTED]}")
    height, width = images.shape[1:]
    x, y = coords[:, 0], coords[:, 1]
    outside = np.flatnonzero(((x < 0) | (x > width) | (y < 0) | (y > height)).any(axis=1))
    if len(outside):
        raise fail(f"landmarks outside the {height}x{width} image in frame(s) {outside.tolist()}")
    if not (np.isfinite(spacing) and spacing > 0):
        raise fail(f"px_spaces is {spacing}; the pixel spacing must be positive mm")

    flags = [f"h5_padded_frames:{padded}"] if padded else []
    flags.append(f"frame_times_assumed:{frame_interval_ms:g}ms")
    if ed is None:
        ed = 0
        flags.append("ed_frame_assumed:0")
    for name, frame in (("ed_frame_idx", ed), ("es_frame_idx", es)):
        if frame is not None and not 0 <= frame < n:
            raise fail(f"{name} {frame} is outside the acquired frames 0..{n - 1}")
    landmarks = (coords - PIXEL_CENTRE) * spacing
    if ed:
        images, landmarks = np.roll(images, -ed, axis=0), np.roll(landmarks, -ed, axis=0)
        es = None if es is None else (es - ed) % n
        flags.append(f"rotated_to_ed:{ed}")

    groups = [g.strip() for g in _text(fields.get("group")).split(";") if g.strip()]
    groups = groups or [DEFAULT_GROUP]
    covariates: dict[str, Any] = {"h5_row": int(row), "h5_slice": _text(fields.get("h5_slice"))}
    if _text(fields.get("model")):
        covariates["model"] = _text(fields.get("model"))
    if len(groups) > 1:
        covariates["groups"] = groups
    record = SliceRecord(
        cohort=cohort,
        subject=subject,
        slice_id=slice_id,
        position=_text(fields.get("position")) or slice_id,
        group=groups[0],
        pixel_spacing_mm=(spacing, spacing),
        frame_times_ms=np.arange(n, dtype=float) * float(frame_interval_ms),
        original_frames=n,
        tagged=np.ascontiguousarray(images),
        landmarks=np.ascontiguousarray(landmarks, dtype=np.float32),
        ed_frame=0,
        es_frame=es,
        covariates=covariates,
        flags=flags,
        source_files={"tagged": file, "landmarks": file},
    )
    return record.validate()


def _text(value: Any) -> str:
    """A manifest cell as text; missing (None, NaN) is empty."""
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)

"""The preprocessing stage: ROI -> crop and resample -> frame count -> intensity, per record.

``preprocess_shard`` streams one HDF5 shard through ``preprocess_record`` and writes three files:
the preprocessed shard, its index (one row per written slice) and its QC rows. A record with bad
input (InputError) is logged, listed as ``excluded`` and skipped; the others are unaffected. Any
other exception is a bug and stops the job, and then none of the three files is written.

Displacement stays in mm in the preprocessed shard. The sigmoid scaling of paper 000
(``myoflow.preprocess.scaling``) is applied by the training data loader, so that
``max_displacement_mm`` is a training choice that does not require preprocessing again; here it
is only used to measure, and flag, the fraction of displacement the scaling would clip.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from myoflow.errors import ConfigError, InputError
from myoflow.io.atomic import atomic_path
from myoflow.io.shards import read_shard, write_shard
from myoflow.preprocess.intensity import INTENSITY_MODES, normalise_record
from myoflow.preprocess.roi import ROI_MODES, locate_roi
from myoflow.preprocess.scaling import clipped_fraction
from myoflow.preprocess.spatial import INTERPOLATIONS, CropTransform, crop_record
from myoflow.preprocess.temporal import TEMPORAL_MODES, to_frames
from myoflow.qc import qc_row_from_error, qc_row_skipped, qc_rows_from_flags, qc_table
from myoflow.record import SliceRecord

log = logging.getLogger("myoflow.preprocess")

STAGE = "preprocess"
CLIPPED_FLAG = "displacement_clipped"
ED_ES_ONLY = "ed_es_only"
ED_ES_SKIP_REASON = (
    "ED/ES-only record (two frames): this profile brings a whole cardiac cycle to a fixed frame "
    "count; the record serves the stages that need only ED and ES"
)
INDEX_COLUMNS = [
    "cohort",
    "subject",
    "slice_id",
    "position",
    "group",
    "n_frames",
    "original_frames",
    "spacing_row_mm",
    "spacing_col_mm",
    "flags",
    "shard",
]


@dataclass(frozen=True)
class PreprocessOptions:
    """The ``preprocess:`` options of a cohort (listed in docs/configuration.md and the schema)."""

    size: int = 128
    frames: int = 20
    margin: float = 0.25
    min_side_mm: float | None = None
    roi: str = "mask"
    center_side_mm: float | None = None
    temporal: str = "resample"
    intensity: str = "percentile"
    percentiles: tuple[float, float] = (1.0, 99.0)
    interpolation: str = "linear"
    max_displacement_mm: float | None = None

    @classmethod
    def from_dict(cls, opts: Mapping[str, Any]) -> PreprocessOptions:
        """Options from a plain dict; missing keys take the defaults, wrong ones raise ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(opts) - known)
        if unknown:
            raise ConfigError(f"preprocess: unknown option(s) {unknown}; allowed: {sorted(known)}")
        values = dict(opts)
        if "percentiles" in values:
            values["percentiles"] = tuple(float(p) for p in values["percentiles"])
        return cls(**values).check()

    def check(self) -> PreprocessOptions:
        problems = []
        for name, allowed in (
            ("roi", ROI_MODES),
            ("temporal", TEMPORAL_MODES),
            ("intensity", INTENSITY_MODES),
            ("interpolation", INTERPOLATIONS),
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name}: {getattr(self, name)!r} is not one of {list(allowed)}")
        if self.size < 2:
            problems.append(f"size: must be at least 2, got {self.size}")
        if self.frames < 2:
            problems.append(f"frames: must be at least 2, got {self.frames}")
        if self.margin < 0:
            problems.append(f"margin: must be >= 0, got {self.margin}")
        for name in ("min_side_mm", "center_side_mm", "max_displacement_mm"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                problems.append(f"{name}: must be positive or null, got {value}")
        if len(self.percentiles) != 2 or not 0 <= self.percentiles[0] < self.percentiles[1] <= 100:
            problems.append(
                f"percentiles: need two values 0 <= lo < hi <= 100, got {list(self.percentiles)}"
            )
        if problems:
            raise ConfigError("preprocess: " + "; ".join(problems))
        return self


def _options(opts: Mapping[str, Any] | PreprocessOptions) -> PreprocessOptions:
    return opts if isinstance(opts, PreprocessOptions) else PreprocessOptions.from_dict(opts)


def preprocess_record(rec: SliceRecord, opts: Mapping[str, Any] | PreprocessOptions) -> SliceRecord:
    """One record through ROI, crop/resample, frame count and intensity; validated at the end.

    Raises InputError when the record cannot be used (no mask with ``roi: mask``, a constant
    image, an empty mask after resampling, ...).
    """
    o = _options(opts)
    box = locate_roi(rec, o.roi, o.margin, o.min_side_mm, o.center_side_mm)
    transform = CropTransform.from_box(box, o.size, rec.image_shape, rec.pixel_spacing_mm)
    out = crop_record(rec, transform, o.interpolation)
    out = to_frames(out, o.frames, o.temporal)
    out = normalise_record(out, o.intensity, o.percentiles, transform.inside_source())
    if o.max_displacement_mm is not None and out.displacement is not None:
        frac = clipped_fraction(out.displacement, o.max_displacement_mm, out.mask)
        if frac > 0:
            out = out.replace(flags=[*out.flags, f"{CLIPPED_FLAG}:{frac:.4g}"])
    return out.validate()


def _index_row(rec: SliceRecord, shard: str) -> dict[str, Any]:
    return {
        "cohort": rec.cohort,
        "subject": rec.subject,
        "slice_id": rec.slice_id,
        "position": rec.position,
        "group": rec.group,
        "n_frames": rec.n_frames,
        "original_frames": rec.original_frames,
        "spacing_row_mm": rec.pixel_spacing_mm[0],
        "spacing_col_mm": rec.pixel_spacing_mm[1],
        "flags": ";".join(rec.flags),
        "shard": shard,
    }


def preprocess_shard(
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    qc_path: str | os.PathLike[str],
    index_path: str | os.PathLike[str],
    opts: Mapping[str, Any] | PreprocessOptions,
) -> None:
    """Preprocess every record of the shard ``in_path``; write shard, QC and index atomically.

    The three outputs are renamed into place together at the end, so a job that fails leaves none
    of them behind.
    """
    o = _options(opts)
    shard = Path(out_path).name
    index_rows: list[dict[str, Any]] = []
    qc_rows: list[dict[str, Any]] = []

    def good_records() -> Iterator[SliceRecord]:
        for rec in read_shard(in_path):
            if ED_ES_ONLY in rec.flags:
                log.info("skipped %s: ED/ES-only record", rec.key)
                qc_rows.append(qc_row_skipped(rec, STAGE, ED_ES_SKIP_REASON))
                continue
            try:
                out = preprocess_record(rec, o)
            except InputError as error:
                error = error.with_context(
                    cohort=rec.cohort, subject=rec.subject, slice_id=rec.slice_id
                )
                log.error("excluded: %s", error)
                qc_rows.append(qc_row_from_error(error, STAGE))
                continue
            added = out.flags[len(rec.flags) :]
            qc_rows.extend(qc_rows_from_flags(out, added, STAGE))
            index_rows.append(_index_row(out, shard))
            log.debug("preprocessed %s (%s)", out.key, ";".join(added) or "no flags")
            yield out

    with contextlib.ExitStack() as stack:
        tmp_shard, tmp_index, tmp_qc = (
            stack.enter_context(atomic_path(p)) for p in (out_path, index_path, qc_path)
        )
        write_shard(tmp_shard, good_records())
        pd.DataFrame(index_rows, columns=INDEX_COLUMNS).to_csv(tmp_index, sep="\t", index=False)
        qc_table(qc_rows).to_csv(tmp_qc, sep="\t", index=False)
    n_flagged = len({(r["subject"], r["slice_id"]) for r in qc_rows if r["status"] == "flagged"})
    log.info(
        "%s: %d record(s) written (%d flagged), %d excluded",
        shard,
        len(index_rows),
        n_flagged,
        sum(r["status"] == "excluded" for r in qc_rows),
    )
    skipped = sum(r["status"] == "skipped" for r in qc_rows)
    if skipped:
        log.info(
            "%s: %d record(s) skipped (not for this profile, see the QC table)", shard, skipped
        )

"""The preprocessing stage: one shard of records -> one profile's shard, its index and QC rows.

``run_shard`` streams one HDF5 shard through a profile's per-record function (``ProfileRun``) and
writes three files: the profile's shard, its index (one row per written slice) and its QC rows. A
record with bad input (InputError) is logged, listed as ``excluded`` and skipped; the others are
unaffected. Any other exception is a bug and stops the job, and then none of the three files is
written. ``myoflow.preprocess.profiles`` names the profiles; this module also holds the ``crop``
one (paper 000): ROI -> crop and resample -> frame count -> intensity, per record.

Displacement stays in mm in the preprocessed shard. The sigmoid scaling of paper 000
(``myoflow.preprocess.scaling``) is applied by the training data loader, so that
``max_displacement_mm`` is a training choice that does not require preprocessing again; here it
is only used to measure, and flag, the fraction of displacement the scaling would clip.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from myoflow.errors import InputError
from myoflow.io.atomic import atomic_path
from myoflow.io.shards import INDEX_COLUMNS, index_row, read_shard, write_shard
from myoflow.preprocess.intensity import normalise_record
from myoflow.preprocess.options import PreprocessOptions
from myoflow.preprocess.roi import locate_roi
from myoflow.preprocess.scaling import clipped_fraction
from myoflow.preprocess.spatial import CropTransform, crop_record
from myoflow.preprocess.temporal import to_frames
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


@dataclass(frozen=True)
class ProfileRun:
    """What ``run_shard`` needs of a profile.

    ``prepare`` turns one record into the profile's record (raising InputError when it cannot),
    ``write`` writes the prepared records of a shard, ``stage`` names the profile in QC rows, and
    ``whole_cycle`` skips ED/ES-only records, which a profile that fixes the frame count cannot
    use.
    """

    stage: str
    prepare: Callable[[SliceRecord], SliceRecord]
    write: Callable[[str | os.PathLike[str], Iterable[SliceRecord]], object]
    whole_cycle: bool = True


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


def preprocess_shard(
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    qc_path: str | os.PathLike[str],
    index_path: str | os.PathLike[str],
    opts: Mapping[str, Any] | PreprocessOptions,
) -> None:
    """The ``crop`` profile of the shard ``in_path`` (see ``run_shard``)."""
    run_shard(in_path, out_path, qc_path, index_path, crop_run(opts))


def crop_run(opts: Mapping[str, Any] | PreprocessOptions) -> ProfileRun:
    """The ``crop`` profile for ``run_shard``, its options checked."""
    return ProfileRun(STAGE, functools.partial(preprocess_record, opts=_options(opts)), write_shard)


def run_shard(
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    qc_path: str | os.PathLike[str],
    index_path: str | os.PathLike[str],
    run: ProfileRun,
) -> None:
    """Prepare every record of the shard ``in_path``; write shard, QC and index atomically.

    The three outputs are renamed into place together at the end, so a job that fails leaves none
    of them behind.
    """
    shard = Path(out_path).name
    index_rows: list[dict[str, Any]] = []
    qc_rows: list[dict[str, Any]] = []

    def good_records() -> Iterator[SliceRecord]:
        for rec in read_shard(in_path):
            if run.whole_cycle and ED_ES_ONLY in rec.flags:
                log.info("skipped %s: ED/ES-only record", rec.key)
                qc_rows.append(qc_row_skipped(rec, run.stage, ED_ES_SKIP_REASON))
                continue
            try:
                out = run.prepare(rec)
            except InputError as error:
                error = error.with_context(
                    cohort=rec.cohort, subject=rec.subject, slice_id=rec.slice_id
                )
                log.error("excluded: %s", error)
                qc_rows.append(qc_row_from_error(error, run.stage))
                continue
            added = out.flags[len(rec.flags) :]
            qc_rows.extend(qc_rows_from_flags(out, added, run.stage))
            index_rows.append(index_row(out, shard))
            log.debug("preprocessed %s (%s)", out.key, ";".join(added) or "no flags")
            yield out

    with contextlib.ExitStack() as stack:
        tmp_shard, tmp_index, tmp_qc = (
            stack.enter_context(atomic_path(p)) for p in (out_path, index_path, qc_path)
        )
        run.write(tmp_shard, good_records())
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

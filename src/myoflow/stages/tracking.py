"""The tracking rule: reference motion of every slice of a preprocessed shard from its tagged series.

An experiment with ``reference: harp`` or ``sinmod`` learns and is judged against this motion, on
its training, validation and test slices alike, so every record of the shard is tracked. The
output shard holds one record per tracked slice with the input's metadata and mask and the tracked
displacement ``[T, 2, H, W]`` (mm, Lagrangian from ED) and landmarks ``[T, 2, 168]`` (mm) in place
of the record's own, and no images: the same layout as a prediction shard, so
``myoflow.io.shards.read_displacements`` and every record reader work on it.

A slice that cannot be tracked (no tagged series, no ED mask, no tag peaks: an InputError from
``myoflow.tracking.api.track_record``) is logged, listed in the QC table with the error and
left out; the others are unaffected. Both outputs are renamed into place together at the end.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

from myoflow.errors import InputError
from myoflow.io.atomic import atomic_path
from myoflow.io.shards import read_shard, write_shard
from myoflow.qc import qc_row_from_error, qc_table
from myoflow.record import SliceRecord

log = logging.getLogger("myoflow.stages")


def qc_stage(tracker: str) -> str:
    """The ``stage`` column of the tracker's QC rows."""
    return f"tracking-{tracker}"


def track_stage(
    tracker: str,
    options: Mapping[str, Any] | None,
    shard: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    qc_path: str | os.PathLike[str],
) -> list[str]:
    """Track every record of ``shard`` with ``tracker``; write the tracked shard and its QC rows.

    Returns the keys (``subject/slice_id``) written. ``options`` are the tracker's options
    (``config.tracking.<tracker>``); an unknown option is a ConfigError before any record is read.
    """
    from myoflow.config import checked_tracker_options
    from myoflow.tracking.api import track_record

    checked_tracker_options(tracker, dict(options or {}))
    qc_rows: list[dict[str, Any]] = []

    def tracked() -> Iterator[SliceRecord]:
        for rec in read_shard(shard):
            try:
                result = track_record(rec, tracker, options)
            except InputError as error:
                error = error.with_context(
                    cohort=rec.cohort, subject=rec.subject, slice_id=rec.slice_id, file=str(shard)
                )
                log.error("not tracked with %s: %s", tracker, error)
                qc_rows.append(qc_row_from_error(error, qc_stage(tracker)))
                continue
            periods = ", ".join(f"{p:.2f}" for p in result.peaks.periods_px)
            numbers = ", ".join(f"{k}={v:.4g}" for k, v in sorted(result.diagnostics.items()))
            log.info("tracked %s (tag periods %s px; %s)", rec.key, periods, numbers or "-")
            yield rec.replace(
                cine=None,
                tagged=None,
                displacement=result.displacement,
                landmarks=result.landmarks,
            )

    with contextlib.ExitStack() as stack:
        tmp_shard, tmp_qc = (stack.enter_context(atomic_path(p)) for p in (out_path, qc_path))
        keys = write_shard(tmp_shard, tracked())
        qc_table(qc_rows).to_csv(tmp_qc, sep="\t", index=False)
    log.info(
        "%s: %d slice(s) tracked with %s, %d not trackable (see %s)",
        out_path,
        len(keys),
        tracker,
        len(qc_rows),
        qc_path,
    )
    return keys

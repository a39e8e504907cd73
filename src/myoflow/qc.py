"""The QC table: every slice a stage excluded or flagged, with the reason, in one tidy format.

Each shard job writes its own rows (so jobs never share a file) and the cohort's table is their
concatenation. ``excluded`` rows come from InputError (the slice is missing from the stage's
output); ``flagged`` rows come from record flags that a stage added (the slice is kept but was
padded, resampled or clipped, and a reader of the results should know), or from a file a reader
passed over (named in ``file``); ``skipped`` rows are slices that are fine but not for this stage
(an ED/ES-only record in a stage that needs the whole cycle).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from myoflow.errors import InputError
from myoflow.io.tables import read_tsv
from myoflow.record import SliceRecord

QC_COLUMNS = ["cohort", "subject", "slice_id", "stage", "status", "reason", "file"]


def qc_row_from_error(error: InputError, stage: str) -> dict[str, Any]:
    """An ``excluded`` row from the error that stopped a record."""
    return {
        "cohort": error.cohort,
        "subject": error.subject,
        "slice_id": error.slice_id,
        "stage": stage,
        "status": "excluded",
        "reason": error.problem,
        "file": error.file,
    }


def qc_rows_from_flags(rec: SliceRecord, flags: Sequence[str], stage: str) -> list[dict[str, Any]]:
    """One ``flagged`` row per flag (pass only the flags this stage added)."""
    file = rec.primary_file
    return [
        {
            "cohort": rec.cohort,
            "subject": rec.subject,
            "slice_id": rec.slice_id,
            "stage": stage,
            "status": "flagged",
            "reason": flag,
            "file": file,
        }
        for flag in flags
    ]


def qc_table(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> a table with exactly the QC columns (an empty table keeps its header)."""
    return pd.DataFrame(list(rows), columns=QC_COLUMNS)


def merge_qc(paths: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """Concatenate QC TSVs (empty ones included), every column read as text."""
    tables = [read_tsv(p) for p in paths]
    if not tables:
        return qc_table([])
    return pd.concat(tables, ignore_index=True)[QC_COLUMNS]


def qc_row_skipped(rec: SliceRecord, stage: str, reason: str) -> dict[str, Any]:
    """A ``skipped`` row: the record is usable, but not by ``stage``."""
    return {
        "cohort": rec.cohort,
        "subject": rec.subject,
        "slice_id": rec.slice_id,
        "stage": stage,
        "status": "skipped",
        "reason": reason,
        "file": rec.primary_file,
    }


def qc_row_for_file(rec: SliceRecord, stage: str, reason: str, file: str) -> dict[str, Any]:
    """A ``flagged`` row about one file of the record (a stray file a reader passed over)."""
    return {**qc_row_skipped(rec, stage, reason), "status": "flagged", "file": file}

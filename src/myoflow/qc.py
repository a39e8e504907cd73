"""The QC table: every slice a stage excluded or flagged, with the reason, in one tidy format.

Each shard job writes its own rows (so jobs never share a file) and the cohort's table is their
concatenation. ``excluded`` rows come from InputError (the slice is missing from the stage's
output); ``flagged`` rows come from record flags that a stage added (the slice is kept but was
padded, resampled or clipped, and a reader of the results should know).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from myoflow.errors import InputError
from myoflow.record import SliceRecord

QC_COLUMNS = ["cohort", "subject", "slice_id", "stage", "status", "reason", "file"]
_FILE_KINDS = ("cine", "tagged", "mask", "displacement", "landmarks")


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
    file = next((rec.source_files[k] for k in _FILE_KINDS if k in rec.source_files), "-")
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
    tables = [pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False) for p in paths]
    if not tables:
        return qc_table([])
    return pd.concat(tables, ignore_index=True)[QC_COLUMNS]

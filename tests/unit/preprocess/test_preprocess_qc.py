"""QC rows from errors and flags; merged tables keep every row and the columns."""

from __future__ import annotations

from pathlib import Path

from preprocess_records import RecordFactory

from myoflow.errors import InputError
from myoflow.io.atomic import write_tsv
from myoflow.qc import (
    QC_COLUMNS,
    merge_qc,
    qc_row_from_error,
    qc_rows_from_flags,
    qc_table,
)


def test_rows_from_error_and_flags(make_record: RecordFactory) -> None:
    error = InputError("mask is empty", "c1", "007", "a/b.nii.gz", "basal")
    row = qc_row_from_error(error, "ingest")
    assert row == {
        "cohort": "c1",
        "subject": "007",
        "slice_id": "basal",
        "stage": "ingest",
        "status": "excluded",
        "reason": "mask is empty",
        "file": "a/b.nii.gz",
    }
    rec = make_record()
    rows = qc_rows_from_flags(rec, ["roi_padded", "temporal_resampled:24->20"], "preprocess")
    assert [r["reason"] for r in rows] == ["roi_padded", "temporal_resampled:24->20"]
    assert all(r["status"] == "flagged" and r["file"] == rec.source_files["cine"] for r in rows)
    assert qc_rows_from_flags(rec, [], "preprocess") == []


def test_merge_keeps_rows_text_and_empty_tables(tmp_path: Path, make_record: RecordFactory) -> None:
    rec = make_record(subject="0012")
    a, b, c = tmp_path / "a.tsv", tmp_path / "b.tsv", tmp_path / "c.tsv"
    write_tsv(qc_table(qc_rows_from_flags(rec, ["roi_padded"], "preprocess")), a)
    write_tsv(qc_table([]), b)
    write_tsv(qc_table([qc_row_from_error(InputError("bad", "c1", "NA", "-", "mid"), "ingest")]), c)
    merged = merge_qc([a, b, c])
    assert list(merged.columns) == QC_COLUMNS and len(merged) == 2
    assert merged["subject"].tolist() == ["0012", "NA"], "ids stay text: no 12, no NaN"
    assert merge_qc([]).columns.tolist() == QC_COLUMNS

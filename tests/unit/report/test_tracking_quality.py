"""The tracked reference's quality summary: stacked per-shard tables and their figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from myoflow.io.atomic import write_tsv
from myoflow.report.tracking_quality import merge_quality, write_tracking_quality
from myoflow.stages.tracking import QUALITY_COLUMNS, SCORES

matplotlib.use("Agg")


def _table(subjects: list[str], statuses: list[str]) -> pd.DataFrame:
    rows = []
    for i, (subject, status) in enumerate(zip(subjects, statuses, strict=True)):
        row = {"cohort": "c", "subject": subject, "slice_id": "mid", "tracker": "sinmod"}
        row.update({"status": status, "reason": "" if status == "tracked" else "why"})
        row.update({name: 0.1 * (i + 1) for name in SCORES})
        if status == "not tracked":
            row.update({name: np.nan for name in SCORES})
        rows.append(row)
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS)


def test_shards_stack_with_identifiers_as_written_and_a_figure(tmp_path: Path) -> None:
    first = _table(["001", "NA"], ["tracked", "failed"])
    second = _table(["1e3"], ["not tracked"])
    paths = [tmp_path / "quality-000.tsv", tmp_path / "quality-001.tsv"]
    for table, path in zip((first, second), paths, strict=True):
        write_tsv(table, path)
    merged = merge_quality(paths)
    assert list(merged["subject"]) == ["001", "NA", "1e3"]
    assert merged["quality"].dtype == float and np.isnan(merged["quality"].iloc[2])
    written = write_tracking_quality(paths, tmp_path / "out", "c, sinmod")
    assert [p.name for p in written] == ["quality.tsv", "quality.png", "quality.svg"]
    assert all(p.stat().st_size > 0 for p in written)
    assert "1 tracked, 1 failed, 1 not tracked" in (tmp_path / "out" / "quality.svg").read_text()

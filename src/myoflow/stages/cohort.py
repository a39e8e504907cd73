"""The cohort and preprocessing rules: phantom or ingest shards, QC checks, merged tables, splits.

Records stream through one at a time (a shard of a few hundred slices never has to fit in
memory), and a bad subject becomes a QC row, never a crash of its shard. A shard job finds its
slices with the same plan the Snakefile made at parse time (``myoflow.io.shard_plan``): whole
subjects, so a subject's slices are always in one shard.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from myoflow.config import cohort_table
from myoflow.errors import ConfigError
from myoflow.io.atomic import atomic_path, write_tsv
from myoflow.io.shard_plan import synthetic_plan, table_plan
from myoflow.io.shards import INDEX_COLUMNS, index_row, write_shard
from myoflow.io.tables import read_tsv
from myoflow.qc import QC_COLUMNS, merge_qc
from myoflow.record import SliceRecord

if TYPE_CHECKING:
    from myoflow.phantom.cohort import SliceSpec

log = logging.getLogger("myoflow.stages")


def shard_specs(cohort: dict[str, Any], shard: int) -> list[SliceSpec]:
    """The phantom's plan of one shard of a synthetic cohort (nothing generated yet)."""
    from myoflow.phantom.cohort import plan, with_defaults

    lo, hi = synthetic_plan(with_defaults(cohort)).bounds(shard)
    return plan(cohort["name"], cohort, lo, hi)


def shard_rows(cohort: dict[str, Any], shard: int) -> pd.DataFrame:
    """The table rows of one shard of a manifest or ACDC cohort (the table read as at parse time)."""
    table = cohort_table(cohort["name"], cohort, Path.cwd())
    lo, hi = table_plan(table, cohort["shard_size"]).bounds(shard)
    return table.iloc[lo:hi]


def _synthetic_records(
    cohort: dict[str, Any], shard: int, truth_rows: list[pd.DataFrame]
) -> Iterator[SliceRecord]:
    from myoflow.phantom.cohort import generate
    from myoflow.phantom.truth import truth_segment_table

    for spec in shard_specs(cohort, shard):
        record = generate(spec)
        truth_rows.append(truth_segment_table(record))
        log.info("generated %s (%s)", record.key, record.group)
        yield record


def _ingested_records(
    cohort: dict[str, Any], shard: int, qc_rows: list[dict[str, Any]]
) -> Iterator[SliceRecord]:
    from myoflow.cohort.ingest import iter_ingest

    return iter_ingest(shard_rows(cohort, shard), cohort["name"], cohort, qc_rows)


def _indexed(
    records: Iterator[SliceRecord], shard: str, rows: list[dict[str, Any]]
) -> Iterator[SliceRecord]:
    for record in records:
        rows.append(index_row(record, shard))
        yield record


def cohort_shard(
    cohort: dict[str, Any],
    shard: int,
    records_path: str | os.PathLike[str],
    qc_path: str | os.PathLike[str],
    index_path: str | os.PathLike[str],
    truth_path: str | os.PathLike[str] | None = None,
) -> None:
    """Write one shard of canonical records, its index and QC rows (and, for phantoms, strain
    truth)."""
    qc_rows: list[dict[str, Any]] = []
    truth_rows: list[pd.DataFrame] = []
    index_rows: list[dict[str, Any]] = []
    if cohort["source"] == "synthetic":
        records = _synthetic_records(cohort, shard, truth_rows)
    else:
        records = _ingested_records(cohort, shard, qc_rows)
    keys = write_shard(records_path, _indexed(records, Path(records_path).name, index_rows))
    excluded = sum(row["status"] == "excluded" for row in qc_rows)
    log.info("shard %s: %d records written, %d excluded", shard, len(keys), excluded)
    write_tsv(pd.DataFrame(index_rows, columns=INDEX_COLUMNS), index_path)
    write_tsv(pd.DataFrame(qc_rows, columns=QC_COLUMNS), qc_path)
    if truth_path is not None:
        write_tsv(pd.concat(truth_rows, ignore_index=True), truth_path)


def preprocess_stage(
    profile: str,
    options: dict[str, Any],
    records_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    index_path: str | os.PathLike[str],
    qc_path: str | os.PathLike[str],
) -> None:
    """Preprocess one shard into one profile with that profile's resolved options."""
    from myoflow.preprocess.profiles import profile_shard

    profile_shard(profile, records_path, out_path, qc_path, index_path, options)


def merge_tables(paths: Sequence[str | os.PathLike[str]], out_path: str | os.PathLike[str]) -> None:
    """Concatenate TSVs with the same columns (empty ones included) into one table."""
    tables = [read_tsv(p) for p in paths]
    write_tsv(pd.concat(tables, ignore_index=True), out_path)


def check_inputs(
    cohort: dict[str, Any],
    qc_paths: Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
) -> None:
    """Raise ConfigError listing every excluded subject unless ``on_bad_input: exclude``.

    Synthetic cohorts cannot hold bad input, so they always pass.
    """
    qc = merge_qc(qc_paths)
    bad = qc[qc["status"] == "excluded"]
    policy = cohort.get("on_bad_input", "fail")
    if len(bad) and policy == "fail":
        lines = [
            f"cohort={r.cohort} subject={r.subject} slice={r.slice_id} file={r.file}: {r.reason}"
            for r in bad.itertuples()
        ]
        raise ConfigError(
            f"cohort {cohort['name']}: {len(bad)} slice(s) have bad input (set "
            "`on_bad_input: exclude` to leave them out):\n  " + "\n  ".join(lines)
        )
    if len(bad):
        log.warning("cohort %s: %d slice(s) excluded (see qc.tsv)", cohort["name"], len(bad))
    with atomic_path(out_path) as tmp:
        tmp.write_text(f"{len(bad)} excluded slice(s)\n")


def split_stage(
    index_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    fractions: tuple[float, float, float],
    seed: int,
) -> None:
    """Subject-level stratified split of the records listed in a cohort's index.

    The index lists the canonical records, not a profile's output: every profile and every
    method of a cohort then sees the same split, whichever profile it reads.
    """
    from myoflow.preprocess.split import split_subjects

    index = read_tsv(index_path)
    if index.empty:
        raise ConfigError(
            f"{index_path}: no records to split (qc.tsv says why each slice was excluded)"
        )
    write_tsv(split_subjects(index, fractions=fractions, seed=seed), out_path)

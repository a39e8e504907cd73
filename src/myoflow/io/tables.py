"""The one reader of the TSV tables the pipeline writes and reads back.

pandas turns ``NA``, ``None``, ``null``, ``nan``, ``N/A`` and the empty cell into missing values
by default. Those are legitimate subject, slice, group and cohort identifiers, and a subject read
back as NaN silently drops out of every ``groupby`` (splits, statistics). So every table that a
stage reads back goes through ``read_tsv``: identifier and other text columns are read as strings
exactly as written, with no value treated as missing; only the numeric columns keep pandas'
usual missing-value tokens (the empty cell that ``write_tsv`` writes for NaN among them).
"""

from __future__ import annotations

import os

import pandas as pd

#: Columns that hold names, never numbers or missing values.
TEXT_COLUMNS = frozenset(
    {
        "experiment",
        "cohort",
        "subject",
        "slice_id",
        "slice",
        "position",
        "group",
        "groups",
        "split",
        "method",
        "net",
        "reference",
        "against",
        "stage",
        "status",
        "reason",
        "file",
        "flags",
        "shard",
        "species",
        "tracker",
        "realism",
        "mask_error",
    }
)

# How a missing number can appear in a numeric column: write_tsv writes NaN as the empty cell;
# the others are what other writers (R, spreadsheets, older pandas) put there.
_MISSING_NUMBER = ("", "nan", "NaN", "NA", "<NA>", "N/A", "None", "null", "NULL")


def read_tsv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A tab-separated table with every text column (``TEXT_COLUMNS``) kept exactly as written.

    Other columns are parsed as pandas does by default, numbers as numbers and the empty cell as
    missing. A table with a header and no rows comes back empty with its columns.
    """
    header = pd.read_csv(path, sep="\t", nrows=0).columns
    text = [c for c in header if c in TEXT_COLUMNS]
    na_values = {c: ([] if c in text else list(_MISSING_NUMBER)) for c in header}
    return pd.read_csv(
        path,
        sep="\t",
        dtype={c: str for c in text},
        keep_default_na=False,
        na_values=na_values,
    )

"""A tiny preprocessed phantom cohort on disk (six rats, 32 x 32 x 8), for training tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from myoflow.io.shards import write_shard
from myoflow.phantom.cohort import generate, plan
from myoflow.preprocess.pipeline import preprocess_record
from myoflow.preprocess.split import split_subjects

TINY_COHORT = {
    "species": "rat",
    "seed": 11,
    "subjects": 6,
    "slices": ["mid"],
    "frames": 8,
    "matrix": 64,
    "groups": {"sham": {"fraction": 0.5}, "rt": {"fraction": 0.5, "global_scale": 0.7}},
}


def write_tiny_cohort(root: Path) -> tuple[Path, Path]:
    """Write ``shard-000.h5`` and ``splits.tsv`` (train, val and test subjects) under ``root``."""
    records = [
        preprocess_record(generate(spec), {"size": 32, "frames": 8})
        for spec in plan("tiny", TINY_COHORT)
    ]
    shard = root / "shard-000.h5"
    write_shard(shard, records)
    table = pd.DataFrame(
        {
            "cohort": [r.cohort for r in records],
            "subject": [r.subject for r in records],
            "group": [r.group for r in records],
        }
    )
    splits_path = root / "splits.tsv"
    split_subjects(table, (0.67, 0.17, 0.16), seed=0).to_csv(splits_path, sep="\t", index=False)
    return shard, splits_path

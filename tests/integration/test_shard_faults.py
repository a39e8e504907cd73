"""A shard whose job fails does not stop the other shards under --keep-going, leaves no output
that looks complete, and nothing downstream consumes it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.workflow import read_tsv, snakemake, write_config

pytestmark = pytest.mark.integration

TWO_SHARDS = {
    "export_nifti": False,
    "cohorts": {
        "rats": {
            "source": "synthetic",
            "species": "rat",
            "seed": 4,
            "subjects": 4,
            "slices": ["mid"],
            "frames": 8,
            "matrix": 96,
            "groups": {"sham": {"fraction": 0.5}, "rt": {"fraction": 0.5}},
            "shard_size": 2,
        }
    },
}


def _corrupt_keeping_mtime(path: Path) -> None:
    """Truncate an HDF5 shard but keep its time stamp, so Snakemake still sees it up to date:
    a disk or copy fault that only the job reading it can find."""
    stat = path.stat()
    path.write_bytes(path.read_bytes()[:1000])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_failing_shard_does_not_stop_the_others(tmp_path: Path) -> None:
    write_config(tmp_path, TWO_SHARDS)
    records = tmp_path / "results" / "rats" / "records"
    targets = [f"results/rats/records/shard-00{i}.h5" for i in (0, 1)]
    assert snakemake(tmp_path, *targets).returncode == 0
    _corrupt_keeping_mtime(records / "shard-001.h5")

    run = snakemake(tmp_path, "--keep-going")
    assert run.returncode != 0, "the broken shard fails the run"
    pre = tmp_path / "results" / "rats" / "preprocessed" / "crop"
    assert (pre / "shard-000.h5").exists(), "the healthy shard finished"
    assert len(read_tsv(pre / "index-000.tsv")) == 2
    assert not (pre / "shard-001.h5").exists() and not (pre / "index-001.tsv").exists()
    assert not list(pre.glob(".tmp-*")), "no partial file left behind"
    # Nothing consumed it (the split is made from the records' index, so it may exist).
    assert not (pre / "index.tsv").exists() and not (pre.parents[1] / "qc.tsv").exists()
    log = (tmp_path / "results" / "logs" / "rats" / "preprocess-crop-001.log").read_text()
    assert "shard-001.h5" in log

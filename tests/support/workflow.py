"""Running the repository's Snakefile on a test's own working directory and config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from myoflow.io.tables import read_tsv as read_table

ROOT = Path(__file__).resolve().parents[2]

#: A MyoNet experiment small enough for CI: two networks, two epochs, six phantom rats.
TINY_MYONET = {
    "preprocess": {"size": 32, "frames": 8},
    "cohorts": {
        "rats": {
            "source": "synthetic",
            "species": "rat",
            "seed": 5,
            "subjects": 6,
            "slices": ["mid"],
            "frames": 8,
            "matrix": 96,
            "groups": {"sham": {"fraction": 0.5}, "rt": {"fraction": 0.5, "global_scale": 0.7}},
        }
    },
    "experiments": {
        "tiny": {
            "method": "myonet",
            "cohorts": ["rats"],
            "reference": "truth",
            "settings": {"base_width": 2, "epochs": 2, "batch_size": 2, "compile": False},
        }
    },
    # the trackers' validation sweep has its own tests; these runs are about the experiment
    "tracking_validation": {"enabled": False},
}


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(workdir),
            "--cores",
            "2",
            *args,
        ],
        check=False,
        capture_output=True,
        text=True,
    )


def write_config(workdir: Path, config: dict) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def completed_run(workdir: Path, config: dict) -> Path:
    """Write ``config`` into ``workdir``, run the whole workflow there and require success."""
    write_config(workdir, config)
    run = snakemake(workdir)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    return workdir


def read_tsv(path: Path) -> pd.DataFrame:
    """A results table read as the pipeline reads it back (identifiers kept as written)."""
    return read_table(path)

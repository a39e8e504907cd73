#!/usr/bin/env python
"""DAG build time and job count of a dry run for synthetic cohorts of 10^3, 10^4 and 10^5 slices.

Shows that the job count grows with shards, not subjects, and that parse time stays in seconds.
Prints a Markdown table; each size is timed three times and the median reported.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def scale_config(n_slices: int, shard_size: int) -> dict:
    """One synthetic rat cohort of ``n_slices`` (three slices per subject)."""
    return {
        "cohorts": {
            "scale": {
                "source": "synthetic",
                "species": "rat",
                "subjects": n_slices // 3,
                "slices": ["basal", "mid", "apical"],
                "groups": {"sham": {"fraction": 0.5}, "rt": {"fraction": 0.5}},
                "shard_size": shard_size,
            }
        }
    }


def dry_run(workdir: Path) -> tuple[float, int]:
    start = time.perf_counter()
    out = subprocess.run(
        [*SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "-n", "--quiet", "rules"],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    total = re.search(r"^total\s+(\d+)", out.stdout + out.stderr, re.MULTILINE)
    if total is None:
        raise RuntimeError(f"no job count in snakemake output:\n{out.stdout}\n{out.stderr}")
    return seconds, int(total.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--shard-size", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| slices | shards | jobs | jobs per shard | dry-run seconds (median) |")
    print("|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "config.yaml").write_text(yaml.safe_dump(scale_config(n, args.shard_size)))
            runs = [dry_run(work) for _ in range(args.repeats)]
        shards = -(-(n // 3 * 3) // args.shard_size)
        jobs = runs[0][1]
        seconds = statistics.median(r[0] for r in runs)
        print(f"| {n} | {shards} | {jobs} | {jobs / shards:.2f} | {seconds:.2f} |")


if __name__ == "__main__":
    main()

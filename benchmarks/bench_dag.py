#!/usr/bin/env python
"""DAG build time and job count of a dry run for cohorts of 10^3, 10^4 and 10^5 slices.

Two kinds of cohort: synthetic (the phantom) and a manifest of the same size (paths to files that
need not exist: parse time must not touch them), each with a MyoNet experiment so the DAG holds
training, prediction and evaluation too. Shows that the job count grows with shards, not
subjects, and that parse time stays in seconds. Prints a Markdown table; each size is timed
``--repeats`` times and the median reported.
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

from myoflow.io.shard_plan import ShardPlan

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


POSITIONS = ("basal", "mid", "apical")


def write_manifest(path: Path, n_slices: int) -> None:
    """A manifest of ``n_slices`` rows (three slices per subject) naming per-slice NIfTI files."""
    lines = ["subject\tslice\tgroup\tcine\tmask\tdisplacement"]
    for i in range(n_slices // 3 * 3):
        subject, position = f"s{i // 3:06d}", POSITIONS[i % 3]
        stem = f"{subject}/{position}"
        group = "rt" if (i // 3) % 2 else "sham"
        lines.append(
            f"{subject}\t{position}\t{group}\t{stem}_cine.nii.gz\t{stem}_mask.nii.gz"
            f"\t{stem}_disp.nii.gz"
        )
    path.write_text("\n".join(lines) + "\n")


def scale_config(kind: str, n_slices: int, shard_size: int, workdir: Path) -> dict:
    """One rat cohort of ``n_slices`` (three slices per subject) and a MyoNet experiment on it."""
    if kind == "synthetic":
        cohort = {
            "source": "synthetic",
            "subjects": n_slices // 3,
            "slices": list(POSITIONS),
            "groups": {"sham": {"fraction": 0.5}, "rt": {"fraction": 0.5}},
        }
        reference = "truth"
    else:
        write_manifest(workdir / "manifest.tsv", n_slices)
        cohort = {"source": "manifest", "manifest": "manifest.tsv"}
        reference = "provided"
    cohort.update(species="rat", shard_size=shard_size)
    return {
        "cohorts": {"scale": cohort},
        "experiments": {
            "scale_myonet": {"method": "myonet", "cohorts": ["scale"], "reference": reference}
        },
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
    parser.add_argument("--kinds", nargs="+", default=["synthetic", "manifest"])
    args = parser.parse_args()
    print("| cohort | slices | shards | jobs | jobs per shard | dry-run seconds (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in args.kinds:
        for n in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                config = scale_config(kind, n, args.shard_size, work)
                (work / "config.yaml").write_text(yaml.safe_dump(config))
                runs = [dry_run(work) for _ in range(args.repeats)]
            shards = ShardPlan.over_subjects([3] * (n // 3), args.shard_size).n_shards
            jobs = runs[0][1]
            seconds = statistics.median(r[0] for r in runs)
            print(f"| {kind} | {n} | {shards} | {jobs} | {jobs / shards:.2f} | {seconds:.2f} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Score every model's predictions of one shard; write the method's evaluation tables."""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.stages.experiment import evaluate_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", required=True, help="resolved experiment (JSON)")
    parser.add_argument("--shard", required=True, help="preprocessed shard (HDF5)")
    parser.add_argument("--splits", required=True, help="split table of the shard's cohort (TSV)")
    parser.add_argument(
        "--predictions", nargs="+", required=True, help="prediction shards, one per model (HDF5)"
    )
    parser.add_argument(
        "--tracked",
        nargs="*",
        default=[],
        help="the shard's tracking shard (HDF5), the reference of a tracker experiment",
    )
    parser.add_argument("--out-dir", required=True, help="output folder: one TSV per table")
    args = parser.parse_args()
    setup_logging()
    evaluate_stage(
        json.loads(args.experiment),
        args.shard,
        args.splits,
        args.predictions,
        args.out_dir,
        tracked=args.tracked,
    )


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Displacement metrics and strain tables of one shard for the reference, truth and networks."""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.stages.myonet_evaluate import evaluate_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", required=True, help="resolved experiment (JSON)")
    parser.add_argument("--shard", required=True, help="preprocessed shard (HDF5)")
    parser.add_argument("--splits", required=True, help="split table of the shard's cohort (TSV)")
    parser.add_argument(
        "--predictions", nargs="+", required=True, help="prediction shards, one per network (HDF5)"
    )
    parser.add_argument(
        "--tracked",
        nargs="*",
        default=[],
        help="the shard's tracking shard (HDF5), the reference of a tracker experiment",
    )
    parser.add_argument("--metrics", required=True, help="output displacement metrics (TSV)")
    parser.add_argument("--curves", required=True, help="output strain curves (TSV)")
    parser.add_argument("--summary", required=True, help="output strain summary (TSV)")
    args = parser.parse_args()
    setup_logging()
    evaluate_stage(
        json.loads(args.experiment),
        args.shard,
        args.splits,
        args.predictions,
        args.metrics,
        args.curves,
        args.summary,
        tracked=args.tracked,
    )


if __name__ == "__main__":
    main()

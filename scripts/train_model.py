#!/usr/bin/env python
"""Train one model of an experiment on its cohorts' training split (resumes after a kill)."""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.methods.base import TrainingData
from myoflow.stages.experiment import train_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", required=True, help="resolved experiment (JSON)")
    parser.add_argument("--model", required=True, help="model name (e.g. a network: myonet)")
    parser.add_argument("--shards", nargs="+", required=True, help="preprocessed shards (HDF5)")
    parser.add_argument("--splits", nargs="+", required=True, help="split tables (TSV)")
    parser.add_argument(
        "--tracked",
        nargs="*",
        default=[],
        help="tracking shards (HDF5) whose displacement is the target (tracker references)",
    )
    parser.add_argument(
        "--needs",
        nargs="*",
        default=[],
        help="best.pt of the models this one starts from or runs (the method's train_needs)",
    )
    parser.add_argument("--out-dir", required=True, help="model folder (best.pt, history.tsv)")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")
    args = parser.parse_args()
    setup_logging()
    train_stage(
        json.loads(args.experiment),
        args.model,
        TrainingData(args.shards, args.splits, args.tracked),
        args.out_dir,
        device=args.device,
        threads=args.threads,
        needs=args.needs,
    )


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Train one network of an experiment on its cohorts' training split (resumes after a kill)."""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.stages.myonet import train_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", required=True, help="resolved experiment (JSON)")
    parser.add_argument("--net", required=True, help="network name (myonet, resmyonet)")
    parser.add_argument("--shards", nargs="+", required=True, help="preprocessed shards (HDF5)")
    parser.add_argument("--splits", nargs="+", required=True, help="split tables (TSV)")
    parser.add_argument(
        "--tracked",
        nargs="*",
        default=[],
        help="tracking shards (HDF5) whose displacement is the target (tracker references)",
    )
    parser.add_argument("--out-dir", required=True, help="model folder (best.pt, history.tsv)")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")
    args = parser.parse_args()
    setup_logging()
    train_stage(
        json.loads(args.experiment),
        args.net,
        args.shards,
        args.splits,
        args.out_dir,
        device=args.device,
        threads=args.threads,
        tracked=args.tracked,
    )


if __name__ == "__main__":
    main()

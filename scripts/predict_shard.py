#!/usr/bin/env python
"""Predict the evaluated split of one preprocessed shard with a trained model."""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.stages.experiment import predict_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", required=True, help="resolved experiment (JSON)")
    parser.add_argument("--model", required=True, help="model name")
    parser.add_argument("--weights", required=True, help="best.pt of the model")
    parser.add_argument(
        "--needs", nargs="*", default=[], help="best.pt of the other models it predicts with"
    )
    parser.add_argument("--shard", required=True, help="preprocessed shard (HDF5)")
    parser.add_argument("--splits", required=True, help="split table of the shard's cohort (TSV)")
    parser.add_argument("--out", required=True, help="output prediction shard (HDF5)")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")
    args = parser.parse_args()
    setup_logging()
    predict_stage(
        json.loads(args.experiment),
        args.model,
        args.weights,
        args.shard,
        args.splits,
        args.out,
        device=args.device,
        threads=args.threads,
        needs=args.needs,
    )


if __name__ == "__main__":
    main()

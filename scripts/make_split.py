#!/usr/bin/env python
"""Subject-level train/val/test split of a cohort, stratified by group, deterministic."""

from __future__ import annotations

import argparse

from myoflow.logs import setup_logging
from myoflow.stages.cohort import split_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", required=True, help="cohort index (TSV with subject, group)")
    parser.add_argument("--out", required=True, help="output split table (TSV)")
    parser.add_argument(
        "--fractions",
        nargs=3,
        type=float,
        default=[0.8, 0.1, 0.1],
        metavar=("TRAIN", "VAL", "TEST"),
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    setup_logging()
    split_stage(args.index, args.out, tuple(args.fractions), args.seed)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Preprocess one shard: LV ROI crop, resampling to the network size and frame count, normalisation."""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.stages.cohort import preprocess_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cohort", required=True, help="resolved cohort definition (JSON)")
    parser.add_argument("--input", required=True, help="record shard (HDF5)")
    parser.add_argument("--records", required=True, help="output preprocessed shard (HDF5)")
    parser.add_argument("--index", required=True, help="output index table (TSV)")
    parser.add_argument("--qc", required=True, help="output QC table (TSV)")
    args = parser.parse_args()
    setup_logging()
    preprocess_stage(json.loads(args.cohort), args.input, args.records, args.index, args.qc)


if __name__ == "__main__":
    main()

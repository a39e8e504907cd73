#!/usr/bin/env python
"""Preprocess one shard of records into one profile (crop, fov, frames2d or stack3d; see the
README)."""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.stages.cohort import preprocess_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", required=True, help="preprocessing profile")
    parser.add_argument("--options", required=True, help="the profile's resolved options (JSON)")
    parser.add_argument("--input", required=True, help="record shard (HDF5)")
    parser.add_argument("--records", required=True, help="output preprocessed shard (HDF5)")
    parser.add_argument("--index", required=True, help="output index table (TSV)")
    parser.add_argument("--qc", required=True, help="output QC table (TSV)")
    args = parser.parse_args()
    setup_logging()
    preprocess_stage(
        args.profile, json.loads(args.options), args.input, args.records, args.index, args.qc
    )


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Make one shard of a cohort's canonical records: phantom generation or ingestion of user data."""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.stages.cohort import cohort_shard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cohort", required=True, help="resolved cohort definition (JSON)")
    parser.add_argument("--shard", required=True, type=int, help="shard number")
    parser.add_argument("--records", required=True, help="output HDF5 shard")
    parser.add_argument("--qc", required=True, help="output QC table (TSV)")
    parser.add_argument("--index", required=True, help="output index of the records (TSV)")
    parser.add_argument("--truth", help="output truth strain table (TSV; synthetic cohorts)")
    args = parser.parse_args()
    setup_logging()
    cohort_shard(json.loads(args.cohort), args.shard, args.records, args.qc, args.index, args.truth)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Concatenate per-shard TSV tables (same columns) into one, atomically."""

from __future__ import annotations

import argparse

from myoflow.logs import setup_logging
from myoflow.stages.cohort import merge_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="output TSV")
    parser.add_argument("tables", nargs="+", help="input TSVs")
    args = parser.parse_args()
    setup_logging()
    merge_tables(args.tables, args.out)


if __name__ == "__main__":
    main()

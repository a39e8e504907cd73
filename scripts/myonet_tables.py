#!/usr/bin/env python
"""Paper 000 Tables 1 and 2, the group-effect table and the timing table (TSV and Markdown)."""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.stages.myonet_report import tables_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", required=True, help="resolved experiment (JSON)")
    parser.add_argument("--metrics", required=True, help="displacement metrics (TSV)")
    parser.add_argument("--summary", required=True, help="strain summary (TSV)")
    parser.add_argument("--histories", nargs="+", required=True, help="history.tsv per network")
    parser.add_argument("--models", nargs="+", required=True, help="model.tsv per network")
    parser.add_argument("--out-dir", required=True, help="output folder")
    args = parser.parse_args()
    setup_logging()
    tables_stage(
        json.loads(args.experiment),
        args.metrics,
        args.summary,
        args.histories,
        args.models,
        args.out_dir,
    )


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Paper 000 Figures 4-7, strain curves and the AHA bullseye (PNG and SVG)."""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.stages.myonet_report import figures_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", required=True, help="resolved experiment (JSON)")
    parser.add_argument("--summary", required=True, help="strain summary (TSV)")
    parser.add_argument("--curves", required=True, help="strain curves (TSV)")
    parser.add_argument("--histories", nargs="+", required=True, help="history.tsv per network")
    parser.add_argument("--predictions", nargs="+", required=True, help="prediction shards")
    parser.add_argument("--reference", nargs="+", required=True, help="preprocessed shards")
    parser.add_argument(
        "--tracked", nargs="*", default=[], help="tracking shards (with a tracker reference)"
    )
    parser.add_argument("--out-dir", required=True, help="output folder")
    args = parser.parse_args()
    setup_logging()
    figures_stage(
        json.loads(args.experiment),
        args.summary,
        args.curves,
        args.histories,
        args.predictions,
        args.reference,
        args.out_dir,
        args.tracked,
    )


if __name__ == "__main__":
    main()

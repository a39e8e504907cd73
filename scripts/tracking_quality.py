#!/usr/bin/env python
"""Stack a tracker's per-shard quality tables of one cohort and draw their distribution.

Writes quality.tsv (one row per slice: status, quality score, flagged fractions, tag contrast,
reason of a rejection) and quality.png / quality.svg under --out-dir.
"""

from __future__ import annotations

import argparse
import logging

from myoflow.logs import setup_logging
from myoflow.report.tracking_quality import write_tracking_quality

log = logging.getLogger("tracking_quality")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", required=True, help="output folder")
    parser.add_argument("--title", required=True, help="figure title (cohort and tracker)")
    parser.add_argument("tables", nargs="+", help="per-shard quality TSVs")
    args = parser.parse_args()
    setup_logging()
    for path in write_tracking_quality(args.tables, args.out_dir, args.title):
        log.info("wrote %s", path)


if __name__ == "__main__":
    main()

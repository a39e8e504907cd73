#!/usr/bin/env python
"""Track the tagged series of every slice of one preprocessed shard (HARP or SinMod-style).

Writes the tracked displacement and landmarks (mm) as a record shard, one QC row per slice
that could not be tracked (no tagged series, no mask, no tag peaks) or failed the quality check,
and the quality table (one row per slice: the checks' scores and status).
"""

from __future__ import annotations

import argparse
import json

from threadpoolctl import threadpool_limits

from myoflow.config import TRACKERS
from myoflow.logs import setup_logging
from myoflow.stages.tracking import track_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracker", required=True, choices=TRACKERS, help="tracker")
    parser.add_argument(
        "--options", default="{}", help="tracker options (JSON, config.tracking.<tracker>)"
    )
    parser.add_argument("--shard", required=True, help="preprocessed shard (HDF5)")
    parser.add_argument(
        "--masks",
        help="a segmentation model's prediction shard (frames2d HDF5) whose ED myocardium "
        "replaces each record's mask (an experiment's `mask:`)",
    )
    parser.add_argument("--out", required=True, help="output tracked shard (HDF5)")
    parser.add_argument("--qc", required=True, help="output QC table of untracked slices (TSV)")
    parser.add_argument("--quality", required=True, help="output quality table (TSV)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads, the rule's: otherwise every parallel tracking job starts one per core "
        "and they oversubscribe the node",
    )
    args = parser.parse_args()
    setup_logging()
    with threadpool_limits(limits=args.threads):
        track_stage(
            args.tracker,
            json.loads(args.options),
            args.shard,
            args.out,
            args.qc,
            args.quality,
            masks=args.masks,
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Validate the tagged-image trackers (HARP, SinMod) on the phantom against its exact motion.

Sweeps trackers x species x SNR x tag spacing (pixels), with the zero-displacement baseline in
every cell, and writes under --out-dir: validation.tsv and validation.md (one row per cell),
validation.png and validation.svg (the figure), validation_slices.tsv and validation_segments.tsv
(the per-slice and per-slice x AHA-segment scores they aggregate).

Example (one cell, one slice, a few seconds):
  python scripts/tracking_validation.py --out-dir /tmp/trackval --validation '{"trackers":
  ["harp"], "species": ["rat"], "snr": [20], "spacing_px": [5], "slices": 1}'
"""

from __future__ import annotations

import argparse
import json
import logging

from threadpoolctl import threadpool_limits

from myoflow.logs import setup_logging
from myoflow.methods.tracking_validation.report import write_sweep
from myoflow.methods.tracking_validation.sweep import SweepConfig
from myoflow.methods.tracking_validation.validation import run_sweep

log = logging.getLogger("tracking_validation")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--validation",
        default="{}",
        help="the config's tracking_validation entry (JSON): trackers, species, snr, spacing_px, "
        "slices (per cell), seed; missing keys take the full sweep's defaults",
    )
    parser.add_argument(
        "--tracking", default="{}", help="the config's tracking entry (JSON): options per tracker"
    )
    parser.add_argument("--out-dir", required=True, help="output folder")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS/FFT threads (timings are per this many)"
    )
    args = parser.parse_args()
    setup_logging()
    config = SweepConfig.from_dict(json.loads(args.validation), json.loads(args.tracking))
    log.info("tracking validation: %s", config)
    with threadpool_limits(limits=args.threads):
        result = run_sweep(config)
    for path in write_sweep(result, args.out_dir):
        log.info("wrote %s", path)


if __name__ == "__main__":
    main()

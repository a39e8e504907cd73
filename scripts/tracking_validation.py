#!/usr/bin/env python
"""Validate the tagged-image trackers (HARP, SinMod) on the phantom against its exact motion.

Two steps, one job each in the workflow:

  cell   one cell of the grid (species x realism x mask error x SNR x tag spacing in pixels):
         its phantom slices tracked by every tracker and scored beside the zero-displacement
         baseline; writes slices.tsv, segments.tsv and frames.tsv under --out-dir.
  merge  the cell folders (--cells, in grid order) into the tables under --out-dir:
         validation.tsv and validation.md (one row per method x cell), validation.png and
         validation.svg (the figure), validation_slices.tsv, validation_segments.tsv and
         validation_frames.tsv (the per-slice, per-slice x AHA-segment and per-slice x frame
         scores they aggregate).

Example (one cell, one slice, a few seconds):
  python scripts/tracking_validation.py cell --cell rat-ideal-none-snr20-sp5 --out-dir
  /tmp/trackval/cells/rat-ideal-none-snr20-sp5 --validation '{"trackers": ["harp"],
  "species": ["rat"], "snr": [20], "spacing_px": [5], "slices": 1}'
  python scripts/tracking_validation.py merge --out-dir /tmp/trackval --cells
  /tmp/trackval/cells/rat-ideal-none-snr20-sp5
"""

from __future__ import annotations

import argparse
import json
import logging

from threadpoolctl import threadpool_limits

from myoflow.logs import setup_logging
from myoflow.methods.tracking_validation.cell_tables import read_cells, write_cell
from myoflow.methods.tracking_validation.grid import SweepConfig
from myoflow.methods.tracking_validation.report import write_sweep
from myoflow.methods.tracking_validation.validation import run_cell

log = logging.getLogger("tracking_validation")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    steps = parser.add_subparsers(dest="step", required=True)
    cell = steps.add_parser("cell", help="track and score one cell")
    cell.add_argument("--cell", required=True, help="the cell's id, e.g. rat-ideal-none-snr20-sp5")
    cell.add_argument(
        "--validation",
        default="{}",
        help="the config's tracking_validation entry (JSON) holding the cell; missing keys take "
        "the schema's defaults",
    )
    cell.add_argument(
        "--tracking", default="{}", help="the config's tracking entry (JSON): options per tracker"
    )
    cell.add_argument(
        "--threads", type=int, default=1, help="BLAS/FFT threads (timings are per this many)"
    )
    merge = steps.add_parser("merge", help="aggregate the cells into the tables and the figure")
    merge.add_argument("--cells", nargs="+", required=True, help="cell folders, in grid order")
    for step in (cell, merge):
        step.add_argument("--out-dir", required=True, help="output folder")
    args = parser.parse_args()
    setup_logging()
    if args.step == "cell":
        config = SweepConfig.from_dict(json.loads(args.validation), json.loads(args.tracking))
        log.info("tracking validation, cell %s: %s", args.cell, config)
        with threadpool_limits(limits=args.threads):
            result = run_cell(config, config.cell(args.cell))
        paths = write_cell(result, args.out_dir)
    else:
        paths = write_sweep(read_cells(args.cells), args.out_dir)
    for path in paths:
        log.info("wrote %s", path)


if __name__ == "__main__":
    main()

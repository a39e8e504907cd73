#!/usr/bin/env python
"""Fail with every bad subject listed, unless the cohort excludes bad input (on_bad_input)."""

from __future__ import annotations

import argparse
import json
import sys

from myoflow.errors import ConfigError
from myoflow.logs import setup_logging
from myoflow.stages.cohort import check_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cohort", required=True, help="resolved cohort definition (JSON)")
    parser.add_argument("--out", required=True, help="flag file written when the inputs pass")
    parser.add_argument("qc", nargs="+", help="ingest QC tables (TSV)")
    args = parser.parse_args()
    setup_logging()
    try:
        check_inputs(json.loads(args.cohort), args.qc, args.out)
    except ConfigError as error:
        sys.exit(str(error))


if __name__ == "__main__":
    main()

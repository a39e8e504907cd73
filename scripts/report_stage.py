#!/usr/bin/env python
"""Run one report stage of an experiment's method (its paper's tables or figures).

Inputs are named: ``--input metrics results/.../metrics.tsv --input histories a.tsv b.tsv``.
"""

from __future__ import annotations

import argparse
import json

from myoflow.logs import setup_logging
from myoflow.stages.experiment import report_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiment", required=True, help="resolved experiment (JSON)")
    parser.add_argument("--stage", required=True, help="the method's report stage (tables, ...)")
    parser.add_argument(
        "--input",
        nargs="+",
        action="append",
        default=[],
        metavar="NAME FILE",
        help="a named input and its file(s); repeat for each input",
    )
    parser.add_argument("--out-dir", required=True, help="output folder")
    args = parser.parse_args()
    setup_logging()
    inputs: dict[str, list[str]] = {}
    for name, *files in args.input:
        inputs.setdefault(name, []).extend(files)
    report_stage(json.loads(args.experiment), args.stage, inputs, args.out_dir)


if __name__ == "__main__":
    main()

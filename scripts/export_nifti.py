#!/usr/bin/env python
"""Export a record shard's images, masks and displacements as NIfTI (spacing kept) for viewers."""

from __future__ import annotations

import argparse

from myoflow.io.nifti_export import export_shard_nifti
from myoflow.logs import setup_logging
from myoflow.qc import merge_qc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", required=True, help="record shard (HDF5)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--qc",
        nargs="*",
        default=[],
        help="QC tables of later stages: excluded slices are left out",
    )
    args = parser.parse_args()
    setup_logging()
    export_shard_nifti(args.input, args.out, merge_qc(args.qc))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Accuracy of paper 002's models on the mouse stack phantom, beside the empty-mask baseline:
Table I on the interpolated grid and on the acquired slices, and the myocardial volume against
the phantom's exact volume.

Runs the real workflow (Snakemake, this repository's Snakefile) in a scratch folder on one
synthetic mouse cohort (the realistic preset: papillary muscles, neighbouring organs, texture,
a bias field; plus what paper 002 names as its challenge: signal voids next to the lung,
slice-to-slice misplacement, a low SNR, infarcted hearts whose scar has thinned the wall by 30-60 %
at its centre), split by mouse. Trains the 3D
Attention M-net with and without its distance-derived loss, the 3-D U-net and the slice-wise
2-D U-net (``--models``) and prints the tables.

Aim (issue: paper 002 end to end): Dice >= 0.90 on the phantom's test volumes, and a lower
Hausdorff distance for Att-Mnet with the distance loss than without.

Sizes, for 30 minutes on 2 CPU cores: coarser pixels than the paper's (0.20-0.22 mm instead of
0.13), planes 0.4 mm apart instead of 0.16 (two per slice gap), so that each volume is
16 x 48 x 48 (paper 36 x 96 x 96); networks at a quarter of their width; 20 mice and batches of 2
(on a CPU a step's cost is about linear in the batch, so smaller batches give more updates for
the same compute: 24 mice at batch 4 for 40 epochs took 36 minutes).

Usage: ``python benchmarks/bench_attmnet_accuracy.py [--models attmnet attmnet_nodist unet3d
unet2d] [--width 0.25] [--subjects 20] [--frames 4] [--epochs 28] [--batch 2] [--cores 2]
[--workdir DIR]``.
"""

from __future__ import annotations

import argparse

from myoflow.benchtools import run_workflow
from myoflow.io.tables import read_tsv
from myoflow.report.tables import markdown_table

COLUMNS = [
    "model",
    "volumes",
    "parameters",
    "dice_mean",
    "dice_sd",
    "jaccard_mean",
    "hd_px_mean",
    "hd_mm_mean",
    "sensitivity_mean",
    "ppv_mean",
]


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models", nargs="+", default=["attmnet", "attmnet_nodist", "unet3d", "unet2d"]
    )
    parser.add_argument("--width", type=float, default=0.25, help="filter multiplier (paper 1)")
    parser.add_argument("--subjects", type=int, default=20, help="mice, 60/15/25 %% split")
    parser.add_argument("--frames", type=int, default=4, help="volumes per mouse (>= 4)")
    parser.add_argument("--epochs", type=int, default=28)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", help="keep the run here (default: a temporary folder)")
    return parser.parse_args()


def config(args: argparse.Namespace) -> dict:
    return {
        "preprocess": {"size": 32, "frames": args.frames},
        "split": {"train": 0.6, "val": 0.15, "test": 0.25},
        "export_nifti": False,
        "cohorts": {
            "mice": {
                "source": "synthetic",
                "species": "mouse",
                "seed": 31,
                "subjects": args.subjects,
                "frames": args.frames,
                "matrix": 64,
                "pixel_mm": [0.20, 0.22],
                "stack": {"gap_mm": 0.8, "slices": 8},
                "realism": "realistic",
                "snr": 12,
                "preprocess": {"stack3d": {"z_spacing_mm": 0.4, "size": 48, "depth": 16}},
                "groups": {
                    "sham": {"fraction": 0.5},
                    "infarction": {
                        "fraction": 0.5,
                        "sectors": [
                            {
                                "center_deg": [0, 60],
                                "width_deg": [60, 90],
                                "severity": [0.8, 1.0],
                                "thinning": [0.3, 0.6],
                            }
                        ],
                    },
                },
            }
        },
        "experiments": {
            "acc": {
                "method": "attmnet",
                "cohorts": ["mice"],
                "settings": {
                    "models": args.models,
                    "width": args.width,
                    "epochs": args.epochs,
                    "batch_size": args.batch,
                    "lr": 0.001,
                    "shift_px": 5,
                },
            }
        },
        "tracking_validation": {"enabled": False},
    }


def main() -> None:
    args = _args()
    work, minutes = run_workflow(config(args), args.workdir, "attmnet-", args.cores)
    tables = work / "results" / "experiments" / "acc" / "tables"
    print(
        f"paper 002 on the mouse stack phantom: {args.subjects} mice x {args.frames} frames, "
        f"8 slices 0.8 mm apart at 0.20-0.22 mm pixels, volumes 16 x 48 x 48; models "
        f"{' '.join(args.models)} at width {args.width}, {args.epochs} epochs of batches of "
        f"{args.batch}; {minutes:.1f} min "
        f"on {args.cores} cores ({work})\n"
    )
    for name, title in (
        ("table1_models", "Table I, test volumes, interpolated grid (the networks' own)"),
        ("table1_acquired", "Table I, test volumes, acquired slices only"),
    ):
        print(title)
        print(markdown_table(read_tsv(tables / f"{name}.tsv")[COLUMNS]))
        print()
    agreement = read_tsv(tables / "volume_agreement.tsv")
    volume = agreement[agreement["quantity"] == "myocardial_volume_ml"]
    print("Myocardial volume (ml) against the reference masks and the phantom's exact volume")
    keep = ["method", "against", "frames", "n", "mean_method", "mean_against", "icc_a1"]
    print(markdown_table(volume[[*keep, "ba_bias", "ba_loa_low", "ba_loa_high"]]))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Speed of phantom generation, in slices per second, beside the machine's own ceiling.

Generates whole records (20 frames, 128 x 128 matrix: cine, tagged, mask, displacement,
landmarks, analytic strain maps, AHA segments) for rat and human cohorts with every motion term
on (twist, ellipticity, a regional sector, Rician noise), single-threaded and with the default
thread count. Each figure is the median of ``--repeats`` runs over ``--slices`` slices.

Absolute times on a shared machine mean little, so the same run measures the fp32 4096 x 4096
matrix-multiply rate with the same thread count and prints slices/s divided by GFLOP/s too.

Usage: ``python benchmarks/bench_phantom.py [--slices 6] [--repeats 3]``
"""

from __future__ import annotations

import argparse

from threadpoolctl import threadpool_info, threadpool_limits

from myoflow.benchtools import matmul_gflops, median_seconds
from myoflow.phantom.cohort import generate, plan

MATRIX = 128
FRAMES = 20


def cohort(species: str, n_slices: int) -> dict:
    return {
        "species": species,
        "seed": 1,
        "subjects": -(-n_slices // 3),
        "frames": FRAMES,
        "matrix": MATRIX,
        "twist_deg": [2, 6],
        "ellipticity": [0.0, 0.1],
        "snr": 20,
        "groups": {
            "rt": {
                "fraction": 1.0,
                "global_scale": [0.8, 0.9],
                "sectors": [{"center_deg": 0, "width_deg": 120, "severity": [0.2, 0.4]}],
            }
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=6, help="slices generated per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure (median)")
    args = parser.parse_args()
    default_threads = max(p["num_threads"] for p in threadpool_info()) if threadpool_info() else 1
    specs = {
        sp: plan(f"bench_{sp}", cohort(sp, args.slices))[: args.slices] for sp in ("rat", "human")
    }
    generate(specs["rat"][0])  # warm-up (imports, caches)

    print(
        f"phantom: {args.slices} slices per timing, {MATRIX}x{MATRIX}, {FRAMES} frames, "
        f"cine + tagged + truth; median of {args.repeats}\n"
    )
    print("| species | threads | slices/s | fp32 matmul 4096² GFLOP/s | slices/s per GFLOP/s |")
    print("|---|---:|---:|---:|---:|")
    for threads in sorted({1, default_threads}):
        with threadpool_limits(limits=threads):
            gflops = matmul_gflops(args.repeats)
            for species, group in specs.items():
                rate = len(group) / median_seconds(
                    lambda g=group: [generate(s) for s in g], args.repeats
                )
                print(
                    f"| {species} | {threads} | {rate:.2f} | {gflops:.1f} | {rate / gflops:.4f} |"
                )


if __name__ == "__main__":
    main()

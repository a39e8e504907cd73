#!/usr/bin/env python
"""Speed of the preprocessing stage, in slices per second, beside the machine's own ceilings.

Builds N synthetic records in memory (192 x 192 pixels, 20-30 frames, cine + tagged + mask +
displacement + landmarks, simple analytic content), writes them to a shard and times
``preprocess_shard`` (reading, preprocessing and writing: the Snakemake job) and, separately,
``preprocess_record`` on records already in memory (the computation alone), plus reading the
input shard and writing the output shard on their own, to show where the time of the job goes.
Each timing is the median of ``--repeats`` runs.

Absolute times on a shared machine mean little, so the same run measures the machine's ceilings
(fp32 4096 x 4096 matrix multiply in GFLOP/s and a large memcpy in GB/s, with the same thread
count) and prints each speed divided by them as well: those ratios compare across machines.

Usage: ``python benchmarks/bench_preprocess.py [--records 48] [--repeats 3] [--threads 1]``
"""

from __future__ import annotations

import argparse
import os
import sys


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=48, help="synthetic slices per shard")
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure (median)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads")
    return parser.parse_args()


ARGS = _args() if __name__ == "__main__" else None
if ARGS is not None:  # thread count must be fixed before numpy loads its BLAS
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import tempfile
from pathlib import Path

import numpy as np

from myoflow.benchtools import matmul_gflops, median_seconds, memcpy_gbs
from myoflow.io.shards import read_shard, write_shard
from myoflow.preprocess.pipeline import preprocess_record, preprocess_shard
from myoflow.record import LANDMARK_LINES, LANDMARK_POINTS, SliceRecord

SIZE = 192
SPACING_MM = 1.4
OPTIONS = {"size": 128, "frames": 20}


def synthetic_record(i: int, rng: np.random.Generator) -> SliceRecord:
    """A ring-shaped LV contracting radially, with a smooth cine and a tag grid."""
    n_t = int(rng.integers(20, 31))
    cx, cy = rng.uniform(0.4, 0.6, 2) * SIZE * SPACING_MM
    rows, cols = np.indices((SIZE, SIZE))
    x, y = cols * SPACING_MM, rows * SPACING_MM
    r = np.hypot(x - cx, y - cy)
    ring = ((r > 18.0) & (r < 27.0)).astype(np.uint8)
    a = -0.12 * np.sin(np.pi * np.arange(n_t) / (n_t - 1))
    cine = (100 + 80 * np.exp(-(((r - 22) / 6) ** 2)))[None] * (1 + 0.1 * a[:, None, None])
    grid = np.cos(2 * np.pi * x / 7) * np.cos(2 * np.pi * y / 7)
    tagged = (1.5 + grid)[None] * np.linspace(1, 0.6, n_t)[:, None, None]
    disp = a[:, None, None, None] * np.stack([x - cx, y - cy])[None]
    theta = np.radians(180.0 - 15.0 * np.arange(LANDMARK_LINES))[:, None]
    rad = np.linspace(18.0, 27.0, LANDMARK_POINTS)[None, :]
    p = np.stack([(cx + rad * np.cos(theta)).ravel(), (cy + rad * np.sin(theta)).ravel()])
    landmarks = p[None] + a[:, None, None] * (p - np.array([[cx], [cy]]))[None]
    return SliceRecord(
        cohort="bench",
        subject=f"s{i:04d}",
        slice_id="mid",
        position="mid",
        group="control",
        pixel_spacing_mm=(SPACING_MM, SPACING_MM),
        frame_times_ms=np.arange(n_t) * 33.0,
        original_frames=n_t,
        cine=cine.astype(np.float32),
        tagged=tagged.astype(np.float32),
        mask=np.repeat(ring[None], n_t, axis=0),
        displacement=disp.astype(np.float32),
        landmarks=landmarks,
    ).validate()


def main(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    records = [synthetic_record(i, rng) for i in range(args.records)]
    frames = [r.n_frames for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "records.h5"
        write_shard(src, records)
        out = Path(tmp) / "pre"

        def with_io() -> None:
            preprocess_shard(src, out / "shard.h5", out / "qc.tsv", out / "index.tsv", OPTIONS)

        def compute_only() -> None:
            for rec in records:
                preprocess_record(rec, OPTIONS)

        def read_only() -> None:
            for _ in read_shard(src):
                pass

        done = [preprocess_record(rec, OPTIONS) for rec in records]

        def write_only() -> None:
            write_shard(out / "written.h5", done)

        with_io()  # warm-up (imports, page cache)
        io_rate = args.records / median_seconds(with_io, args.repeats)
        cpu_rate = args.records / median_seconds(compute_only, args.repeats)
        read_rate = args.records / median_seconds(read_only, args.repeats)
        write_rate = args.records / median_seconds(write_only, args.repeats)
        in_mb = src.stat().st_size / 1e6
        out_mb = (out / "shard.h5").stat().st_size / 1e6
    gflops = matmul_gflops(args.repeats)
    gbs = memcpy_gbs(args.repeats)

    print(
        f"preprocess: {args.records} records {SIZE}x{SIZE}, {min(frames)}-{max(frames)} frames -> "
        f"{OPTIONS['size']}x{OPTIONS['size']}x{OPTIONS['frames']}; threads={args.threads}; "
        f"median of {args.repeats}; shard {in_mb:.0f} MB in, {out_mb:.0f} MB out\n"
    )
    print("| measure | value | per matmul GFLOP/s | per memcpy GB/s |")
    print("|---|---:|---:|---:|")
    for name, rate in (
        ("preprocess_shard, incl. HDF5 I/O (slices/s)", io_rate),
        ("preprocess_record, in memory (slices/s)", cpu_rate),
        ("part: read_shard of the input alone (slices/s)", read_rate),
        ("part: write_shard of the output alone (slices/s)", write_rate),
    ):
        print(f"| {name} | {rate:.1f} | {rate / gflops:.3f} | {rate / gbs:.2f} |")
    print(f"| ceiling: fp32 matmul 4096² (GFLOP/s) | {gflops:.1f} | 1 | |")
    print(f"| ceiling: memcpy 256 MiB (GB/s) | {gbs:.1f} | | 1 |")


if __name__ == "__main__":
    sys.exit(main(ARGS))
